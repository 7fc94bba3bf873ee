// A model from the Hugging Face Hub, in the browser (or Node): the files an encoder needs, fetched from
// https://huggingface.co/<id>/resolve/<revision>/<file> with byte progress and cancellation, and cached
// per (id, revision, file) so that the second load needs no network. `fetch` is injectable: tests run
// against a local fake (no hub is reachable from the build machines).
//
// Pinning: a branch ('main') may move, so the commit the Hub resolved it to (its X-Repo-Commit response
// header on config.json) is recorded, and every later file of the load is fetched at that commit, so that
// all files come from one commit. The commit is kept beside the cached files (HUB_COMMIT_FILE).
import { CancelledError, ExpandrError, ModelFormatError, NotFoundError, throwIfAborted } from '../errors.ts';
import { throttledProgress, type WorkOptions } from '../util/progress.ts';
import { readCachedModel, writeModelManifest, type ModelFileCache } from './sources-cache.ts';
import { OPTIONAL_MODEL_FILES, TOKENIZER_FILES, checkModelFiles, concat, type ModelFiles } from './sources.ts';

export const HF_ENDPOINT = 'https://huggingface.co';
export const DOWNLOAD_STAGE = 'model:download';
/** 'org/name' or a legacy top-level name ('bert-base-uncased'), as the Hub allows them. */
const MODEL_ID = /^(?:[A-Za-z0-9][\w.-]*\/)?[A-Za-z0-9][\w.-]*$/;

export interface HubOptions extends WorkOptions {
  /** Branch, tag or commit (default 'main'). The cache is keyed by it as given. */
  revision?: string;
  fetch?: typeof globalThis.fetch;
  /** Where files are kept between sessions (storeModelCache(store) in the page); none: always download. */
  cache?: ModelFileCache;
  endpoint?: string;
  /** Download again even when the model is cached. */
  refresh?: boolean;
  /** A Hugging Face access token for gated or private models, sent as `Authorization: Bearer`; never stored. */
  token?: string | null;
}

export interface HubModel {
  files: ModelFiles;
  /** Cache source key: 'hf:<id>'. */
  source: string;
  revision: string;
  /** The 40-hex commit the files came from; null when the Hub did not say (an old cache, a proxy). */
  commit: string | null;
  /** True when nothing was downloaded. */
  fromCache: boolean;
  /** Bytes downloaded by this call. */
  downloaded: number;
}

export const hubSource = (id: string) => `hf:${id}`;

/** Where the resolved commit is kept among a cached Hub model's files (not a model file). */
export const HUB_COMMIT_FILE = '.hub-commit';
const COMMIT = /^[0-9a-f]{40}$/;

/** The commit a cached Hub model came from, or null. */
export async function cachedHubCommit(cache: ModelFileCache, source: string, revision: string): Promise<string | null> {
  if (COMMIT.test(revision)) return revision;
  const bytes = await cache.get(source, revision, HUB_COMMIT_FILE);
  const text = bytes ? new TextDecoder().decode(bytes).trim() : '';
  return COMMIT.test(text) ? text : null;
}

export function hubFileUrl(id: string, revision: string, file: string, endpoint = HF_ENDPOINT): string {
  return `${endpoint}/${id}/resolve/${encodeURIComponent(revision)}/${file.split('/').map(encodeURIComponent).join('/')}`;
}

