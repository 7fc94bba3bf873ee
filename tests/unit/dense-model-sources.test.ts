// Model sources: the Hugging Face Hub through a fake fetch (progress, cache, offline second load, 404s),
// dropped folders and zips (model root detection), paths on disk, the model hash, and the v1 → v2
// database upgrade that added the model file cache.
import { zipSync } from 'fflate';
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { loadHubModel, hubFileUrl, HF_ENDPOINT } from '../../src/model/sources-hub.ts';
import { MemoryModelCache, readCachedModel, storeModelCache, writeCachedModel } from '../../src/model/sources-cache.ts';
import { findModelRoot, modelFilesFromSources, modelHash } from '../../src/model/sources.ts';
import { modelFilesFromPath } from '../../src/model/sources-node.ts';
import { fromBytes } from '../../src/data/source.ts';
import { CancelledError, ModelFormatError, NotFoundError } from '../../src/errors.ts';
import { Sha256 } from '../../src/data/hash.ts';
import { openStore } from '../../src/store/store.ts';
import { enc, errorOf, freshStore, progressLog } from './helpers/beir-files.ts';

const TINY_BERT = 'tests/reference/fixtures/tiny-bert';
const ID = 'org/tiny-model';
const WEIGHTS = Uint8Array.from({ length: 50_000 }, (_, i) => (i * 31) & 0xff);
const REPO: Record<string, Uint8Array> = {
  'config.json': enc('{"model_type":"bert"}'),
  'tokenizer.json': enc('{"model":{}}'),
  'tokenizer_config.json': enc('{}'),
  'modules.json': enc(JSON.stringify([{ idx: 0, path: '', type: 'sentence_transformers.models.Transformer' }, { idx: 1, path: '1_Pooling', type: 'sentence_transformers.models.Pooling' }])),
  '1_Pooling/config.json': enc('{"pooling_mode_mean_tokens":true}'),
  'model.safetensors': WEIGHTS,
  'pytorch_model.bin': enc('never downloaded'),
};

/**
 * A Hub stand-in: files of REPO under /<ID>/resolve/main/, streamed in 4 KB chunks with Content-Length.
 * With `commit`, it answers as the Hub does (X-Repo-Commit) and serves the same files at /resolve/<commit>/.
 */
function fakeHub(repo: Record<string, Uint8Array> = REPO, id = ID, commit?: string) {
  const calls: string[] = [];
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    calls.push(url);
    if (init?.signal?.aborted) throw new DOMException('aborted', 'AbortError');
    const prefix = [`${HF_ENDPOINT}/${id}/resolve/main/`, ...(commit ? [`${HF_ENDPOINT}/${id}/resolve/${commit}/`] : [])].find((p) => url.startsWith(p));
    const file = prefix ? decodeURIComponent(url.slice(prefix.length)) : null;
    const bytes = file === null ? undefined : repo[file];
    if (!bytes) return new Response('Entry not found', { status: url.startsWith(`${HF_ENDPOINT}/${id}/`) ? 404 : 401 });
    let pos = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (pos >= bytes.length) return c.close();
        c.enqueue(bytes.slice(pos, pos + 4096));
        pos += 4096;
      },
    });
    return new Response(body, { status: 200, headers: { 'content-length': String(bytes.length), ...(commit ? { 'x-repo-commit': commit } : {}) } });
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

