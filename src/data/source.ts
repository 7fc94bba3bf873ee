// What the importer reads: files as the user dropped them, behind one small interface that a browser
// File, a Node file and an in-memory buffer all fit. Only web-standard APIs here (runs in Node and Chrome).

/** One file as dropped: its relative path, its size, and its bytes as a stream (and by range, when possible). */
export interface SourceFile {
  /** Relative path as dropped, '/'-separated, e.g. 'scifact/qrels/test.tsv' or 'scifact.zip'. */
  path: string;
  /** Size in bytes. */
  size: number;
  /** A fresh stream of the bytes each call. */
  stream(): ReadableStream<Uint8Array>;
  /** Bytes [start, end), clamped to the file. Lets the zip reader seek to its central directory. */
  slice?(start: number, end: number): Promise<Uint8Array>;
}

/** A browser File (or any Blob) as a SourceFile. Blob exists in Node too, so this is not DOM-only. */
export function fromFile(file: Blob, relPath: string): SourceFile {
  return {
    path: normalizePath(relPath),
    size: file.size,
    stream: () => file.stream() as ReadableStream<Uint8Array>,
    slice: async (start, end) => new Uint8Array(await file.slice(start, end).arrayBuffer()),
  };
}

export interface FromBytesOptions {
  /** Chunk size of stream() (tests use small chunks to cross line and header boundaries). */
  chunkSize?: number;
  /** Leave out slice() to exercise the sequential paths. */
  noSlice?: boolean;
}

/** In-memory bytes (or text, UTF-8 encoded) as a SourceFile. */
export function fromBytes(path: string, data: Uint8Array | string, opts: FromBytesOptions = {}): SourceFile {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const chunkSize = Math.max(1, opts.chunkSize ?? 64 * 1024);
  const file: SourceFile = {
    path: normalizePath(path),
    size: bytes.length,
    stream: () => {
      let pos = 0;
      return new ReadableStream<Uint8Array>({
        pull(controller) {
          if (pos >= bytes.length) return controller.close();
          const end = Math.min(bytes.length, pos + chunkSize);
          controller.enqueue(bytes.slice(pos, end));
          pos = end;
        },
      });
    },
  };
  if (!opts.noSlice) file.slice = async (start, end) => bytes.slice(start, Math.min(end, bytes.length));
  return file;
}

/** '\\' → '/', no leading './' or '/'. */
export function normalizePath(p: string): string {
  return p.replace(/\\/g, '/').replace(/^(\.\/|\/)+/, '');
}

/** Last path segment. */
export function baseName(p: string): string {
  const parts = p.split('/');
  return parts[parts.length - 1];
}

/**
 * Reads a stream chunk by chunk (Chrome's ReadableStream is not async-iterable yet).
 * Stops early and cancels the stream (releasing file handles) when the consumer stops or throws.
 */
export async function* readChunks(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  let done = false;
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) {
        done = true;
        return;
      }
      if (r.value.length > 0) yield r.value;
    }
  } finally {
    if (!done) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}
