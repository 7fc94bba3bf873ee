// Corpus embeddings at float16 / int8: the codec's error bounds, its header checks, the precision-wrapped
// chunk stores (memory, files) through encodeCorpus and the search, and packing from cached float32 sets.
import * as tf from '@tensorflow/tfjs-core';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  F16_MAX_ABS_ERROR_SUBNORMAL,
  F16_MAX_RELATIVE_ERROR,
  INT8_MAX_ERROR_PER_MAX_ABS,
  bytesPerRow,
  fromHalfBits,
  packVectors,
  parsePrecision,
  toHalfBits,
  unpackVectors,
  type EmbeddingPrecision,
} from '../../src/retrieval/dense/precision.ts';
import { PrecisionChunkStore, precisionStore, quantizeStored } from '../../src/retrieval/dense/precision-store.ts';
import { MemoryChunkStore, embeddingCacheKey, type ChunkStore } from '../../src/retrieval/dense/chunk-store.ts';
import { FileChunkStore } from '../../src/retrieval/dense/file-chunks-node.ts';
import { encodeCorpus } from '../../src/retrieval/dense/encode-corpus.ts';
import { denseCorpusFromStore, searchDense } from '../../src/retrieval/dense/search.ts';
import type { BeirDoc } from '../../src/data/types.ts';
import { createRng } from '../../src/util/random.ts';
import { hashEncoder } from './helpers/hash-encoder.ts';
import { freshStore, sources, tinyFiles } from './helpers/beir-files.ts';
import { runDenseEval } from '../../src/retrieval/dense/evaluate.ts';
import { storedEmbeddingKeys } from '../../src/retrieval/dense/store-chunks.ts';
import { importBeir } from '../../src/store/import-beir.ts';

const DOCS: BeirDoc[] = Array.from({ length: 23 }, (_, i) => ({ id: `doc${i}`, title: '', text: `words of document ${i} about topic ${i % 5} and ${i % 7}` }));
const ID = { modelHash: 'sha256:model', corpusChecksum: 'sha256:corpus', chunkSize: 5 };

let tmp: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  tmp = await mkdtemp(join(tmpdir(), 'expandr-precision-'));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

function randomRows(rows: number, dim: number, scale: number, seed = 3): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: rows * dim }, () => rng.normal() * scale);
}

async function readAll(store: ChunkStore): Promise<Float32Array> {
  const m = (await store.readManifest())!;
  const parts: number[] = [];
  for (let c = 0; c < m.chunksDone; c++) parts.push(...(await store.readVectors(c)));
  return Float32Array.from(parts);
}