describe('Hugging Face source', () => {
  it('downloads the encoder files with monotone byte progress, then loads offline from the cache', async () => {
    const hub = fakeHub();
    const cache = new MemoryModelCache();
    const log = progressLog();
    const first = await loadHubModel(ID, { fetch: hub.fetch, cache, onProgress: log.onProgress });
    expect(first.fromCache).toBe(false);
    expect([...first.files.keys()].sort()).toEqual(['1_Pooling/config.json', 'config.json', 'model.safetensors', 'modules.json', 'tokenizer.json', 'tokenizer_config.json']);
    expect(first.files.get('model.safetensors')).toEqual(WEIGHTS);
    expect(hub.calls.some((u) => u.endsWith('pytorch_model.bin'))).toBe(false);
    expect(hub.calls[0]).toBe(hubFileUrl(ID, 'main', 'config.json'));
    expect(log.monotone()).toBe(true);
    const last = log.events.at(-1)!;
    expect(last.done).toBe(last.total);
    expect(last.total).toBe([...first.files.values()].reduce((a, b) => a + b.length, 0));
    expect(log.events.filter((e) => e.stage === 'model:download').length).toBeGreaterThan(2);

    const offline = (async () => { throw new TypeError('fetch failed: offline'); }) as typeof globalThis.fetch;
    const second = await loadHubModel(ID, { fetch: offline, cache });
    expect(second.fromCache).toBe(true);
    expect(second.files).toEqual(first.files);
  });

  it("pins a load to the commit the Hub resolved 'main' to: later files fetched at it, the commit kept with the cache", async () => {
    const commit = 'a'.repeat(20) + '0123456789abcdef0123';
    const hub = fakeHub(REPO, ID, commit);
    const cache = new MemoryModelCache();
    const first = await loadHubModel(ID, { fetch: hub.fetch, cache });
    expect(first.commit).toBe(commit);
    expect(hub.calls[0]).toBe(hubFileUrl(ID, 'main', 'config.json'));
    expect(hub.calls.slice(1).every((u) => u.includes(`/resolve/${commit}/`))).toBe(true);
    const again = await loadHubModel(ID, { fetch: hub.fetch, cache });
    expect(again).toMatchObject({ fromCache: true, commit });
    // A Hub that does not say (a proxy): unpinned, fetched at the branch.
    expect((await loadHubModel(ID, { fetch: fakeHub().fetch })).commit).toBeNull();
  });

  it('caches in IndexedDB (schema v2 modelFiles) across reopening the store', async () => {
    const { store, reopen } = await freshStore('models');
    await loadHubModel(ID, { fetch: fakeHub().fetch, cache: storeModelCache(store) });
    store.close();
    const again = await reopen();
    const offline = (async () => { throw new TypeError('offline'); }) as typeof globalThis.fetch;
    const m = await loadHubModel(ID, { fetch: offline, cache: storeModelCache(again) });
    expect(m.fromCache).toBe(true);
    expect(m.files.get('model.safetensors')).toEqual(WEIGHTS);
    expect((await again.listModelFiles()).filter((f) => f.file === 'model.safetensors')).toEqual([{ source: `hf:${ID}`, revision: 'main', file: 'model.safetensors' }]);
    await again.deleteModelFiles(`hf:${ID}`);
    expect(await again.listModelFiles()).toEqual([]);
  });

  it('says "not found or private" for an unknown id, and explains safetensors-only when weights are missing', async () => {
    const e404 = await errorOf(() => loadHubModel('org/nope', { fetch: fakeHub().fetch }));
    expect(e404).toBeInstanceOf(NotFoundError);
    expect(e404.message).toMatch(/not found on the Hugging Face Hub, or it is private or gated/);
    const { ['model.safetensors']: _, ...noWeights } = REPO;
    const eW = await errorOf(() => loadHubModel(ID, { fetch: fakeHub(noWeights).fetch }));
    expect(eW).toBeInstanceOf(ModelFormatError);
    expect(eW.message).toMatch(/Only safetensors checkpoints are supported/);
    expect(eW.message).toMatch(/safe_serialization=True/);
    await expect(loadHubModel('not a valid id!', { fetch: fakeHub().fetch })).rejects.toThrow(/not a Hugging Face model id/);
    const offline = (async () => { throw new TypeError('getaddrinfo ENOTFOUND'); }) as typeof globalThis.fetch;
    await expect(loadHubModel(ID, { fetch: offline })).rejects.toThrow(/Could not reach the Hugging Face Hub/);
  });

  it('cancels mid-download, then resumes reusing the finished files', async () => {
    const hub = fakeHub();
    const cache = new MemoryModelCache();
    const controller = new AbortController();
    const p = loadHubModel(ID, { fetch: hub.fetch, cache, signal: controller.signal, onProgress: (e) => e.done > 20_000 && controller.abort() });
    await expect(p).rejects.toBeInstanceOf(CancelledError);
    expect(await readCachedModel(cache, `hf:${ID}`, 'main')).toBeUndefined(); // incomplete: not a cached model
    hub.calls.length = 0;
    const m = await loadHubModel(ID, { fetch: hub.fetch, cache });
    expect(m.files.get('model.safetensors')).toEqual(WEIGHTS);
    expect(hub.calls.some((u) => u.endsWith('/config.json') && !u.includes('1_Pooling'))).toBe(false); // from the cache
  });
});

