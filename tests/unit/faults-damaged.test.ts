// Damaged records in IndexedDB (fake-indexeddb): an embedding chunk, a training checkpoint, a cached model
// file and a chunk of a kept .gguf, each altered by one byte or truncated behind the store's back. The read
// throws DamagedDataError naming the record and the fix, the data is never handed over, the damaged set is
// removed so that the next run recomputes it, and records written before checksums still load.
import * as tf from '@tensorflow/tfjs-core';
import { IDBObjectStore as FakeObjectStore } from 'fake-indexeddb';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DamagedDataError } from '../../src/errors.ts';
import { importBeir } from '../../src/store/import-beir.ts';
import { isSealed, type Sealed } from '../../src/store/sealed.ts';
import { encodeCorpus } from '../../src/retrieval/dense/encode-corpus.ts';
import { MemoryChunkStore } from '../../src/retrieval/dense/chunk-store.ts';
import { StoreChunkStore } from '../../src/retrieval/dense/store-chunks.ts';
import { denseCorpusFromStore, searchDense } from '../../src/retrieval/dense/search.ts';
import { storeCheckpointSink } from '../../src/train/checkpoint.ts';
import { keepLlmFiles, storedLlmFiles } from '../../src/app/llm-store.ts';
import { modelFilesFromBytes } from '../../src/llm/files.ts';
import { chunkEntry } from '../../src/model/chunked-file.ts';
import { MODEL_MANIFEST, readCachedModel, storeModelCache, writeCachedModel } from '../../src/model/sources-cache.ts';
import type { Store } from '../../src/store/store.ts';
import { hashEncoder } from './helpers/hash-encoder.ts';
import { errorOf, freshStore, sources, tinyFiles } from './helpers/beir-files.ts';
import { fakeCheckpoint } from './helpers/stored-snapshot.ts';

const ENC = { modelHash: 'sha256:model', corpusChecksum: 'sha256:corpus', chunkSize: 2 };
const KEY = 'emb-test';

beforeAll(() => tf.setBackend('cpu'));
afterEach(() => vi.restoreAllMocks());

async function withEmbeddings(): Promise<{ store: Store; id: string; sink: StoreChunkStore }> {
  const { store } = await freshStore();
  const { dataset } = await importBeir(store, sources(tinyFiles('t')), { estimate: undefined, persist: undefined });
  const sink = new StoreChunkStore(store, dataset.id, KEY);
  await encodeCorpus(hashEncoder(), () => store.iterateDocs(dataset.id, 2), sink, ENC);
  return { store, id: dataset.id, sink };
}

/** Rewrites a stored artifact behind the sink's back (what a damaged disk or a bad write leaves). */
async function tamper<T>(store: Store, id: string, key: string, change: (sealed: Sealed<T>) => void): Promise<void> {
  const raw = await store.getArtifact<Sealed<T>>(id, key);
  expect(isSealed(raw)).toBe(true);
  change(raw!);
  await store.putArtifact(id, key, raw);
}

