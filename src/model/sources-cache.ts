// The model file cache: files by (source, revision, file), so a model downloaded once loads offline.
// A model counts as cached only once its manifest (the list of its files) is written, after every
// file: an interrupted download is never mistaken for a complete model, while the files it did finish
// are reused by the next attempt. The manifest records each whole file's SHA-256 (chunked files carry
// their own, chunked-file.ts); a file that reads back different is reported and the model removed, so that
// the next load fetches it afresh. Files too large for one value (a .gguf) are kept in chunks (chunked-file.ts)
// and named in the manifest's `chunked`; they are read back by range.
import { DamagedDataError } from '../errors.ts';
import type { Store } from '../store/store.ts';
import { readOrDamaged } from '../store/sealed.ts';
import { openChunkedFile, type ChunkedFile } from './chunked-file.ts';
import { sha256Bytes } from './sources.ts';

export interface ModelFileCache {
  get(source: string, revision: string, file: string): Promise<Uint8Array | undefined>;
  put(source: string, revision: string, file: string, bytes: Uint8Array): Promise<void>;
  /** Drops one revision, or every revision of the source. */
  delete(source: string, revision?: string): Promise<void>;
}

/** Reserved name of the manifest entry (no model file is called this). */
export const MODEL_MANIFEST = '.expandr-model.json';

interface ModelManifest {
  /** Files stored whole, one value each. */
  files: string[];
  /** SHA-256 of each whole file, checked when it is read back; absent in manifests written before (read unverified). */
  sha256?: Record<string, string>;
  /** Files stored in chunks (chunked-file.ts); absent in manifests written before chunking. */
  chunked?: string[];
  savedAt: number;
}

/** The page's cache: the store's modelFiles object store (IndexedDB, schema v2). */
export function storeModelCache(store: Store): ModelFileCache {
  return {
    get: (s, r, f) => store.getModelFile(s, r, f),
    put: (s, r, f, b) => store.putModelFile(s, r, f, b),
    delete: (s, r) => store.deleteModelFiles(s, r),
  };
}

/** In memory (tests; the runner, which reads models from disk and needs no cache). */
export class MemoryModelCache implements ModelFileCache {
  readonly files = new Map<string, Uint8Array>();
  private k = (s: string, r: string, f: string) => JSON.stringify([s, r, f]);
  async get(s: string, r: string, f: string) {
    return this.files.get(this.k(s, r, f))?.slice();
  }
  async put(s: string, r: string, f: string, b: Uint8Array) {
    this.files.set(this.k(s, r, f), b.slice());
  }
  async delete(s: string, r?: string) {
    for (const key of [...this.files.keys()]) {
      const [ks, kr] = JSON.parse(key) as string[];
      if (ks === s && (r === undefined || kr === r)) this.files.delete(key);
    }
  }
}

/** A complete cached model: its whole files, and its chunked ones opened for ranged reads. */
export interface CachedModelParts {
  whole: Map<string, Uint8Array>;
  chunked: Map<string, ChunkedFile>;
}

/** A complete cached model as parts, or undefined when it is not (fully) cached. */
export async function readCachedModelParts(cache: ModelFileCache, source: string, revision: string): Promise<CachedModelParts | undefined> {
  const raw = await cache.get(source, revision, MODEL_MANIFEST);
  if (!raw) return undefined;
  let manifest: ModelManifest;
  try {
    manifest = JSON.parse(new TextDecoder().decode(raw)) as ModelManifest;
  } catch {
    return undefined;
  }
  const whole = new Map<string, Uint8Array>();
  for (const name of manifest.files) {
    const where = { where: `${name} (kept in this browser as ${source})`, fix: DAMAGED_FIX };
    const bytes = await readOrDamaged(() => cache.get(source, revision, name), where).catch(dropDamaged(cache, source, revision));
    if (!bytes) return undefined; // evicted or deleted in part: load again
    const want = manifest.sha256?.[name];
    if (want !== undefined && (await sha256Bytes(bytes)) !== want) {
      await dropDamaged(cache, source, revision)(new DamagedDataError(where.where, 'the stored copy is damaged: its SHA-256 differs from the one recorded when it was stored', DAMAGED_FIX));
    }
    whole.set(name, bytes);
  }
  const chunked = new Map<string, ChunkedFile>();
  for (const name of manifest.chunked ?? []) {
    const file = await openChunkedFile(cache, source, revision, name);
    if (!file) return undefined;
    chunked.set(name, file);
  }
  return { whole, chunked };
}

