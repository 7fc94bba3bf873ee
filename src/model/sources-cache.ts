// The model file cache: files by (source, revision, file), so a model downloaded once loads offline.
// A model counts as cached only once its manifest (the list of its files) is written, after every
// file: an interrupted download is never mistaken for a complete model, while the files it did finish
// are reused by the next attempt. Files too large for one value (a .gguf) are kept in chunks (chunked-file.ts)
// and named in the manifest's `chunked`; they are read back by range.
import type { Store } from '../store/store.ts';
import { openChunkedFile, type ChunkedFile } from './chunked-file.ts';

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
    const bytes = await cache.get(source, revision, name);
    if (!bytes) return undefined; // evicted or deleted in part: load again
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
  await writeModelManifest(cache, source, revision, [...files.keys()]);
}

/** Writes the entry that makes a model count as cached: call it after every file (and chunked file) is stored. */
export async function writeModelManifest(cache: ModelFileCache, source: string, revision: string, names: string[], chunked: string[] = []): Promise<void> {
  const manifest: ModelManifest = { files: names, ...(chunked.length ? { chunked } : {}), savedAt: Date.now() };
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
