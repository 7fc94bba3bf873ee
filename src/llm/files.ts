// A model folder as the loaders see it: file names relative to the folder, read as bytes on demand (whole,
// or by range where the source can seek: a GGUF's tensors are read one at a time, never the whole file).
// Built from dropped files / a Node folder (SourceFile[], src/data/source.ts) or from in-memory bytes.
import { ModelFormatError } from '../errors.ts';
import { baseName, readChunks, type SourceFile } from '../data/source.ts';

export interface ModelFiles {
  /** What the folder is called in messages. */
  readonly label: string;
  /** Names relative to the model folder, '/'-separated (e.g. 'config.json'). */
  names(): string[];
  has(name: string): boolean;
  /** The whole file; throws ModelFormatError naming the file when it is missing. */
  read(name: string): Promise<Uint8Array>;
  /** Size in bytes (undefined when the file is missing). */
  size?(name: string): number | undefined;
  /** Bytes [offset, offset + length), clamped to the file, without reading the rest. */
  readRange?(name: string, offset: number, length: number): Promise<Uint8Array>;
}

/** Reads `name` as UTF-8 JSON, with the parse error in a ModelFormatError. */
export async function readJson(files: ModelFiles, name: string): Promise<unknown> {
  const text = new TextDecoder().decode(await files.read(name));
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ModelFormatError(`${files.label}/${name}`, `not valid JSON (${(e as Error).message})`, 'Re-download or re-export the file');
  }
}

const missing = (label: string, name: string, have: string[]) =>
  new ModelFormatError(label, `no file "${name}" (found: ${have.slice(0, 8).join(', ') || 'nothing'}${have.length > 8 ? ', …' : ''})`, 'Give the whole model folder');

/** In-memory files (tests, zips already unpacked, IndexedDB blobs). */
export function modelFilesFromBytes(files: Record<string, Uint8Array | string>, label = 'model'): ModelFiles {
  const map = new Map(Object.entries(files).map(([k, v]) => [k, typeof v === 'string' ? new TextEncoder().encode(v) : v]));
  return {
    label,
    names: () => [...map.keys()],
    has: (name) => map.has(name),
    read: async (name) => {
      const b = map.get(name);
      if (!b) throw missing(label, name, [...map.keys()]);
      return b;
    },
    size: (name) => map.get(name)?.length,
    readRange: async (name, offset, length) => {
      const b = map.get(name);
      if (!b) throw missing(label, name, [...map.keys()]);
      return b.subarray(offset, offset + length);
    },
  };
}

/**
 * Dropped files or a Node folder listing. Paths share the folder's name as their first segment
 * ('stories260K/tok512.bin'); it is stripped so names are relative to the model folder. A single file
 * (a .gguf given by itself) is a folder of one, labelled with the file's name.
 */
export function modelFilesFromSources(sources: SourceFile[], label?: string): ModelFiles {
  const first = sources[0]?.path.split('/')[0];
  const nested = sources.length > 0 && sources.every((s) => s.path.includes('/') && s.path.split('/')[0] === first);
  const byName = new Map(sources.map((s) => [nested ? s.path.slice(first!.length + 1) : s.path, s]));
  const name = label ?? (nested ? first! : sources.length === 1 ? baseName(sources[0].path) : 'model');
  const get = (n: string): SourceFile => {
    const s = byName.get(n);
    if (!s) throw missing(name, n, [...byName.keys()]);
    return s;
  };
  const readAll = async (s: SourceFile): Promise<Uint8Array> => {
    if (s.slice) return s.slice(0, s.size);
    const out = new Uint8Array(s.size);
    let at = 0;
    for await (const chunk of readChunks(s.stream())) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  };
  const whole = new Map<string, Promise<Uint8Array>>(); // stream-only sources: read once, then sliced
  return {
    label: name,
    names: () => [...byName.keys()],
    has: (n) => byName.has(n),
    read: async (n) => readAll(get(n)),
    size: (n) => byName.get(n)?.size,
    readRange: async (n, offset, length) => {
      const s = get(n);
      if (s.slice) return s.slice(offset, offset + length);
      if (!whole.has(n)) whole.set(n, readAll(s));
      return (await whole.get(n)!).subarray(offset, offset + length);
    },
  };
}
