// Exact dense top-k against a naive float64 oracle: same ids, scores within SCORE_TOL, trec_eval tie
// order, bounded blocks, and no tensor left behind (tf.memory() back to its baseline).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { denseCorpusFromArray, searchDense, MAX_K } from '../../src/retrieval/dense/search.ts';
import { compareCodePoints } from '../../src/eval/ranking.ts';
import { createRng } from '../../src/util/random.ts';
import { CancelledError } from '../../src/errors.ts';
import type { Run } from '../../src/eval/types.ts';

const SCORE_TOL = 1e-5;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function randomData(n: number, dim: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n * dim }, () => rng.normal());
}

/** Every score in float64, full sort by score desc then id desc (code points), cut at k. */
function oracle(ids: string[], docs: Float32Array, qids: string[], qs: Float32Array, dim: number, k: number, normalizeDocs = false): Run {
  const run: Run = new Map();
  const norms = ids.map((_, d) => {
    let s = 0;
    for (let j = 0; j < dim; j++) s += docs[d * dim + j] ** 2;
    return normalizeDocs ? Math.max(Math.sqrt(s), 1e-12) : 1;
  });
  qids.forEach((qid, q) => {
    const hits = ids.map((docId, d) => {
      let s = 0;
      for (let j = 0; j < dim; j++) s += qs[q * dim + j] * docs[d * dim + j];
      return { docId, score: s / norms[d] };
    });
    hits.sort((a, b) => b.score - a.score || compareCodePoints(b.docId, a.docId));
    run.set(qid, hits.slice(0, k));
  });
  return run;
}

function expectSameRun(got: Run, want: Run) {
  expect([...got.keys()]).toEqual([...want.keys()]);
  for (const [qid, hits] of want) {
    const g = got.get(qid)!;
    expect(g.map((h) => h.docId)).toEqual(hits.map((h) => h.docId));
    g.forEach((h, i) => expect(Math.abs(h.score - hits[i].score)).toBeLessThan(SCORE_TOL));
  }
}

describe('searchDense', () => {
  const dim = 16;
  const nDocs = 300;
  const nQ = 7;
  const ids = Array.from({ length: nDocs }, (_, i) => `d${i}`);
  const qids = Array.from({ length: nQ }, (_, i) => `q${i}`);
  const docs = randomData(nDocs, dim, 1);
  const qs = randomData(nQ, dim, 2);

  it.each([
    { k: 10, chunkSize: 1024, max: undefined },
    { k: 50, chunkSize: 64, max: undefined },
    { k: 50, chunkSize: 100, max: 64 }, // many tiny blocks: 4 query rows × 4 doc rows per matmul
    { k: 300, chunkSize: 37, max: 512 },
  ])('matches the float64 oracle (k $k, chunk $chunkSize, max elements $max)', async ({ k, chunkSize, max }) => {
    const run = await searchDense(denseCorpusFromArray(ids, docs, dim, chunkSize), qids, qs, { k, maxMatmulElements: max });
    expectSameRun(run, oracle(ids, docs, qids, qs, dim, k));
  });

  it('normalises documents on request (cosine)', async () => {
    const run = await searchDense(denseCorpusFromArray(ids, docs, dim, 50), qids, qs, { k: 20, normalizeDocs: true, maxMatmulElements: 256 });
    expectSameRun(run, oracle(ids, docs, qids, qs, dim, 20, true));
  });

  it('breaks ties by doc id descending in code-point order, as trec_eval', async () => {
    // Integer vectors: exact in float32, so every tie is a real tie. Docs b, é, a, B, c score 2, 2, 2, 1, 2.
    const tids = ['b', 'é', 'a', 'B', 'c'];
    const v = Float32Array.from([1, 1, 2, 0, 0, 2, 1, 0, 1, 1]);
    const run = await searchDense(denseCorpusFromArray(tids, v, 2, 2), ['q'], Float32Array.from([1, 1]), { k: 3, maxMatmulElements: 2 });
    expect(run.get('q')!.map((h) => h.docId)).toEqual(['é', 'c', 'b']);
  });

  it('returns every document when k exceeds the corpus, and rejects k outside [1, 1000]', async () => {
    const run = await searchDense(denseCorpusFromArray(ids.slice(0, 5), docs.slice(0, 5 * dim), dim), ['q'], qs.slice(0, dim), { k: 10 });
    expect(run.get('q')!.length).toBe(5);
    await expect(searchDense(denseCorpusFromArray(ids, docs, dim), qids, qs, { k: MAX_K + 1 })).rejects.toThrow(/k must be/);
  });

  it('leaves no tensors behind, also when cancelled half-way', async () => {
    const before = tf.memory();
    await searchDense(denseCorpusFromArray(ids, docs, dim, 40), qids, qs, { k: 10, maxMatmulElements: 128, normalizeDocs: true });
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);

    const controller = new AbortController();
    const corpus = denseCorpusFromArray(ids, docs, dim, 40);
    const read = corpus.readVectors;
    corpus.readVectors = async (c) => {
      if (c === 3) controller.abort();
      return read(c);
    };
    await expect(searchDense(corpus, qids, qs, { k: 10, signal: controller.signal })).rejects.toBeInstanceOf(CancelledError);
    expect(tf.memory().numTensors).toBe(before.numTensors);
  });

  it('keeps every matmul operand and result within maxMatmulElements', async () => {
    const max = 100;
    let run: Run | undefined;
    const profile = await tf.profile(async () => {
      run = await searchDense(denseCorpusFromArray(ids, docs, dim, 64), qids, qs, { k: 5, maxMatmulElements: max });
    });
    expectSameRun(run!, oracle(ids, docs, qids, qs, dim, 5));
    const size = (shape: number[]) => shape.reduce((a, d) => a * d, 1);
    const matmuls = profile.kernels.filter((kr) => kr.name === 'BatchMatMul');
    expect(matmuls.length).toBeGreaterThan(20); // 7 queries x 300 docs cannot fit one block of 100
    for (const kr of matmuls) {
      for (const shape of [...kr.inputShapes, ...kr.outputShapes]) expect(size(shape)).toBeLessThanOrEqual(max);
    }
  });
});
