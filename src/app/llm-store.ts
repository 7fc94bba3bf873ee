// A dropped decoder kept in this browser (the model file cache in IndexedDB, 'local:sha256:<hash>') and read
// back as ModelFiles. Files larger than a chunk (a .gguf of 1-5 GB) are checksummed in one pass and stored
// in chunks in a second (src/model/chunked-file.ts), never held whole; they come back as ranged reads over
// the stored chunks, so the GGUF reader fetches its header and each tensor by range. Whole files are
// checked against the SHA-256 in the model's manifest and chunks against theirs when read back; a full disk
// while keeping a model removes what was stored and says how much the model needs (StorageFullError).
import { modelFilesFromBytes, type ModelFiles } from '../llm/files.ts';
import { CHUNK_BYTES, digestChunks, isChunkEntry, writeChunkedFile, type ChunkDigest, type RangedBytes } from '../model/chunked-file.ts';
import { sha256Bytes } from '../model/sources.ts';
import { readCachedModelParts, storeModelCache, writeModelManifest, MODEL_MANIFEST } from '../model/sources-cache.ts';
import { isQuotaExceeded, storageFullError } from '../store/quota.ts';
import type { Store } from '../store/store.ts';
import type { WorkOptions } from '../util/progress.ts';

/** Beside a kept model's files: its name (as model-source.ts keeps it) and that it is a decoder, not an encoder. */
export const MODEL_NAME_FILE = '.expandr-name';
export const MODEL_KIND_FILE = '.expandr-kind';

export interface KeepOptions {
  /** Files larger than this are stored in chunks of this size (tests use small ones). */
  chunkBytes?: number;
}

/** One file of a ModelFiles folder as ranged bytes. */
function rangedFile(files: ModelFiles, name: string, size: number): RangedBytes {
  return { size, read: (offset, length) => files.readRange!(name, offset, length) };
}

/**
 * Keeps a decoder's files under 'local:sha256:<hash>' (hash over every file's name and SHA-256: llama2.c
 * folders have none of the encoder hash's files) with its name and a marker that it is a decoder. A folder
 * kept before is not written again; a store that fails or is cancelled leaves nothing behind.
 */
export async function keepLlmFiles(store: Store, files: ModelFiles, work: WorkOptions = {}, opts: KeepOptions = {}): Promise<string> {
  const chunkBytes = opts.chunkBytes ?? CHUNK_BYTES;
  const names = files.names().filter((n) => n !== MODEL_MANIFEST && !isChunkEntry(n)).sort();
  const whole = new Map<string, Uint8Array>();
  const chunked = new Map<string, ChunkDigest>();
  let lines = '';
  for (const n of names) {
    const size = files.size?.(n);
    if (files.readRange && size !== undefined && size > chunkBytes) {
      const digest = await digestChunks(rangedFile(files, n, size), n, work, chunkBytes);
      chunked.set(n, digest);
      lines += `${n}:${digest.sha256}\n`;
    } else {
      const b = await files.read(n);
      whole.set(n, b);
      lines += `${n}:${await sha256Bytes(b)}\n`;
    }
  }
  const source = `local:sha256:${await sha256Bytes(new TextEncoder().encode(lines))}`;
  const cache = storeModelCache(store);
  if (!(await cache.get(source, '', MODEL_MANIFEST))) {
    try {
      work.onProgress?.({ stage: 'llm:keep', done: 0, total: 1, unit: 'models', text: `keeping ${files.label} in this browser` });
      for (const [n, b] of whole) await cache.put(source, '', n, b);
      for (const [n, digest] of chunked) await writeChunkedFile(cache, source, '', n, rangedFile(files, n, digest.size), work, { digest });
      await writeModelManifest(cache, source, '', [...whole.keys()], [...chunked.keys()], whole);
      work.onProgress?.({ stage: 'llm:keep', done: 1, total: 1, unit: 'models', text: `keeping ${files.label} in this browser` });
    } catch (e) {
      // Nothing half-written stays: without the manifest it would never be read, only take space.
      await cache.delete(source, '').catch(() => undefined);
      if (isQuotaExceeded(e)) {
        const total = [...whole.values()].reduce((a, b) => a + b.length, 0) + [...chunked.values()].reduce((a, d) => a + d.size, 0);
        throw await storageFullError({
          what: `keeping ${files.label}`,
          neededBytes: total,
          kept: 'What it had stored was removed; your other models, datasets and runs are untouched.',
          retry: 'drop it again',
        });
      }
      throw e;
    }
  }
  await cache.put(source, '', MODEL_NAME_FILE, new TextEncoder().encode(files.label));
  await cache.put(source, '', MODEL_KIND_FILE, new TextEncoder().encode('llm'));
  return source;
}

/** A kept decoder as ModelFiles (chunked files read by range), or undefined when it is not (completely) kept. */
export async function storedLlmFiles(store: Store, source: string, revision: string): Promise<ModelFiles | undefined> {
  const parts = await readCachedModelParts(storeModelCache(store), source, revision);
  if (!parts) return undefined;
  const name = await store.getModelFile(source, revision, MODEL_NAME_FILE);
  const label = (name && new TextDecoder().decode(name)) || 'llm';
  const whole = modelFilesFromBytes(Object.fromEntries(parts.whole), label);
  const chunked = parts.chunked;
  return {
    label,
    names: () => [...whole.names(), ...chunked.keys()],
    has: (n) => whole.has(n) || chunked.has(n),
    read: (n) => chunked.get(n)?.readAll() ?? whole.read(n),
    size: (n) => chunked.get(n)?.size ?? whole.size?.(n),
    readRange: (n, offset, length) => chunked.get(n)?.read(offset, length) ?? whole.readRange!(n, offset, length),
  };
}
