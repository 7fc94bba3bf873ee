// A large model file (a 1-5 GB .gguf) kept in the model file cache as fixed-size chunks, one cache value
// each, and read back by byte range without joining the chunks: IndexedDB values of gigabytes fail, and the
// file must never be held whole. Written chunk by chunk from ranged reads (Blob.slice), then a manifest
// (size, chunk size, the file's SHA-256 and one per chunk) as the last entry, so an interrupted store is
// never taken for a complete file. Every chunk read back is checked against its own SHA-256; the whole
// file's is recorded (it equals `sha256sum`) and checked by verify(). A damaged chunk is a DamagedDataError
// (drop the file again); a full disk while storing is a StorageFullError.
import { DamagedDataError, ModelFormatError, NotFoundError, throwIfAborted } from '../errors.ts';
import { writeOrFull } from '../store/quota.ts';
import { readOrDamaged } from '../store/sealed.ts';
import { Sha256 } from '../data/hash.ts';
import { throttledProgress, type WorkOptions } from '../util/progress.ts';
import { sha256Bytes } from './sources.ts';

/** Bytes per chunk: small enough for one IndexedDB value and a structured clone, big enough to be few (~30 per GB). */
export const CHUNK_BYTES = 32 * 1024 * 1024;
/** Chunks kept in memory by a reader: tensors are read in file order, so the last two serve nearly every read. */
const CACHED_CHUNKS = 2;
const MANIFEST_VERSION = 1;

