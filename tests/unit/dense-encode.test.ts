// Corpus encoding into chunk stores: resume after a cancel gives exactly what an uninterrupted run
// gives, a finished set is reused without encoding, and a different model or corpus is re-encoded.
// Memory, IndexedDB (fake-indexeddb) and file (Node) chunk stores.
import * as tf from '@tensorflow/tfjs-core';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCorpus } from '../../src/retrieval/dense/encode-corpus.ts';
import { MemoryChunkStore, embeddingCacheKey, type ChunkStore } from '../../src/retrieval/dense/chunk-store.ts';
import { StoreChunkStore } from '../../src/retrieval/dense/store-chunks.ts';
import { FileChunkStore } from '../../src/retrieval/dense/file-chunks-node.ts';
import { denseCorpusFromStore } from '../../src/retrieval/dense/search.ts';
import { importBeir } from '../../src/store/import-beir.ts';
import { CancelledError } from '../../src/errors.ts';
import { flatText, type BeirDoc } from '../../src/data/types.ts';
import { hashEncoder } from './helpers/hash-encoder.ts';
import { freshStore, progressLog, sources, tinyFiles } from './helpers/beir-files.ts';

const DOCS: BeirDoc[] = Array.from({ length: 23 }, (_, i) => ({ id: `doc${i}`, title: i % 3 ? `Title ${i}` : '', text: `words of document ${i} about topic ${i % 5}` }));
const ID = { modelHash: 'sha256:model', corpusChecksum: 'sha256:corpus', chunkSize: 5 };

let tmp: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  tmp = await mkdtemp(join(tmpdir(), 'expandr-emb-'));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

async function readAll(store: ChunkStore) {
  const m = (await store.readManifest())!;
  const ids: string[] = [];
  const vecs: number[] = [];
  for (let c = 0; c < m.chunksDone; c++) {
    ids.push(...(await store.readIds(c)));
    vecs.push(...(await store.readVectors(c)));
  }
  return { m, ids, vecs };
}

/** Encodes DOCS uninterrupted, then again into `store` with a cancel after `cancelAfterTexts`, then resumes. */
async function cancelAndResume(store: ChunkStore, cancelAfterTexts: number) {
  const reference = new MemoryChunkStore();
  await encodeCorpus(hashEncoder(), DOCS, reference, ID);

  const controller = new AbortController();
  const enc = hashEncoder({ onBatch: () => enc.texts >= cancelAfterTexts && controller.abort() });
  const first = encodeCorpus(enc, DOCS, store, { ...ID, batchSize: 2, signal: controller.signal });
  await expect(first).rejects.toBeInstanceOf(CancelledError);
  const partial = (await store.readManifest())!;
  expect(partial.complete).toBe(false);
  expect(partial.chunksDone).toBe(Math.floor(cancelAfterTexts / 5));

  const log = progressLog();
  const resumed = await encodeCorpus(hashEncoder(), DOCS, store, { ...ID, onProgress: log.onProgress, totalDocs: DOCS.length });
  expect(resumed.reusedChunks).toBe(partial.chunksDone);
  expect(resumed.encodedDocs).toBe(DOCS.length - partial.chunksDone * 5);
  expect(log.monotone()).toBe(true);
  expect(log.events.at(-1)).toMatchObject({ done: DOCS.length, total: DOCS.length });
  const got = await readAll(store);
  const want = await readAll(reference);
  expect(got.ids).toEqual(want.ids);
  expect(got.vecs).toEqual(want.vecs); // bit-identical
  expect(got.m).toEqual(want.m);
}