const bert = (over: Record<string, string | Uint8Array> = {}) => ({
  'config.json': '{"model_type":"bert"}',
  'model.safetensors': WEIGHTS,
  'vocab.txt': '[PAD]\n[UNK]\n',
  '1_Pooling/config.json': '{"pooling_mode_cls_token":true}',
  'modules.json': '[]',
  ...over,
});
const under = (dir: string, files: Record<string, string | Uint8Array>) =>
  Object.fromEntries(Object.entries(files).map(([p, b]) => [`${dir}${p}`, typeof b === 'string' ? enc(b) : b]));

describe('dropped model folders and zips', () => {
  it('finds the folder holding config.json, never a sentence-transformers module folder', () => {
    expect(findModelRoot(['m/1_Pooling/config.json', 'm/config.json', 'm/model.safetensors'])).toBe('m');
    expect(findModelRoot(['config.json', 'model.safetensors', '1_Pooling/config.json'])).toBe('');
    expect(findModelRoot(['x/onnx/config.json', 'x/a/b/config.json', 'x/a/b/model.safetensors'])).toBe('x/a/b'); // weights win over depth
    expect(() => findModelRoot(['a/config.json', 'b/config.json'])).toThrow(/several models/);
    expect(() => findModelRoot(['m/1_Pooling/config.json', 'm/vocab.txt'])).toThrow(/config.json: not found among the dropped files/);
  });

  it('reads a dropped folder: only the encoder files, relative to the model root', async () => {
    const files = under('drop/bge/', { ...bert(), 'pytorch_model.bin': 'x', 'onnx/model.onnx': 'y', '.DS_Store': 'z' });
    const log = progressLog();
    const m = await modelFilesFromSources(Object.entries(files).map(([p, b]) => fromBytes(p, b as Uint8Array<ArrayBuffer>)), { onProgress: log.onProgress });
    expect(m.name).toBe('bge');
    expect(m.root).toBe('drop/bge');
    expect([...m.files.keys()].sort()).toEqual(['1_Pooling/config.json', 'config.json', 'model.safetensors', 'modules.json', 'vocab.txt']);
    expect(log.monotone()).toBe(true);
  });

  it('reads a zip, with or without a top folder, with or without random access', async () => {
    for (const [files, name] of [[under('e5-small/', bert()), 'e5-small'], [bert(), 'e5']] as const) {
      const z = zipSync(Object.fromEntries(Object.entries(files).map(([p, b]) => [p, typeof b === 'string' ? enc(b) : b])));
      for (const noSlice of [false, true]) {
        const m = await modelFilesFromSources([fromBytes('e5.zip', z, { noSlice })]);
        expect(m.name).toBe(name);
        expect(m.files.get('model.safetensors')).toEqual(WEIGHTS);
        expect(new TextDecoder().decode(m.files.get('1_Pooling/config.json'))).toMatch(/cls/);
      }
    }
  });

  it('explains what is missing: weights (with the conversion recipe) or the tokenizer', async () => {
    const { ['model.safetensors']: _, ...noWeights } = bert({ 'pytorch_model.bin': 'x' });
    const e = await errorOf(() => modelFilesFromSources(Object.entries(under('m/', noWeights)).map(([p, b]) => fromBytes(p, b))));
    expect(e.message).toMatch(/model.safetensors: not found in m \(it has pytorch_model.bin\).*Only safetensors/);
    const { ['vocab.txt']: __, ...noTok } = bert();
    await expect(modelFilesFromSources(Object.entries(under('m/', noTok)).map(([p, b]) => fromBytes(p, b)))).rejects.toThrow(/neither tokenizer.json nor vocab.txt/);
  });

  it('reads a model folder from disk (the runner), and hashes config + weights + tokenizer', async () => {
    const m = await modelFilesFromPath(TINY_BERT);
    expect(m.name).toBe('tiny-bert');
    expect(m.files.has('1_Pooling/config.json')).toBe(true);
    const h = await modelHash(m.files);
    expect(h).toMatch(/^sha256:[0-9a-f]{64}$/);
    // Same definition spelled out with the streaming SHA-256 of data/hash.ts.
    const hex = (b: Uint8Array) => new Sha256().update(b).hex();
    const lines = ['config.json', 'model.safetensors', 'tokenizer.json', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json']
      .filter((f) => m.files.has(f))
      .map((f) => `${f}:${hex(m.files.get(f)!)}\n`)
      .join('');
    expect(h).toBe(`sha256:${hex(enc(lines))}`);
    const changed = new Map(m.files).set('config.json', enc('{"model_type":"bert","x":1}'));
    expect(await modelHash(changed)).not.toBe(h);
    await expect(modelFilesFromPath('no/such/model')).rejects.toThrow(/no such file or folder/);
  });
});

describe('model file cache', () => {
  it('counts a model as cached only once its manifest is written', async () => {
    const cache = new MemoryModelCache();
    const files = new Map([['config.json', enc('{}')], ['model.safetensors', WEIGHTS]]);
    await cache.put('local:x', '', 'config.json', enc('{}'));
    expect(await readCachedModel(cache, 'local:x', '')).toBeUndefined();
    await writeCachedModel(cache, 'local:x', '', files);
    expect(await readCachedModel(cache, 'local:x', '')).toEqual(files);
    await cache.delete('local:x');
    expect(cache.files.size).toBe(0);
  });

  it('upgrades a version 1 database to version 2 keeping its data', async () => {
    const factory = new IDBFactory();
    await new Promise<void>((res, rej) => {
      const r = factory.open('old', 1);
      r.onupgradeneeded = () => {
        const db = r.result;
        db.createObjectStore('datasets', { keyPath: 'id' });
        for (const [n, kp] of [['docs', ['datasetId', 'seq']], ['queries', ['datasetId', 'seq']]] as const) db.createObjectStore(n, { keyPath: [...kp] }).createIndex('byId', ['datasetId', 'id'], { unique: true });
        db.createObjectStore('qrels', { keyPath: ['datasetId', 'split', 'part'] });
        db.createObjectStore('artifacts', { keyPath: ['datasetId', 'key'] }).put({ datasetId: 'd', key: 'k', value: 42 });
      };
      r.onsuccess = () => (r.result.close(), res());
      r.onerror = () => rej(r.error);
    });
    const store = await openStore({ dbName: 'old', idbFactory: factory, cleanup: false });
    expect(await store.getArtifact('d', 'k')).toBe(42);
    await store.putModelFile('hf:a/b', 'main', 'config.json', enc('{}'));
    expect(await store.getModelFile('hf:a/b', 'main', 'config.json')).toEqual(enc('{}'));
    store.close();
  });
});

describe('loadModelFiles (the page: any source, cached in the store)', () => {
  it('keeps a dropped model under its hash and a Hub model under its id, both listed and loadable offline', async () => {
    const { loadModelFiles, listCachedModels } = await import('../../src/app/model-source.ts');
    const { store } = await freshStore('model-source');
    const dropped = await loadModelFiles(store, { kind: 'drop', files: Object.entries(under('bge/', bert())).map(([p, b]) => fromBytes(p, b)) });
    expect(dropped.source).toBe(`local:${dropped.modelHash}`);
    const hub = await loadModelFiles(store, { kind: 'hub', id: ID }, { fetch: fakeHub().fetch });
    expect(hub).toMatchObject({ name: ID, source: `hf:${ID}`, revision: 'main', fromCache: false });
    expect(await listCachedModels(store)).toEqual(
      expect.arrayContaining([{ source: dropped.source, revision: '', name: 'bge' }, { source: `hf:${ID}`, revision: 'main', name: ID }]),
    );
    const again = await loadModelFiles(store, { kind: 'cached', source: dropped.source, revision: '' });
    expect(again).toMatchObject({ name: 'bge', modelHash: dropped.modelHash, fromCache: true });
    expect(again.files).toEqual(dropped.files);
    await store.deleteModelFiles(dropped.source);
    await expect(loadModelFiles(store, { kind: 'cached', source: dropped.source, revision: '' })).rejects.toThrow(/no longer in this browser's storage/);
  });
});
