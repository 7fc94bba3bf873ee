// Where WebLLM looks for model files, and a small interface to put files there.
//
// mlc-ai/web-llm src/cache_util.ts + src/engine.ts (reloadInternal) + apache/tvm web/src/artifact_cache.ts:
// with appConfig.cacheBackend "cache" (the default) every file is a Cache Storage entry; the cache's name
// is the scope — "webllm/config" for mlc-chat-config.json, "webllm/model" for tensor-cache.json, the
// shards and the tokenizer files, "webllm/wasm" for the model library — and the key is the absolute URL
// `new URL(file, cleanModelUrl(record.model))`. WebLLM only goes to the network when a key is missing
// (ArtifactCache.addToCache: match, else cache.add), so files put there under the right URLs load offline.
export type CacheScope = 'webllm/model' | 'webllm/config' | 'webllm/wasm';

/** What the writer needs from a cache: bytes in and out by scope and absolute URL. */
export interface WebLlmCacheStore {
  put(scope: CacheScope, url: string, bytes: Uint8Array, contentType: string): Promise<void>;
  /** The stored bytes, or null when the key is absent. */
  get(scope: CacheScope, url: string): Promise<Uint8Array | null>;
  delete(scope: CacheScope, url: string): Promise<void>;
}

/** web-llm src/support.ts cleanModelUrl: append '/' and 'resolve/main/' unless a /resolve/<branch>/ is there. */
export function cleanModelUrl(modelUrl: string): string {
  let u = modelUrl.endsWith('/') ? modelUrl : modelUrl + '/';
  if (!/.+\/resolve\/.+\//.test(u)) u += 'resolve/main/';
  return new URL(u).href;
}

/** The cache key of `file` in the model at `modelUrl` (a ModelRecord.model). */
export function modelFileUrl(modelUrl: string, file: string): string {
  return new URL(file, cleanModelUrl(modelUrl)).href;
}

/**
 * Models we write get URLs under this host. It never resolves, so a cache miss fails fast instead of
 * fetching something else; the URL must start with "http" or WebLLM resolves it against the page.
 */
export const LOCAL_MODEL_ORIGIN = 'https://expandr.local/webllm/';

export function localModelUrl(modelId: string): string {
  return LOCAL_MODEL_ORIGIN + encodeURIComponent(modelId);
}

/** The subset of the browser's CacheStorage we use (also in workers; absent in Node 20). */
export interface CacheStorageLike {
  open(name: string): Promise<{
    put(request: string, response: Response): Promise<void>;
    match(request: string): Promise<Response | undefined>;
    delete(request: string): Promise<boolean>;
  }>;
}

/** The real store: Cache Storage, exactly as WebLLM's default "cache" backend reads it. */
export function cacheStorageStore(caches: CacheStorageLike): WebLlmCacheStore {
  return {
    async put(scope, url, bytes, contentType) {
      const cache = await caches.open(scope);
      const headers = { 'Content-Type': contentType, 'Content-Length': String(bytes.byteLength) };
      await cache.put(url, new Response(bytes as Uint8Array<ArrayBuffer>, { status: 200, headers }));
    },
    async get(scope, url) {
      const r = await (await caches.open(scope)).match(url);
      return r ? new Uint8Array(await r.arrayBuffer()) : null;
    },
    async delete(scope, url) {
      await (await caches.open(scope)).delete(url);
    },
  };
}

/** An in-memory store (Node tests; also handy to collect an export as files). Keys: `${scope} ${url}`. */
export function memoryStore(): WebLlmCacheStore & { entries: Map<string, Uint8Array> } {
  const entries = new Map<string, Uint8Array>();
  return {
    entries,
    async put(scope, url, bytes) {
      entries.set(`${scope} ${url}`, bytes.slice());
    },
    async get(scope, url) {
      return entries.get(`${scope} ${url}`) ?? null;
    },
    async delete(scope, url) {
      entries.delete(`${scope} ${url}`);
    },
  };
}