describe('encodeCorpus', () => {
  it('stores title + text with the document prefix, in chunks, with a manifest', async () => {
    const enc = hashEncoder({ settings: { docPrefix: 'passage: ' } });
    const store = new MemoryChunkStore();
    const r = await encodeCorpus(enc, DOCS, store, ID);
    expect(r.manifest).toMatchObject({ complete: true, chunksDone: 5, docsDone: 23, dim: 8, chunkSize: 5, modelHash: 'sha256:model' });
    const { ids, vecs } = await readAll(store);
    expect(ids).toEqual(DOCS.map((d) => d.id));
    const direct = await hashEncoder({ settings: { docPrefix: 'passage: ' } }).encode(DOCS.map(flatText), 'doc');
    expect(vecs).toEqual([...direct]);
  });

  it('resumes after a cancel with exactly the uninterrupted result (memory store)', () => cancelAndResume(new MemoryChunkStore(), 12));

  it('resumes after a cancel with exactly the uninterrupted result (file store, new instance)', async () => {
    const root = join(tmp, 'resume');
    const key = embeddingCacheKey({ ...ID, settings: hashEncoder().settings });
    // A second FileChunkStore on the same folder plays the restarted process.
    const stores = [new FileChunkStore(root, key), new FileChunkStore(root, key)];
    let n = 0;
    const alternating: ChunkStore = new Proxy(stores[0], { get: (_t, p) => { const s = stores[n++ % 2] as unknown as Record<string | symbol, unknown>; const v = s[p]; return typeof v === 'function' ? v.bind(s) : v; } });
    await cancelAndResume(alternating, 17);
  });

  it('resumes after a cancel in IndexedDB (artifacts of the dataset)', async () => {
    const { store } = await freshStore('emb');
    const { dataset } = await importBeir(store, sources(tinyFiles()));
    await cancelAndResume(new StoreChunkStore(store, dataset.id, 'emb-test'), 7);
    await store.deleteDataset(dataset.id);
    expect((await store.countRows()).artifacts).toBe(0);
  });

  it('reuses a complete set without reading the corpus or encoding', async () => {
    const store = new MemoryChunkStore();
    await encodeCorpus(hashEncoder(), DOCS, store, ID);
    const writes = store.writes;
    const enc = hashEncoder();
    const again = await encodeCorpus(enc, () => { throw new Error('corpus read'); }, store, ID);
    expect(again).toMatchObject({ reusedChunks: 5, encodedDocs: 0 });
    expect(enc.texts).toBe(0);
    expect(store.writes).toBe(writes);
  });

  it('starts over for another model, other settings or another corpus', async () => {
    const store = new MemoryChunkStore();
    await encodeCorpus(hashEncoder(), DOCS, store, ID);
    for (const [enc, id] of [
      [hashEncoder(), { ...ID, modelHash: 'sha256:other' }],
      [hashEncoder({ settings: { normalize: true } }), ID],
      [hashEncoder(), { ...ID, corpusChecksum: 'sha256:c2' }],
    ] as const) {
      const r = await encodeCorpus(enc, DOCS, store, id);
      expect(r).toMatchObject({ reusedChunks: 0, encodedDocs: 23 });
    }
  });

  it('restarts a resume whose stored ids do not match the corpus (same checksum)', async () => {
    const store = new MemoryChunkStore();
    const controller = new AbortController();
    const enc = hashEncoder({ onBatch: () => enc.texts >= 10 && controller.abort() });
    await expect(encodeCorpus(enc, DOCS, store, { ...ID, signal: controller.signal, batchSize: 5 })).rejects.toThrow(CancelledError);
    const shuffled = [...DOCS].reverse();
    const r = await encodeCorpus(hashEncoder(), () => shuffled, store, ID);
    expect(r).toMatchObject({ reusedChunks: 0, encodedDocs: 23 });
    expect((await readAll(store)).ids).toEqual(shuffled.map((d) => d.id));
    const corpus = await denseCorpusFromStore(store);
    expect(corpus.ids.length).toBe(23);
  });

  it('handles an empty corpus and a corpus of exactly one chunk', async () => {
    const empty = await encodeCorpus(hashEncoder(), [], new MemoryChunkStore(), ID);
    expect(empty.manifest).toMatchObject({ complete: true, chunksDone: 0, docsDone: 0 });
    const one = await encodeCorpus(hashEncoder(), DOCS.slice(0, 5), new MemoryChunkStore(), ID);
    expect(one.manifest).toMatchObject({ complete: true, chunksDone: 1, docsDone: 5 });
  });
});
