// The worker's dense-retriever path in Node: load a dropped encoder (kept in IndexedDB), evaluate Raw,
// train a copy, evaluate FT, export a zip that loads back, and find both models again after a "reload".
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { unzipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { IDBFactory } from 'fake-indexeddb';
import { openStore } from '../../src/store/store.ts';
import { importBeir } from '../../src/store/import-beir.ts';
import { fromBytes } from '../../src/data/source.ts';
import { RetrieverSession } from '../../src/app/retriever-session.ts';
import { TINY } from './helpers/beir-files.ts';
import { folderFiles } from './helpers/folder-files.ts';

const TINY_BERT = join(import.meta.dirname, '../reference/fixtures/tiny-bert');
/** int8 vs f32 nDCG@10 on the tiny corpus: equal to 6 decimals (2 queries, a few documents each). */
const INT8_NDCG_DIGITS = 6;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('RetrieverSession', () => {
  it('loads, evaluates, trains, exports and survives a reload', async () => {
    const factory = new IDBFactory();
    const open = () => openStore({ dbName: 'session-test', idbFactory: factory });
    const store = await open();
    const sources = [
      fromBytes('tiny/corpus.jsonl', TINY.corpus),
      fromBytes('tiny/queries.jsonl', TINY.queries),
      fromBytes('tiny/qrels/test.tsv', TINY.test),
      fromBytes('tiny/qrels/train.tsv', TINY.train),
    ];
    const { dataset } = await importBeir(store, sources, { estimate: async () => ({ quota: 1e9, usage: 0 }) });
    const session = new RetrieverSession(async () => store);

    const raw = await session.load({ kind: 'files', files: folderFiles(TINY_BERT, 'tiny-bert') });
    expect(raw).toMatchObject({ name: 'tiny-bert', source: 'dropped', dim: 32 });
    const rawEval = await session.evaluate(dataset.id, 'test', raw.handle);
    expect(rawEval.queries).toBe(2);
    expect(rawEval.metrics['ndcg@10']).toBeGreaterThanOrEqual(0);

    // The corpus stored at int8 on request (the page's "embeddings stored as"): packed from the f32 embeddings
    // just stored (no second encoding), a quarter of the vector bytes, the same ranking on this tiny corpus.
    const keys = async () => (await store.listArtifacts(dataset.id)).filter((k) => /:vec:/.test(k));
    const before = await keys();
    const int8 = await session.evaluate(dataset.id, 'test', raw.handle, { precision: 'int8' });
    expect(int8.timings.encodedDocs).toBe(0);
    const added = (await keys()).filter((k) => !before.includes(k));
    expect(added.length).toBeGreaterThan(0);
    expect(int8.metrics['ndcg@10']).toBeCloseTo(rawEval.metrics['ndcg@10'], INT8_NDCG_DIGITS);

    const steps: number[] = [];
    // (the tiny train split has one query: in-batch negatives need two, so train on test here)
    const trained = await session.train(dataset.id, 'test', raw.handle, { steps: 3, batchSize: 2, dropout: false, lr: 1e-3 }, { onStep: (p) => steps.push(p.step) });
    expect(steps).toEqual([1, 2, 3]);
    expect(trained.encoder).toMatchObject({ name: 'tiny-bert (FT)', source: 'trained', trainedFrom: raw.handle });
    expect(trained.encoder.modelHash).not.toBe(raw.modelHash);
    const ftEval = await session.evaluate(dataset.id, 'test', trained.encoder.handle);
    expect(ftEval.encoder.handle).toBe(trained.encoder.handle);

    const { name, zip } = await session.exportZip(trained.encoder.handle);
    const files = unzipSync(zip);
    expect(Object.keys(files)).toContain(`${name}/model.safetensors`);
    expect(Object.keys(files)).toContain(`${name}/1_Pooling/config.json`);

    // A new session over the same database (a reloaded tab) finds both models and loads the trained one.
    const again = new RetrieverSession(async () => store);
    const cached = await again.cached();
    expect(cached.map((c) => c.name).sort()).toEqual(['tiny-bert', 'tiny-bert (FT)']);
    const back = await again.load({ kind: 'cached', ...cached.find((c) => c.name.endsWith('(FT)'))! });
    expect(back.modelHash).toBe(trained.encoder.modelHash);
    expect(back.source).toBe('trained');
    const backEval = await again.evaluate(dataset.id, 'test', back.handle);
    expect(backEval.metrics).toEqual(ftEval.metrics);
    // Training again with other settings is a new run (its own checkpoint), not a refused resume; the same
    // settings again resume the finished run (no step runs).
    const other: number[] = [];
    await session.train(dataset.id, 'test', raw.handle, { steps: 4, batchSize: 2, dropout: false, lr: 1e-3 }, { onStep: (p) => other.push(p.step) });
    expect(other).toEqual([1, 2, 3, 4]);
    const same: number[] = [];
    await session.train(dataset.id, 'test', raw.handle, { steps: 3, batchSize: 2, dropout: false, lr: 1e-3 }, { onStep: (p) => same.push(p.step) });
    expect(same).toEqual([]);
  });
});