/** A complete cached model with every file whole (chunked ones joined), or undefined when it is not (fully) cached. */
export async function readCachedModel(cache: ModelFileCache, source: string, revision: string): Promise<Map<string, Uint8Array> | undefined> {
  const parts = await readCachedModelParts(cache, source, revision);
  if (!parts) return undefined;
  for (const [name, file] of parts.chunked) parts.whole.set(name, await file.readAll());
  return parts.whole;
}

/** Stores a complete model: its files, then the manifest that makes it count. */
export async function writeCachedModel(cache: ModelFileCache, source: string, revision: string, files: Map<string, Uint8Array>): Promise<void> {
  for (const [name, bytes] of files) await cache.put(source, revision, name, bytes);
  await writeModelManifest(cache, source, revision, [...files.keys()], [], files);
}

const DAMAGED_FIX = 'It was removed from this browser: load the model again (a Hub model is downloaded afresh; a dropped one must be dropped again)';

/** A damaged cached model is removed whole (so the next load fetches it afresh), then reported. */
function dropDamaged(cache: ModelFileCache, source: string, revision: string): (e: unknown) => Promise<never> {
  return async (e) => {
    if (e instanceof DamagedDataError) await cache.delete(source, revision).catch(() => undefined);
    throw e;
  };
}

/**
 * Writes the entry that makes a model count as cached: call it after every file (and chunked file) is stored.
 * `bytes` (the whole files as stored) records their SHA-256, checked on every read.
 */
export async function writeModelManifest(cache: ModelFileCache, source: string, revision: string, names: string[], chunked: string[] = [], bytes?: ReadonlyMap<string, Uint8Array>): Promise<void> {
  const sha256: Record<string, string> = {};
  for (const n of names) {
    const b = bytes?.get(n);
    if (b) sha256[n] = await sha256Bytes(b);
  }
  const manifest: ModelManifest = { files: names, ...(Object.keys(sha256).length ? { sha256 } : {}), ...(chunked.length ? { chunked } : {}), savedAt: Date.now() };
  await cache.put(source, revision, MODEL_MANIFEST, new TextEncoder().encode(JSON.stringify(manifest)));
}

/**
 * Which model the page loaded last in a role ('encoder', 'llm'): its cache key (and a WebLLM preset or
 * an encoder preset), kept beside the model files so a new page (a reload, a closed tab) loads it again.
 */
export interface LoadedModelRef {
  source: string;
  revision: string;
  preset?: string;
}

/** Reserved source of the "loaded last" entries (no manifest, so never listed as a cached model). */
const LOADED_SOURCE = '.expandr-loaded';

export async function rememberLoadedModel(cache: ModelFileCache, role: string, ref: LoadedModelRef): Promise<void> {
  await cache.put(LOADED_SOURCE, '', role, new TextEncoder().encode(JSON.stringify(ref)));
}

export async function lastLoadedModel(cache: ModelFileCache, role: string): Promise<LoadedModelRef | undefined> {
  const raw = await cache.get(LOADED_SOURCE, '', role);
  if (!raw) return undefined;
  try {
    const ref = JSON.parse(new TextDecoder().decode(raw)) as LoadedModelRef;
    return typeof ref.source === 'string' ? ref : undefined;
  } catch {
    return undefined;
  }
}