describe('float16 bits', () => {
  it('encodes known values, rounding ties to even, with overflow, subnormals, signed zero and NaN', () => {
    expect(toHalfBits(1)).toBe(0x3c00);
    expect(toHalfBits(-2)).toBe(0xc000);
    expect(toHalfBits(65504)).toBe(0x7bff); // largest finite
    expect(toHalfBits(65520)).toBe(0x7c00); // rounds up past it: Infinity
    expect(toHalfBits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(toHalfBits(2 ** -26)).toBe(0x0000); // below half of it: zero
    expect(toHalfBits(3 * 2 ** -26)).toBe(0x0001); // above half: rounds up to it
    expect(toHalfBits(2 ** -14)).toBe(0x0400); // smallest normal
    expect(toHalfBits(1 + 2 ** -11)).toBe(0x3c00); // tie, even mantissa stays
    expect(toHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie, odd mantissa rounds up
    expect(toHalfBits(-0)).toBe(0x8000);
    expect(Number.isNaN(fromHalfBits(toHalfBits(NaN)))).toBe(true);
    expect(fromHalfBits(toHalfBits(-Infinity))).toBe(-Infinity);
  });

  it('decodes every finite half back to itself', () => {
    for (let h = 0; h < 0x10000; h++) {
      const x = fromHalfBits(h);
      if (Number.isFinite(x) && !(x === 0 && h === 0x8000)) expect(toHalfBits(x)).toBe(h);
    }
  });
});

describe('packing', () => {
  const dim = 384;
  it('f16 keeps every value within its relative bound (normal range) or absolute bound (subnormal)', () => {
    for (const scale of [1, 0.05, 1e-5]) {
      const v = randomRows(40, dim, scale);
      const back = unpackVectors(packVectors(v, dim, 'f16'), dim, 'f16');
      for (let i = 0; i < v.length; i++) {
        const err = Math.abs(back[i]! - v[i]!);
        const bound = Math.abs(v[i]!) >= 2 ** -14 ? F16_MAX_RELATIVE_ERROR * Math.abs(v[i]!) : F16_MAX_ABS_ERROR_SUBNORMAL;
        expect(err).toBeLessThanOrEqual(bound);
      }
    }
  });

  it('int8 keeps every value within 1/254 of its row’s largest magnitude, and an all-zero row at zero', () => {
    const v = randomRows(40, dim, 0.05);
    v.fill(0, 7 * dim, 8 * dim);
    const back = unpackVectors(packVectors(v, dim, 'int8'), dim, 'int8');
    let worst = 0;
    for (let r = 0; r < 40; r++) {
      let max = 0;
      for (let j = 0; j < dim; j++) max = Math.max(max, Math.abs(v[r * dim + j]!));
      for (let j = 0; j < dim; j++) {
        const err = Math.abs(back[r * dim + j]! - v[r * dim + j]!);
        expect(err).toBeLessThanOrEqual(INT8_MAX_ERROR_PER_MAX_ABS * max * (1 + 1e-6)); // float32 scale rounding
        if (max > 0) worst = Math.max(worst, err / max);
      }
    }
    expect(worst).toBeGreaterThan(INT8_MAX_ERROR_PER_MAX_ABS / 2); // the bound is near what happens, not loose
    expect([...back.subarray(7 * dim, 8 * dim)].every((x) => x === 0)).toBe(true);
  });

  it('stores the bytes per row it promises, and f32 is the array itself', () => {
    const v = randomRows(10, dim, 1);
    expect(packVectors(v, dim, 'f32')).toBe(v);
    for (const p of ['f16', 'int8'] as const) expect(packVectors(v, dim, p).byteLength - 12).toBe(10 * bytesPerRow(p, dim));
    expect(bytesPerRow('f32', dim) / bytesPerRow('int8', dim)).toBeGreaterThan(3.9);
  });

  it('refuses words packed at another precision or width, or cut short, naming the fix', () => {
    const v = randomRows(3, 8, 1);
    const f16 = packVectors(v, 8, 'f16');
    expect(() => unpackVectors(f16, 8, 'int8', 'chunk 1')).toThrow(/chunk 1: not packed as int8.*encode the corpus again/);
    expect(() => unpackVectors(f16, 4, 'f16')).toThrow(/dimension 8, expected 4/);
    expect(() => unpackVectors(f16.slice(0, f16.length - 1), 8, 'f16')).toThrow(/words for 3 rows/);
    expect(() => unpackVectors(v, 8, 'f16')).toThrow(/not packed as f16/); // float32 rows read as packed
    expect(() => packVectors(v, 5, 'f16')).toThrow(/not rows of dimension 5/);
  });

  it('parses the flag values and names the choices otherwise', () => {
    expect(parsePrecision(undefined)).toBe('f32');
    expect(parsePrecision('int8')).toBe('int8');
    expect(() => parsePrecision('bf16')).toThrow(/one of f32, f16, int8, got "bf16"/);
  });
});

describe('precision chunk stores', () => {
  it('keeps the f32 cache key as before and gives each lower precision its own', () => {
    const settings = hashEncoder().settings;
    const base = embeddingCacheKey({ ...ID, settings });
    expect(embeddingCacheKey({ ...ID, settings, precision: 'f32' })).toBe(base);
    const keys = new Set([base, embeddingCacheKey({ ...ID, settings, precision: 'f16' }), embeddingCacheKey({ ...ID, settings, precision: 'int8' })]);
    expect(keys.size).toBe(3);
  });

  for (const precision of ['f16', 'int8'] as const) {
    it(`encodes into a ${precision} file store within the bound, smaller on disk, and reuses it`, async () => {
      const dim = 32;
      const reference = new MemoryChunkStore();
      await encodeCorpus(hashEncoder({ dim }), DOCS, reference, ID);
      const f32 = await readAll(reference);
      const settings = hashEncoder({ dim }).settings;
      const dir = join(tmp, precision);
      const sink = precisionStore(new FileChunkStore(dir, embeddingCacheKey({ ...ID, settings, precision })), precision);
      const r = await encodeCorpus(hashEncoder({ dim }), DOCS, sink, ID);
      expect(r.manifest).toMatchObject({ precision, complete: true, docsDone: DOCS.length });
      const got = await readAll(sink);
      expect(got.length).toBe(f32.length);
      for (let i = 0; i < f32.length; i++) {
        const row = Math.floor(i / dim);
        const max = Math.max(...f32.subarray(row * dim, (row + 1) * dim).map(Math.abs));
        const bound = precision === 'f16' ? F16_MAX_RELATIVE_ERROR * Math.abs(f32[i]!) + F16_MAX_ABS_ERROR_SUBNORMAL : INT8_MAX_ERROR_PER_MAX_ABS * max * (1 + 1e-6);
        expect(Math.abs(got[i]! - f32[i]!)).toBeLessThanOrEqual(bound);
      }
      const files = (await readdir(join(dir, embeddingCacheKey({ ...ID, settings, precision })))).filter((f) => f.endsWith('.f32'));
      let bytes = 0;
      for (const f of files) bytes += (await stat(join(dir, embeddingCacheKey({ ...ID, settings, precision }), f))).size;
      expect(bytes).toBe(DOCS.length * bytesPerRow(precision, dim) + files.length * 12);
      const again = await encodeCorpus(hashEncoder({ dim }), DOCS, sink, ID);
      expect(again.encodedDocs).toBe(0);
    });
  }

  it('does not reuse a set stored at another precision: it is encoded again', async () => {
    const inner = new MemoryChunkStore();
    await encodeCorpus(hashEncoder(), DOCS, new PrecisionChunkStore(inner, 'f16'), ID);
    const r = await encodeCorpus(hashEncoder(), DOCS, new PrecisionChunkStore(inner, 'int8'), ID);
    expect(r.encodedDocs).toBe(DOCS.length);
    expect(inner.manifest?.precision).toBe('int8');
  });

  it('packs complete f32 embeddings instead of encoding, and searches them like the f32 set', async () => {
    const f32 = new MemoryChunkStore();
    await encodeCorpus(hashEncoder(), DOCS, f32, ID);
    const sink = new PrecisionChunkStore(new MemoryChunkStore(), 'f16');
    const refusing = hashEncoder({ onBatch: () => { throw new Error('encoded although f32 embeddings were there'); } });
    const r = await encodeCorpus(refusing, DOCS, sink, { ...ID, quantizeFrom: f32 });
    expect(r.encodedDocs).toBe(0);
    expect(r.manifest).toMatchObject({ precision: 'f16', complete: true, chunksDone: 5, docsDone: DOCS.length });
    const q = randomRows(4, 8, 1, 9);
    const ids = ['a', 'b', 'c', 'd'];
    const want = await searchDense(await denseCorpusFromStore(f32), ids, q, { k: 5 });
    const got = await searchDense(await denseCorpusFromStore(sink), ids, q, { k: 5 });
    for (const id of ids) expect(got.get(id)!.map((h) => h.docId)).toEqual(want.get(id)!.map((h) => h.docId));
  });

  it('leaves a complete target alone and derives nothing from an incomplete or other source', async () => {
    const settings = hashEncoder().settings;
    const identity = { ...ID, settings, precision: 'int8' as EmbeddingPrecision };
    const empty = new MemoryChunkStore();
    const sink = new PrecisionChunkStore(new MemoryChunkStore(), 'int8');
    expect(await quantizeStored(empty, sink, identity)).toBe(false);
    const other = new MemoryChunkStore();
    await encodeCorpus(hashEncoder(), DOCS, other, { ...ID, corpusChecksum: 'sha256:another' });
    expect(await quantizeStored(other, sink, identity)).toBe(false);
    const f32 = new MemoryChunkStore();
    await encodeCorpus(hashEncoder(), DOCS, f32, ID);
    expect(await quantizeStored(f32, sink, identity)).toBe(true);
    expect(await quantizeStored(f32, sink, identity)).toBe(false);
  });

  it('the page (runDenseEval) keeps an int8 set beside the f32 one, packed from it without encoding', async () => {
    const { store } = await freshStore('dense-precision-app');
    const { dataset } = await importBeir(store, sources(tinyFiles()));
    const enc = hashEncoder();
    const f32 = await runDenseEval(store, dataset.id, 'test', enc, { modelHash: 'sha256:m', chunkSize: 3 });
    const int8 = await runDenseEval(store, dataset.id, 'test', enc, { modelHash: 'sha256:m', chunkSize: 3, precision: 'int8' });
    expect(int8.timings).toMatchObject({ cacheHit: true, encodedDocs: 0 });
    expect(enc.texts).toBe(4 + 2 + 2); // documents once, the queries of each run
    expect(await storedEmbeddingKeys(store, dataset.id)).toHaveLength(2);
    expect(int8.queries).toBe(f32.queries);
  });
});