/** Anything that hands out byte ranges: a Blob, a dropped file, a stored chunked file. */
export interface RangedBytes {
  readonly size: number;
  /** `length` bytes from `offset`, fewer only at the end. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** What chunked files need of a model file cache (sources-cache.ts ModelFileCache has it). */
export interface ChunkCache {
  get(source: string, revision: string, file: string): Promise<Uint8Array | undefined>;
  put(source: string, revision: string, file: string, bytes: Uint8Array): Promise<void>;
}

/** The checksums of a file cut into chunks: the whole file's SHA-256 and each chunk's. */
export interface ChunkDigest {
  size: number;
  chunkBytes: number;
  sha256: string;
  chunks: string[];
}

export interface ChunkedFileManifest extends ChunkDigest {
  version: number;
  name: string;
  savedAt: number;
}

export interface ChunkedFile extends RangedBytes {
  readonly name: string;
  readonly sha256: string;
  /** The whole file in one buffer (small files only: model loaders that cannot read by range). */
  readAll(): Promise<Uint8Array>;
  /** Reads every chunk and checks the whole file's SHA-256; throws ModelFormatError when it differs. */
  verify(work?: WorkOptions): Promise<void>;
}

/** Cache entry names of a chunked file (reserved prefix: no model file is called this). */
const PREFIX = '.expandr-chunks/';
export const chunkEntry = (name: string, index: number): string => `${PREFIX}${name}/${String(index).padStart(5, '0')}`;
export const manifestEntry = (name: string): string => `${PREFIX}${name}/manifest.json`;
export const isChunkEntry = (file: string): boolean => file.startsWith(PREFIX);

/** A Blob (a dropped File) as ranged bytes: Blob.slice reads only the range asked for. */
export function rangedBlob(blob: Blob): RangedBytes {
  return {
    size: blob.size,
    read: async (offset, length) => new Uint8Array(await blob.slice(offset, Math.min(blob.size, offset + length)).arrayBuffer()),
  };
}

const asRanged = (input: RangedBytes | Blob): RangedBytes => (input instanceof Blob ? rangedBlob(input) : input);
const chunkCount = (size: number, chunkBytes: number) => Math.ceil(size / chunkBytes);

/** Reads the file chunk by chunk and returns its checksums (the first pass when the key depends on the content). */
export async function digestChunks(input: RangedBytes | Blob, name: string, work: WorkOptions = {}, chunkBytes = CHUNK_BYTES): Promise<ChunkDigest> {
  const src = asRanged(input);
  const whole = new Sha256();
  const chunks: string[] = [];
  const report = throttledProgress(work.onProgress);
  for (let i = 0; i < chunkCount(src.size, chunkBytes); i++) {
    throwIfAborted(work.signal, `Checksumming ${name}`);
    const bytes = await readChunk(src, i, chunkBytes, name);
    whole.update(bytes);
    chunks.push(await sha256Bytes(bytes));
    report({ stage: 'model:checksum', done: Math.min(src.size, (i + 1) * chunkBytes), total: src.size, unit: 'bytes', text: name });
  }
  report({ stage: 'model:checksum', done: src.size, total: src.size, unit: 'bytes', text: name }, true);
  return { size: src.size, chunkBytes, sha256: whole.hex(), chunks };
}

export interface WriteChunkedOptions {
  chunkBytes?: number;
  /** From digestChunks over the same file: each chunk is checked against it and the whole file is not hashed again. */
  digest?: ChunkDigest;
}

/**
 * Stores `input` as chunks under (source, revision) and writes its manifest last. Returns the manifest.
 * Never holds more than one chunk. A file that changes between digestChunks and this call is refused.
 */
export async function writeChunkedFile(
  cache: ChunkCache,
  source: string,
  revision: string,
  name: string,
  input: RangedBytes | Blob,
  work: WorkOptions = {},
  opts: WriteChunkedOptions = {},
): Promise<ChunkedFileManifest> {
  const src = asRanged(input);
  const chunkBytes = opts.digest?.chunkBytes ?? opts.chunkBytes ?? CHUNK_BYTES;
  if (opts.digest && opts.digest.size !== src.size) throw changed(name);
  const whole = opts.digest ? null : new Sha256();
  const chunks: string[] = [];
  const report = throttledProgress(work.onProgress);
  const n = chunkCount(src.size, chunkBytes);
  report({ stage: 'model:store', done: 0, total: src.size, unit: 'bytes', text: name }, true);
  for (let i = 0; i < n; i++) {
    throwIfAborted(work.signal, `Storing ${name}`);
    const bytes = await readChunk(src, i, chunkBytes, name);
    const digest = await sha256Bytes(bytes);
    if (opts.digest && opts.digest.chunks[i] !== digest) throw changed(name);
    whole?.update(bytes);
    chunks.push(digest);
    await put(cache, source, revision, chunkEntry(name, i), bytes, name, src.size - i * chunkBytes);
    report({ stage: 'model:store', done: Math.min(src.size, (i + 1) * chunkBytes), total: src.size, unit: 'bytes', text: name });
  }
  const manifest: ChunkedFileManifest = {
    version: MANIFEST_VERSION,
    name,
    size: src.size,
    chunkBytes,
    sha256: opts.digest?.sha256 ?? whole!.hex(),
    chunks,
    savedAt: Date.now(),
  };
  const manifestBytes = new TextEncoder().encode(JSON.stringify(manifest));
  await put(cache, source, revision, manifestEntry(name), manifestBytes, name, manifestBytes.length);
  report({ stage: 'model:store', done: src.size, total: src.size, unit: 'bytes', text: name }, true);
  return manifest;
}

/** The stored file, or undefined when it was never stored completely (no manifest). */
export async function openChunkedFile(cache: ChunkCache, source: string, revision: string, name: string): Promise<ChunkedFile | undefined> {
  const raw = await cache.get(source, revision, manifestEntry(name));
  if (!raw) return undefined;
  let m: ChunkedFileManifest;
  try {
    m = JSON.parse(new TextDecoder().decode(raw)) as ChunkedFileManifest;
  } catch {
    return undefined;
  }
  if (m.version !== MANIFEST_VERSION || !Array.isArray(m.chunks) || m.chunks.length !== chunkCount(m.size, m.chunkBytes)) return undefined;
  return new StoredChunkedFile(cache, source, revision, m);
}

class StoredChunkedFile implements ChunkedFile {
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
  // Most recently used last; promises, so concurrent reads of one chunk fetch it once.
  #chunks = new Map<number, Promise<Uint8Array>>();

