// A full disk (IndexedDB's QuotaExceededError from the Nth put on, fake-indexeddb) in the middle of an
// import, an embedding, a checkpoint and keeping a model: each stops with a StorageFullError that says what
// was being written, how much it still needs and what to do; what it wrote is rolled back (import, model)
// or kept and resumed from (embeddings), or the previous copy stays (checkpoint); and everything stored
// before is read back unchanged.
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { QuotaError, StorageFullError } from '../../src/errors.ts';
import { importBeir, neededBytes } from '../../src/store/import-beir.ts';
import { detectLayout } from '../../src/data/layout.ts';
import { WarningLog } from '../../src/data/warnings.ts';
import { encodeCorpus } from '../../src/retrieval/dense/encode-corpus.ts';
import { MemoryChunkStore } from '../../src/retrieval/dense/chunk-store.ts';
import { StoreChunkStore } from '../../src/retrieval/dense/store-chunks.ts';
import { storeCheckpointSink } from '../../src/train/checkpoint.ts';
import { keepLlmFiles, storedLlmFiles } from '../../src/app/llm-store.ts';
import { modelFilesFromBytes } from '../../src/llm/files.ts';
import type { Store } from '../../src/store/store.ts';
import { hashEncoder } from './helpers/hash-encoder.ts';
import { errorOf, freshStore, jsonl, sources, tinyFiles } from './helpers/beir-files.ts';
import { fakeCheckpoint, quotaFromPut, storedSnapshot } from './helpers/stored-snapshot.ts';

const noQuota = { estimate: undefined, persist: undefined };
const ENC = { modelHash: 'sha256:model', corpusChecksum: 'sha256:corpus', chunkSize: 1 };
/** Bytes per byte of a kept model file, chunked at CHUNK so that it spans several puts. */
const CHUNK = 64;
const modelBytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 13 + seed) & 0xff);

beforeAll(() => tf.setBackend('cpu'));
afterEach(() => vi.restoreAllMocks());

/** A store holding one of everything: a dataset with embeddings and a training checkpoint, and a kept LLM. */
async function storeWithEverything(): Promise<{ store: Store; datasetId: string; llm: string }> {
  const { store } = await freshStore();
  const { dataset } = await importBeir(store, sources(tinyFiles('earlier')), noQuota);
  await encodeCorpus(hashEncoder(), () => store.iterateDocs(dataset.id, 2), new StoreChunkStore(store, dataset.id, 'emb-earlier'), ENC);
  await storeCheckpointSink(store, dataset.id, 'ckpt/earlier').save(fakeCheckpoint(2));
  const files = modelFilesFromBytes({ 'config.json': '{"dim": 8}', 'model.gguf': modelBytes(200, 1) }, 'earlier-llm');
  const llm = await keepLlmFiles(store, files, {}, { chunkBytes: CHUNK });
  return { store, datasetId: dataset.id, llm };
}

let s: Awaited<ReturnType<typeof storeWithEverything>>;
let before: Awaited<ReturnType<typeof storedSnapshot>>;
beforeEach(async () => {
  s = await storeWithEverything();
  before = await storedSnapshot(s.store);
});