describe('a damaged embedding chunk', () => {
  it.each([
    ['one float changed', (s: Sealed<Float32Array>) => void (s.value[1] += 1e-3), /Embedding chunk 2 \(vectors\) of emb-test .*damaged in this browser's storage: its checksum is fnv1a32:\w{8}, not the fnv1a32:\w{8} written/],
    ['truncated', (s: Sealed<Float32Array>) => void (s.value = s.value.subarray(0, 5)), /Embedding chunk 2 \(vectors\) .*holds 20 bytes of content, not the \d+ written/],
  ])('is refused when %s, the set is removed, and the next run encodes it afresh', async (_what, change, message) => {
    const { store, id, sink } = await withEmbeddings();
    await tamper(store, id, `${KEY}:vec:1`, change);
    const corpus = await denseCorpusFromStore(sink); // ids only: vectors are read (and checked) by the search
    const err = await errorOf(() => searchDense(corpus, ['q1'], new Float32Array(corpus.dim).fill(1), { k: 3 }));
    expect(err).toBeInstanceOf(DamagedDataError);
    expect(err.message).toMatch(message);
    expect(err.message).toMatch(/The stored embeddings of this model were removed: run the evaluation again to encode the corpus afresh$/);
    expect((await store.listArtifacts(id)).filter((k) => k.startsWith(KEY))).toEqual([]);

    const again = await encodeCorpus(hashEncoder(), () => store.iterateDocs(id, 2), sink, ENC);
    expect(again).toMatchObject({ reusedChunks: 0, encodedDocs: 4 });
    const reference = new MemoryChunkStore();
    await encodeCorpus(hashEncoder(), () => store.iterateDocs(id, 2), reference, ENC);
    expect(await sink.readVectors(1)).toEqual(await reference.readVectors(1));
  });

  it('is refused when an id changed, and when the manifest changed', async () => {
    const { store, id, sink } = await withEmbeddings();
    await tamper<string[]>(store, id, `${KEY}:ids:0`, (s) => void (s.value[0] = 'd9'));
    expect(await errorOf(() => sink.readIds(0))).toBeInstanceOf(DamagedDataError);
    const fresh = await withEmbeddings();
    await tamper<{ docsDone: number }>(fresh.store, fresh.id, `${KEY}:manifest`, (s) => void (s.value.docsDone = 3));
    expect((await errorOf(() => fresh.sink.readManifest())).message).toMatch(/^Embedding manifest of emb-test .*checksum/);
  });

  it('that the browser cannot read back (a large value whose file went missing) is reported the same way', async () => {
    const { sink } = await withEmbeddings();
    vi.spyOn(FakeObjectStore.prototype, 'get').mockImplementationOnce(() => {
      throw new DOMException('Failed to read large IndexedDB value', 'NotReadableError');
    });
    const err = await errorOf(() => sink.readVectors(0));
    expect(err).toBeInstanceOf(DamagedDataError);
    expect(err.message).toMatch(/Embedding chunk 1 \(vectors\) .*the browser cannot read it back \(NotReadableError: Failed to read large IndexedDB value\)/);
  });

  it('written before checksums (a plain value) is read unverified', async () => {
    const { store, id, sink } = await withEmbeddings();
    const raw = (await store.getArtifact<Sealed<Float32Array>>(id, `${KEY}:vec:0`))!;
    await store.putArtifact(id, `${KEY}:vec:0`, raw.value);
    expect(await sink.readVectors(0)).toEqual(raw.value);
  });
});

describe('a damaged training checkpoint', () => {
  it('is refused (one weight byte changed), removed, and training then starts afresh; the previous value is never returned', async () => {
    const { store, id } = await withEmbeddings();
    const sink = storeCheckpointSink(store, id, 'ckpt/r');
    await sink.save(fakeCheckpoint(3));
    expect(await sink.latest()).toEqual(fakeCheckpoint(3));
    await tamper<ReturnType<typeof fakeCheckpoint>>(store, id, 'ckpt/r', (s) => {
      const bytes = new Uint8Array(s.value.optimizer.m[0]!.buffer);
      bytes[5] ^= 0x10;
    });
    const err = await errorOf(() => sink.latest());
    expect(err).toBeInstanceOf(DamagedDataError);
    expect(err.message).toMatch(/^Training checkpoint ckpt\/r \(dataset .*\): damaged in this browser's storage: its checksum .* It was removed: train again to start this training afresh$/);
    expect(await sink.latest()).toBeUndefined();
  });

  it('saved before checksums (the checkpoint itself as the record) still loads', async () => {
    const { store, id } = await withEmbeddings();
    await store.putArtifact(id, 'ckpt/old', fakeCheckpoint(1));
    expect(await storeCheckpointSink(store, id, 'ckpt/old').latest()).toEqual(fakeCheckpoint(1));
  });
});

describe('a damaged cached model file', () => {
  const files = new Map([
    ['config.json', new TextEncoder().encode('{"hidden_size": 8}')],
    ['model.safetensors', Uint8Array.from({ length: 100 }, (_, i) => i)],
  ]);

  it('is refused (one byte changed or the file truncated) and the model removed, so that loading it again fetches it afresh', async () => {
    for (const change of [(b: Uint8Array) => (b[40] ^= 1, b), (b: Uint8Array) => b.slice(0, 60)]) {
      const { store } = await freshStore();
      const cache = storeModelCache(store);
      await writeCachedModel(cache, 'hf:org/m', 'main', files);
      expect(await readCachedModel(cache, 'hf:org/m', 'main')).toEqual(files);
      await store.putModelFile('hf:org/m', 'main', 'model.safetensors', change(files.get('model.safetensors')!.slice()));
      const err = await errorOf(() => readCachedModel(cache, 'hf:org/m', 'main'));
      expect(err).toBeInstanceOf(DamagedDataError);
      expect(err.message).toBe(
        'model.safetensors (kept in this browser as hf:org/m): the stored copy is damaged: its SHA-256 differs from the one recorded when it was stored. ' +
          'It was removed from this browser: load the model again (a Hub model is downloaded afresh; a dropped one must be dropped again)',
      );
      expect(await store.listModelFiles()).toEqual([]);
    }
  });

  it('cached before checksums (a manifest without them) loads unverified', async () => {
    const { store } = await freshStore();
    const cache = storeModelCache(store);
    for (const [n, b] of files) await cache.put('hf:org/m', 'main', n, b);
    await cache.put('hf:org/m', 'main', MODEL_MANIFEST, new TextEncoder().encode(JSON.stringify({ files: [...files.keys()], savedAt: 0 })));
    expect(await readCachedModel(cache, 'hf:org/m', 'main')).toEqual(files);
  });

  it('in a kept .gguf (one chunk changed) is refused when that range is read, naming the file and the fix', async () => {
    const { store } = await freshStore();
    const gguf = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff);
    const source = await keepLlmFiles(store, modelFilesFromBytes({ 'm.gguf': gguf }, 'llm'), {}, { chunkBytes: 64 });
    const part = (await store.getModelFile(source, '', chunkEntry('m.gguf', 2)))!.slice();
    part[0] ^= 0xff;
    await store.putModelFile(source, '', chunkEntry('m.gguf', 2), part);
    const kept = (await storedLlmFiles(store, source, ''))!;
    expect(await kept.readRange!('m.gguf', 0, 100)).toEqual(gguf.subarray(0, 100));
    const err = await errorOf(() => kept.readRange!('m.gguf', 120, 20));
    expect(err).toBeInstanceOf(DamagedDataError);
    expect(err.message).toMatch(/^m\.gguf \(kept in this browser as local:sha256:\w+\): the stored copy is damaged: part 3 of 5 does not match its SHA-256\. Drop the file again to store a fresh copy$/);
  });
});
