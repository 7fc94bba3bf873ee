// The page's dense evaluation (through the store): corpus embeddings kept as dataset artifacts and
// reused by the second evaluation, the run stored for download, deleted with the dataset.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { runDenseEval, storedDenseRunFile } from '../../src/retrieval/dense/evaluate.ts';
import { storedEmbeddingKeys } from '../../src/retrieval/dense/store-chunks.ts';
import { importBeir } from '../../src/store/import-beir.ts';
import { hashEncoder } from './helpers/hash-encoder.ts';
import { freshStore, progressLog, sources, tinyFiles } from './helpers/beir-files.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('runDenseEval', () => {
  it('encodes the corpus once per model, then only the queries', async () => {
    const { store } = await freshStore('dense-app');
    const { dataset } = await importBeir(store, sources(tinyFiles()));
    const enc = hashEncoder();
    const log = progressLog();
    const first = await runDenseEval(store, dataset.id, 'test', enc, { modelHash: 'sha256:m', chunkSize: 3, onProgress: log.onProgress });
    expect(first).toMatchObject({ datasetName: 'tiny', split: 'test', queries: 2 });
    expect(first.timings).toMatchObject({ cacheHit: false, encodedDocs: 4 });
    expect(enc.texts).toBe(4 + 2);
    expect(log.monotone()).toBe(true);
    expect([...log.stages().keys()]).toEqual(expect.arrayContaining(['dense:encode', 'dense:queries', 'dense:search']));

    const second = await runDenseEval(store, dataset.id, 'test', enc, { modelHash: 'sha256:m', chunkSize: 3 });
    expect(second.timings).toMatchObject({ cacheHit: true, encodedDocs: 0 });
    expect(enc.texts).toBe(6 + 2);
    expect(second.metrics).toEqual(first.metrics);
    expect(await storedEmbeddingKeys(store, dataset.id)).toHaveLength(1);

    const other = await runDenseEval(store, dataset.id, 'test', enc, { modelHash: 'sha256:other', chunkSize: 3 });
    expect(other.timings.cacheHit).toBe(false);
    expect(await storedEmbeddingKeys(store, dataset.id)).toHaveLength(2);

    const runFile = await storedDenseRunFile(store, dataset.id, 'test');
    expect(runFile!.split('\n')[0]).toMatch(/^q1 Q0 d\d 1 \S+ expandr-dense$/);
    await store.deleteDataset(dataset.id);
    expect((await store.countRows()).artifacts).toBe(0);
  });

  it('rejects an unknown split with the splits it has', async () => {
    const { store } = await freshStore('dense-app-2');
    const { dataset } = await importBeir(store, sources(tinyFiles()));
    await expect(runDenseEval(store, dataset.id, 'dev', hashEncoder(), { modelHash: 'x' })).rejects.toThrow(/has no split “dev”; it has test, train/);
  });
});
