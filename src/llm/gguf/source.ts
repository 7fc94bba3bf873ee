// Where a GGUF's bytes come from: anything that can hand out a byte range. The reader asks for the header in
// growing ranges and for each tensor by its own range, so a 1-5 GB file is never held whole, let alone twice.
// Browser and Node safe: bytes already in memory, or a Blob/File (Blob.slice reads only the range asked for).
// A file on disk in Node: node-source.ts.

export interface GgufSource {
  /** Names the file in errors (a path or a file name). */
  label: string;
  /** Total bytes. */
  size: number;
  /** `length` bytes from `offset`, fewer only at the end of the file. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** A source over bytes in memory (tests, small files). Reads are views, not copies. */
export function ggufSourceFromBytes(bytes: Uint8Array, label: string): GgufSource {
  return {
    label,
    size: bytes.length,
    read: async (offset, length) => bytes.subarray(clamp(offset, bytes.length), clamp(offset + length, bytes.length)),
  };
}

/** A source over a Blob or File (the page's dropped .gguf, a stored one rebuilt from chunks). */
export function ggufSourceFromBlob(blob: Blob, label: string): GgufSource {
  return {
    label,
    size: blob.size,
    read: async (offset, length) => {
      const from = clamp(offset, blob.size);
      return new Uint8Array(await blob.slice(from, clamp(offset + length, blob.size)).arrayBuffer());
    },
  };
}

const clamp = (x: number, size: number): number => Math.max(0, Math.min(x, size));
