// One entry point for the page (worker) to get an encoder's files from any source, cached in the
// store: a Hugging Face id (downloaded once, then offline), a dropped folder or zip (kept under
// 'local:<model hash>' so it survives a reload), or a model cached earlier. Returns the files with
// their model hash, the key of every cache computed from them (embeddings).
import type { SourceFile } from '../data/source.ts';
import type { Store } from '../store/store.ts';
import type { LongWork } from '../util/progress.ts';
import { NotFoundError } from '../errors.ts';
import { readCachedModel, storeModelCache, writeCachedModel, MODEL_MANIFEST } from '../model/sources-cache.ts';
import { loadHubModel } from '../model/sources-hub.ts';
import { modelFilesFromSources, modelHash, type ModelFiles } from '../model/sources.ts';

export type ModelSourceSpec =
  | { kind: 'hub'; id: string; revision?: string; refresh?: boolean }
  | { kind: 'drop'; files: SourceFile[] }
  | { kind: 'cached'; source: string; revision: string };

export interface LoadedModelFiles {
  files: ModelFiles;
  /** Shown to the user: the Hub id or the dropped folder's name. */
  name: string;
  /** Cache key: 'hf:<id>' or 'local:<hash>'. */
  source: string;
  revision: string;
  modelHash: string;
  fromCache: boolean;
}

/** Where the name of a dropped model is kept (beside its files, under the same cache key). */
const NAME_FILE = '.expandr-name';

export async function loadModelFiles(store: Store, spec: ModelSourceSpec, work: LongWork & { fetch?: typeof globalThis.fetch } = {}): Promise<LoadedModelFiles> {
  const cache = storeModelCache(store);
  if (spec.kind === 'hub') {
    const m = await loadHubModel(spec.id, { ...work, cache, revision: spec.revision, refresh: spec.refresh });
    return { files: m.files, name: spec.id, source: m.source, revision: m.revision, modelHash: await modelHash(m.files), fromCache: m.fromCache };
  }
  if (spec.kind === 'drop') {
    const m = await modelFilesFromSources(spec.files, work);
    const hash = await modelHash(m.files);
    const source = `local:${hash}`;
    await writeCachedModel(cache, source, '', m.files);
    await cache.put(source, '', NAME_FILE, new TextEncoder().encode(m.name));
    return { files: m.files, name: m.name, source, revision: '', modelHash: hash, fromCache: false };
  }
  const files = await readCachedModel(cache, spec.source, spec.revision);
  if (!files) throw new NotFoundError(`The model ${spec.source} is no longer in this browser's storage: load it again from the Hub or drop its folder.`);
  const name = spec.source.startsWith('hf:') ? spec.source.slice(3) : new TextDecoder().decode(await cache.get(spec.source, '', NAME_FILE)) || 'model';
  return { files, name, source: spec.source, revision: spec.revision, modelHash: await modelHash(files), fromCache: true };
}

/** Models complete in the cache (those with a manifest), for a "cached models" list. */
export async function listCachedModels(store: Store): Promise<{ source: string; revision: string }[]> {
  return (await store.listModelFiles()).filter((f) => f.file === MODEL_MANIFEST).map(({ source, revision }) => ({ source, revision }));
}