describe('a full disk', () => {
  it('mid-import: the partial dataset is removed, the error says how much the import needs, the rest reads back', async () => {
    const corpus = jsonl(Array.from({ length: 400 }, (_, i) => ({ _id: `x${i}`, title: `T${i}`, text: `text ${i}` })));
    const files = sources(tinyFiles('big', { corpus: tinyFiles('big')['big/corpus.jsonl'] + corpus }));
    // How many puts a whole import makes, on a scratch store: the disk fills halfway through.
    const scratch = (await freshStore('scratch')).store;
    const counter = quotaFromPut(Infinity);
    await importBeir(scratch, files, noQuota);
    const puts = counter.mock.calls.length;
    vi.restoreAllMocks();
    expect(puts).toBeGreaterThan(400);

    quotaFromPut(Math.floor(puts / 2));
    // The up-front check passes (it is an estimate); the browser's numbers after the rollback go in the message.
    const err = await errorOf(() => importBeir(s.store, files, { estimate: async () => ({ quota: 2 ** 30, usage: 2 ** 29 }), persist: undefined }));
    vi.restoreAllMocks();
    expect(err).toBeInstanceOf(StorageFullError);
    expect(err).toBeInstanceOf(QuotaError);
    const layout = await detectLayout(files, new WarningLog());
    expect((err as StorageFullError).neededBytes).toBe(neededBytes(layout));
    expect(err.message).toMatch(/^Browser storage is full: importing big needs about [\d.]+ KiB more \(this site now uses 512\.00 MiB\)\. What it had written was removed; your other datasets, models and runs are untouched\. To go on, free space \(delete a dataset, run or model you no longer need in the page, or free disk space\), then import it again\.$/);
    expect((await s.store.countRows()).datasets).toBe(1);
    expect(await storedSnapshot(s.store)).toEqual(before);
  });

  it('at the very first write of an import: nothing is left, not even the dataset row', async () => {
    quotaFromPut(1);
    const err = await errorOf(() => importBeir(s.store, sources(tinyFiles('t')), noQuota));
    vi.restoreAllMocks();
    expect(err).toBeInstanceOf(StorageFullError);
    expect(await s.store.countRows()).toEqual(await s.store.countRows(s.datasetId));
    expect(await storedSnapshot(s.store)).toEqual(before);
  });

  it('mid-embedding: the chunks written stay, encoding resumes after them and ends with what an uninterrupted run stores', async () => {
    const sink = new StoreChunkStore(s.store, s.datasetId, 'emb-other');
    const enc = { ...ENC, modelHash: 'sha256:other' };
    // Puts: manifest, then per chunk ids, vectors, manifest. The 9th is chunk 3's vectors.
    quotaFromPut(9);
    const err = await errorOf(() => encodeCorpus(hashEncoder(), () => s.store.iterateDocs(s.datasetId, 2), sink, enc));
    vi.restoreAllMocks();
    expect(err).toBeInstanceOf(StorageFullError);
    const dim = hashEncoder().dim;
    expect((err as StorageFullError).neededBytes).toBe(2 * (dim * 4 + 32)); // 2 of the 4 documents left
    expect(err.message).toMatch(/^Browser storage is full: storing embedding chunk 3 of the corpus embeddings needs about .* more\. The 2 chunk\(s\) stored before it are kept\. .* then run it again: encoding resumes at chunk 3\.$/);
    expect((await sink.readManifest())).toMatchObject({ chunksDone: 2, complete: false });

    const resumed = await encodeCorpus(hashEncoder(), () => s.store.iterateDocs(s.datasetId, 2), sink, enc);
    expect(resumed).toMatchObject({ reusedChunks: 2, encodedDocs: 2 });
    const reference = new MemoryChunkStore();
    await encodeCorpus(hashEncoder(), () => s.store.iterateDocs(s.datasetId, 2), reference, enc);
    for (let c = 0; c < 4; c++) {
      expect(await sink.readIds(c)).toEqual(await reference.readIds(c));
      expect(await sink.readVectors(c)).toEqual(await reference.readVectors(c));
    }
    expect(await storedSnapshot(s.store, (k) => k.startsWith('emb-other:'))).toEqual(before);
  });

  it('mid-checkpoint: the new checkpoint is not written and the previous one loads as it was', async () => {
    const sink = storeCheckpointSink(s.store, s.datasetId, 'ckpt/earlier');
    quotaFromPut(1);
    const err = await errorOf(() => sink.save(fakeCheckpoint(3)));
    vi.restoreAllMocks();
    expect(err).toBeInstanceOf(StorageFullError);
    expect((err as StorageFullError).neededBytes).toBeGreaterThan(5 * 12 * 4); // its weights and moments at least
    expect(err.message).toMatch(/saving training checkpoint ckpt\/earlier needs about .* The previous checkpoint is kept as it was: training can resume from it\..* then train again/);
    expect(await sink.latest()).toEqual(fakeCheckpoint(2));
    expect(await storedSnapshot(s.store)).toEqual(before);
  });

  it('mid-way through keeping a model: what it stored is removed, and the model kept before still loads', async () => {
    const files = modelFilesFromBytes({ 'config.json': '{"dim": 9}', 'model.gguf': modelBytes(300, 2) }, 'new-llm');
    quotaFromPut(4); // config.json and two chunks in, the third chunk fails
    const err = await errorOf(() => keepLlmFiles(s.store, files, {}, { chunkBytes: CHUNK }));
    vi.restoreAllMocks();
    expect(err).toBeInstanceOf(StorageFullError);
    expect((err as StorageFullError).neededBytes).toBe(300 + '{"dim": 9}'.length);
    expect(err.message).toMatch(/keeping new-llm needs about 310 B more\. What it had stored was removed/);
    expect(await storedSnapshot(s.store)).toEqual(before);
    const earlier = (await storedLlmFiles(s.store, s.llm, ''))!;
    expect(await earlier.read('model.gguf')).toEqual(modelBytes(200, 1));
  });
});
