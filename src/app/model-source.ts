// One entry point for the page (worker) to get an encoder's files from any source, cached in the
// store: a Hugging Face id (downloaded once, then offline), a dropped folder or zip (kept under
// 'local:<model hash>' so it survives a reload), or a model cached earlier. Returns the files with
// their model hash, the key of every cache computed from them (embeddings).
import type { SourceFile } from '../data/source.ts';
import type { Store } from '../store/store.ts';
import type { WorkOptions } from '../util/progress.ts';
import { NotFoundError } from '../errors.ts';
import { readCachedModel, storeModelCache, writeCachedModel, MODEL_MANIFEST } from '../model/sources-cache.ts';
import { cachedHubCommit, loadHubModel } from '../model/sources-hub.ts';
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
  /** A Hub model's commit (pinned), null when unknown or not from the Hub. */
  commit: string | null;
  modelHash: string;
  fromCache: boolean;
}

/**
 * The Hugging Face token of this page's worker (the page's "Hugging Face access" field, kept in the
 * browser's localStorage by the page): held in memory only, sent with Hub downloads, never stored with
 * a model, a run or an export.
 */
let hubToken: string | null = null;

/** Sets (or with null / '' forgets) the token Hub downloads send. */
export function setHubToken(token: string | null): void {
  hubToken = token?.trim() || null;
}

/** Where the name of a dropped model is kept (beside its files, under the same cache key). */
const NAME_FILE = '.expandr-name';

export async function loadModelFiles(store: Store, spec: ModelSourceSpec, work: WorkOptions & { fetch?: typeof globalThis.fetch } = {}): Promise<LoadedModelFiles> {
  const cache = storeModelCache(store);
  if (spec.kind === 'hub') {
    const m = await loadHubModel(spec.id, { ...work, cache, revision: spec.revision, refresh: spec.refresh, token: hubToken });
    return { files: m.files, name: spec.id, source: m.source, revision: m.revision, commit: m.commit, modelHash: await modelHash(m.files), fromCache: m.fromCache };
  }
  if (spec.kind === 'drop') {
    const m = await modelFilesFromSources(spec.files, work);
    return keepLocalModel(store, m.files, m.name);
  }
  const files = await readCachedModel(cache, spec.source, spec.revision);
  if (!files) throw new NotFoundError(`The model ${spec.source} is no longer in this browser's storage: load it again from the Hub or drop its folder.`);
  const commit = spec.source.startsWith('hf:') ? await cachedHubCommit(cache, spec.source, spec.revision) : null;
  return { files, name: await cachedName(store, spec.source), source: spec.source, revision: spec.revision, commit, modelHash: await modelHash(files), fromCache: true };
}

/** Keeps a model's files (dropped, or trained here) under 'local:<model hash>' so they survive a reload. */
export async function keepLocalModel(store: Store, files: ModelFiles, name: string): Promise<LoadedModelFiles> {
  const cache = storeModelCache(store);
  const hash = await modelHash(files);
  const source = `local:${hash}`;
  await writeCachedModel(cache, source, '', files);
  await cache.put(source, '', NAME_FILE, new TextEncoder().encode(name));
  return { files, name, source, revision: '', commit: null, modelHash: hash, fromCache: false };
}

async function cachedName(store: Store, source: string): Promise<string> {
  if (source.startsWith('hf:')) return source.slice(3);
  const bytes = await storeModelCache(store).get(source, '', NAME_FILE);
  return (bytes && new TextDecoder().decode(bytes)) || 'model';
}

/** Models complete in the cache (those with a manifest), for a "cached models" list. */
export async function listCachedModels(store: Store): Promise<{ source: string; revision: string; name: string }[]> {
  const complete = (await store.listModelFiles()).filter((f) => f.file === MODEL_MANIFEST);
  return Promise.all(complete.map(async ({ source, revision }) => ({ source, revision, name: await cachedName(store, source) })));
}