  constructor(
    private readonly cache: ChunkCache,
    private readonly source: string,
    private readonly revision: string,
    private readonly m: ChunkedFileManifest,
  ) {
    this.name = m.name;
    this.size = m.size;
    this.sha256 = m.sha256;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const from = Math.max(0, Math.min(offset, this.size));
    const to = Math.max(from, Math.min(offset + length, this.size));
    const cb = this.m.chunkBytes;
    const first = Math.floor(from / cb);
    const last = Math.floor((to - 1) / cb);
    if (to === from) return new Uint8Array(0);
    if (first === last) return (await this.#chunk(first)).subarray(from - first * cb, to - first * cb);
    const out = new Uint8Array(to - from);
    for (let i = first; i <= last; i++) {
      const c = await this.#chunk(i);
      const a = Math.max(from, i * cb) - i * cb;
      const b = Math.min(to, (i + 1) * cb) - i * cb;
      out.set(c.subarray(a, b), i * cb + a - from);
    }
    return out;
  }

  async readAll(): Promise<Uint8Array> {
    return this.read(0, this.size);
  }

  async verify(work: WorkOptions = {}): Promise<void> {
    const h = new Sha256();
    const report = throttledProgress(work.onProgress);
    for (let i = 0; i < this.m.chunks.length; i++) {
      throwIfAborted(work.signal, `Checking ${this.name}`);
      h.update(await this.#fetch(i));
      report({ stage: 'model:verify', done: Math.min(this.size, (i + 1) * this.m.chunkBytes), total: this.size, unit: 'bytes', text: this.name });
    }
    if (h.hex() !== this.sha256) throw damaged(this.source, this.name, 'its SHA-256 differs from the one recorded when it was stored');
  }

  #chunk(i: number): Promise<Uint8Array> {
    let p = this.#chunks.get(i);
    if (p) {
      this.#chunks.delete(i); // re-insert: most recently used last
    } else {
      p = this.#fetch(i);
      p.catch(() => this.#chunks.delete(i));
    }
    this.#chunks.set(i, p);
    while (this.#chunks.size > CACHED_CHUNKS) this.#chunks.delete(this.#chunks.keys().next().value!);
    return p;
  }

  /** One chunk from the cache, checked against its recorded length and SHA-256. */
  async #fetch(i: number): Promise<Uint8Array> {
    const n = this.m.chunks.length;
    const where = { where: `${this.name} (kept in this browser as ${this.source}), part ${i + 1} of ${n}`, fix: 'Drop the file again to store a fresh copy' };
    const bytes = await readOrDamaged(() => this.cache.get(this.source, this.revision, chunkEntry(this.name, i)), where);
    if (!bytes) throw new NotFoundError(`${this.name} is no longer complete in this browser's storage (part ${i + 1} of ${n} is missing): drop the file again.`);
    const expected = Math.min(this.m.chunkBytes, this.size - i * this.m.chunkBytes);
    if (bytes.length !== expected) throw damaged(this.source, this.name, `part ${i + 1} of ${n} has ${bytes.length} bytes, not ${expected}`);
    if ((await sha256Bytes(bytes)) !== this.m.chunks[i]) throw damaged(this.source, this.name, `part ${i + 1} of ${n} does not match its SHA-256`);
    return bytes;
  }
}

async function readChunk(src: RangedBytes, i: number, chunkBytes: number, name: string): Promise<Uint8Array> {
  const expected = Math.min(chunkBytes, src.size - i * chunkBytes);
  const bytes = await src.read(i * chunkBytes, expected);
  if (bytes.length !== expected) throw new ModelFormatError(name, `ended early (read ${bytes.length} of ${expected} bytes at offset ${i * chunkBytes})`, 'Check that the file is complete and drop it again');
  return bytes;
}

/** One cache put; a full disk is a StorageFullError that needs the bytes not yet stored (`left`). */
async function put(cache: ChunkCache, source: string, revision: string, file: string, bytes: Uint8Array, name: string, left: number): Promise<void> {
  await writeOrFull(() => cache.put(source, revision, file, bytes), () => ({
    what: `keeping ${name}`,
    neededBytes: left,
    kept: 'The parts stored so far are not used (the file counts as kept only once complete); your other models, datasets and runs are untouched.',
    retry: 'drop it again',
  }));
}

const changed = (name: string) => new ModelFormatError(name, 'changed while it was being stored', 'Drop it again once nothing is writing to it');
const damaged = (source: string, name: string, what: string) =>
  new DamagedDataError(`${name} (kept in this browser as ${source})`, `the stored copy is damaged: ${what}`, 'Drop the file again to store a fresh copy');