/** Loads a Hub model's encoder files: from the cache when complete there, else downloaded (small files first). */
export async function loadHubModel(id: string, opts: HubOptions = {}): Promise<HubModel> {
  const modelId = id.trim();
  if (!MODEL_ID.test(modelId)) {
    throw new NotFoundError(`"${id}" is not a Hugging Face model id: write it as on the Hub, e.g. BAAI/bge-small-en-v1.5.`);
  }
  const revision = opts.revision ?? 'main';
  const source = hubSource(modelId);
  const cache = opts.cache;
  if (cache && !opts.refresh) {
    const files = await readCachedModel(cache, source, revision);
    if (files) return { files, source, revision, commit: await cachedHubCommit(cache, source, revision), fromCache: true, downloaded: 0 };
  }
  let commit: string | null = COMMIT.test(revision) ? revision : null;
  const doFetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const report = throttledProgress(opts.onProgress);
  const files: ModelFiles = new Map();
  let downloaded = 0;
  let fromCacheOnly = true;

  /** One file: bytes, or null when the Hub says it does not exist (404). */
  const get = async (file: string, required: boolean, onBytes?: (n: number, total: number) => void): Promise<Uint8Array | null> => {
    if (cache && !opts.refresh) {
      const hit = await cache.get(source, revision, file); // finished by an earlier, interrupted load
      if (hit) return hit;
    }
    fromCacheOnly = false;
    throwIfAborted(opts.signal, 'Download');
    const url = hubFileUrl(modelId, commit ?? revision, file, opts.endpoint);
    let res: Response;
    try {
      res = await doFetch(url, { signal: opts.signal, ...(opts.token ? { headers: { Authorization: `Bearer ${opts.token}` } } : {}) });
    } catch (e) {
      if (opts.signal?.aborted) throw new CancelledError('Download');
      throw new ExpandrError(`Could not reach the Hugging Face Hub for ${modelId} (${(e as Error).message}). Check the network, or download the model folder and drop it instead.`);
    }
    if (res.status === 404 || res.status === 401 || res.status === 403) {
      await res.body?.cancel().catch(() => {});
      if (file === 'config.json') {
        const access = opts.token
          ? 'the Hugging Face token given does not open it (accept the model\'s terms on its Hub page, or use a token with read access)'
          : 'for a gated or private model, put a Hugging Face token under "Hugging Face access", or download the folder and drop it instead';
        throw new NotFoundError(
          `Model "${modelId}" not found on the Hugging Face Hub, or it is private or gated (HTTP ${res.status} for config.json${revision !== 'main' ? ` at revision ${revision}` : ''}). ` +
            `Check the id (e.g. BAAI/bge-small-en-v1.5); ${access}.`,
        );
      }
      if (required && res.status !== 404) throw new ExpandrError(`${file} of ${modelId}: access denied (HTTP ${res.status}). Download the folder and drop it instead.`);
      return null;
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      throw new ExpandrError(`${file} of ${modelId}: the Hub answered HTTP ${res.status}. Try again later, or drop the model folder instead.`);
    }
    const said = res.headers.get('x-repo-commit')?.trim().toLowerCase();
    if (!commit && said && COMMIT.test(said)) {
      commit = said;
      await cache?.put(source, revision, HUB_COMMIT_FILE, new TextEncoder().encode(commit));
    }
    const bytes = await readBody(res, opts.signal, onBytes);
    await cache?.put(source, revision, file, bytes);
    return bytes;
  };

  // Small files first: config.json answers "does this model exist", modules.json names the pooling folder.
  const small = ['config.json', ...TOKENIZER_FILES, ...OPTIONAL_MODEL_FILES];
  for (const file of small) {
    const bytes = await get(file, file === 'config.json');
    if (bytes) {
      files.set(file, bytes);
      downloaded += bytes.length;
    }
  }
  for (const dir of moduleConfigDirs(files.get('modules.json'))) {
    const bytes = await get(`${dir}/config.json`, false);
    if (bytes) files.set(`${dir}/config.json`, bytes), (downloaded += bytes.length);
  }
  const smallBytes = downloaded;
  // The weights, with byte progress: total = small files + Content-Length, known once the response starts.
  const weights = await get('model.safetensors', true, (n, total) =>
    report({ stage: DOWNLOAD_STAGE, done: smallBytes + n, total: total ? smallBytes + total : 0, unit: 'bytes', text: `${modelId}: model.safetensors` }),
  );
  if (!weights) {
    throw new ModelFormatError('model.safetensors', `${modelId} has no model.safetensors on the Hub (revision ${revision})`, 'Only safetensors checkpoints are supported: pick a model that has one, or convert it in Python (save_pretrained(DIR, safe_serialization=True)) and drop DIR');
  }
  files.set('model.safetensors', weights);
  downloaded += weights.length;
  report({ stage: DOWNLOAD_STAGE, done: downloaded, total: downloaded, unit: 'bytes', text: modelId }, true);
  checkModelFiles(files, [...files.keys()], `${modelId} on the Hub`);
  if (cache) await writeModelManifest(cache, source, revision, [...files.keys()], [], files); // with their SHA-256, checked on read
  if (!commit && cache) commit = await cachedHubCommit(cache, source, revision); // files finished by an earlier load
  return { files, source, revision, commit, fromCache: fromCacheOnly, downloaded: fromCacheOnly ? 0 : downloaded };
}

/** Folders of sentence-transformers modules that carry a config.json (Pooling), from modules.json. */
export function moduleConfigDirs(modulesJson: Uint8Array | undefined): string[] {
  if (!modulesJson) return [];
  try {
    const mods = JSON.parse(new TextDecoder().decode(modulesJson)) as { path?: string; type?: string }[];
    return mods.filter((m) => m.path && /Pooling|Dense/.test(m.type ?? '') && /^[\w.-]+$/.test(m.path)).map((m) => m.path!);
  } catch {
    return []; // a malformed modules.json is reported by the encoder, which reads it
  }
}

/** Streams a response body into one array, reporting bytes; preallocated when Content-Length is given. */
async function readBody(res: Response, signal: AbortSignal | undefined, onBytes?: (n: number, total: number) => void): Promise<Uint8Array> {
  const length = Number(res.headers.get('content-length') ?? '');
  const total = Number.isFinite(length) && length > 0 ? length : 0;
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const reader = res.body.getReader();
  let out = total ? new Uint8Array(total) : null; // one copy of a 400 MB file, not two
  const parts: Uint8Array[] = [];
  let n = 0;
  onBytes?.(0, total);
  try {
    for (;;) {
      if (signal?.aborted) throw new CancelledError('Download');
      const { done, value } = await reader.read();
      if (done) break;
      if (out && n + value.length <= out.length) out.set(value, n);
      else {
        if (out) parts.push(out.subarray(0, n)), (out = null); // longer than announced: fall back to parts
        parts.push(value);
      }
      n += value.length;
      onBytes?.(n, Math.max(total, n));
    }
  } catch (e) {
    await reader.cancel().catch(() => {});
    if (signal?.aborted) throw new CancelledError('Download');
    throw e;
  } finally {
    reader.releaseLock();
  }
  return out ? out.subarray(0, n) : concat(parts);
}
