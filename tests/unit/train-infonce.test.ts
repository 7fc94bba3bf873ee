// InfoNCE (Eq. 9) and expanded queries (Eq. 8): values and gradients on hand-computable cases and
// against a naive float64 oracle with the analytic gradient dL/dS = (softmax(S) − Y) / B.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { useCpuBackend } from './helpers/tiny-encoder.ts';
import { infoNceLoss, inBatchAccuracy } from '../../src/train/infonce.ts';
import { expandQueries, l2Normalize, prepareDocs } from '../../src/train/expansion.ts';
import { combineExpanded, EXPANSION_NORM_SPECS } from '../../src/retrieval/dense/expanded-query.ts';
import { createRng } from '../../src/util/random.ts';

/** float32 arithmetic against float64 hand values. */
const TOL = 1e-6;

beforeAll(useCpuBackend);

/** Loss and analytic gradients in float64: S = q·dᵀ/τ, L = mean_i −log softmax(S_i)[i]. */
function oracle(q: number[][], d: number[][], tau: number) {
  const B = q.length;
  const N = d.length;
  const dot = (a: number[], b: number[]) => a.reduce((s, x, k) => s + x * b[k], 0);
  const S = q.map((qi) => d.map((dj) => dot(qi, dj) / tau));
  let loss = 0;
  const dS = S.map((row, i) => {
    const mx = Math.max(...row);
    const z = row.reduce((s, x) => s + Math.exp(x - mx), 0);
    loss += -(row[i] - mx - Math.log(z)) / B;
    return row.map((x, j) => (Math.exp(x - mx) / z - (i === j ? 1 : 0)) / B);
  });
  const D = q[0].length;
  const gq = q.map((_, i) => Array.from({ length: D }, (_, k) => d.reduce((s, dj, j) => s + (dS[i][j] * dj[k]) / tau, 0)));
  const gd = d.map((_, j) => Array.from({ length: D }, (_, k) => q.reduce((s, qi, i) => s + (dS[i][j] * qi[k]) / tau, 0)));
  return { loss, gq, gd };
}

function lossAndGrads(q: number[][], d: number[][], tau: number) {
  const qt = tf.tensor2d(q);
  const dt = tf.tensor2d(d);
  const { value, grads } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) => infoNceLoss(a as tf.Tensor2D, b as tf.Tensor2D, tau))([qt, dt]);
  const out = { loss: value.dataSync()[0], gq: grads[0].arraySync() as number[][], gd: grads[1].arraySync() as number[][] };
  tf.dispose([qt, dt, value, ...grads]);
  return out;
}

const expectClose = (a: number[][], b: number[][], tol = TOL) => a.forEach((row, i) => row.forEach((x, j) => expect(Math.abs(x - b[i][j])).toBeLessThanOrEqual(tol)));

describe('infoNceLoss', () => {
  it('2×2 identity scores, τ = 1: loss log(1 + e⁻¹), gradients ±(1 − σ(1))/2 by hand', () => {
    const I = [
      [1, 0],
      [0, 1],
    ];
    const r = lossAndGrads(I, I, 1);
    expect(r.loss).toBeCloseTo(Math.log(1 + Math.exp(-1)), 6); // 0.3132617
    const a = (1 - 1 / (1 + Math.exp(-1))) / 2; // 0.1344707: (p − y) / B, with d = I
    expectClose(r.gq, [
      [-a, a],
      [a, -a],
    ]);
    expectClose(r.gd, [
      [-a, a],
      [a, -a],
    ]);
  });

  it('temperature divides the scores: τ = 0.5 on identity gives log(1 + e⁻²)', () => {
    const I = [
      [1, 0],
      [0, 1],
    ];
    expect(lossAndGrads(I, I, 0.5).loss).toBeCloseTo(Math.log(1 + Math.exp(-2)), 6);
  });

  it('equal scores everywhere: loss log N (N = B·(1+h) documents)', () => {
    const q = [[0, 0], [0, 0], [0, 0]];
    const d = Array.from({ length: 6 }, () => [1, 2]);
    expect(lossAndGrads(q, d, 0.02).loss).toBeCloseTo(Math.log(6), 5);
  });

  it('with hard negatives matches the float64 oracle, value and both gradients', () => {
    const rng = createRng(7);
    const m = (r: number, c: number) => Array.from({ length: r }, () => Array.from({ length: c }, () => rng.normal()));
    const q = m(3, 4);
    const d = m(6, 4); // 3 positives, then 3 hard negatives
    for (const tau of [1, 0.5]) {
      const got = lossAndGrads(q, d, tau);
      const want = oracle(q, d, tau);
      expect(Math.abs(got.loss - want.loss)).toBeLessThanOrEqual(1e-5);
      expectClose(got.gq, want.gq, 1e-5);
      expectClose(got.gd, want.gd, 1e-5);
    }
  });

  it('rejects a document count that is not B·(1+h) and a non-positive τ', () => {
    const q = tf.zeros([2, 3]) as tf.Tensor2D;
    expect(() => infoNceLoss(q, tf.zeros([3, 3]) as tf.Tensor2D, 1)).toThrow(/B·\(1\+h\)/);
    expect(() => infoNceLoss(q, tf.zeros([2, 3]) as tf.Tensor2D, 0)).toThrow(/temperature/);
  });

  it('in-batch accuracy counts queries whose positive scores highest', () => {
    const q = tf.tensor2d([[1, 0], [0, 1]]);
    expect(inBatchAccuracy(q, tf.tensor2d([[1, 0], [0, 1]]))).toBe(1);
    expect(inBatchAccuracy(q, tf.tensor2d([[0, 1], [1, 0]]))).toBe(0);
  });
});

describe('expanded queries (Eq. 8)', () => {
  const q = [[3, 4]];
  const e = [[0, 2]];

  it("'contriever' averages the normalised vectors without renormalising; 'raw' the raw ones", () => {
    const c = expandQueries(tf.tensor2d(q), tf.tensor2d(e), 'contriever').arraySync();
    expectClose(c, [[0.3, 0.9]]); // (0.6, 0.8) and (0, 1) → mean, norm 0.949
    const r = expandQueries(tf.tensor2d(q), tf.tensor2d(e), 'raw').arraySync();
    expectClose(r, [[1.5, 3]]);
    expect(EXPANSION_NORM_SPECS.contriever.temperature).toBe(0.02);
    expect(EXPANSION_NORM_SPECS.raw.temperature).toBe(1);
  });

  it('without an expansion: the query itself (normalised under contriever); documents normalised only under contriever', () => {
    expectClose(expandQueries(tf.tensor2d(q), undefined, 'contriever').arraySync(), [[0.6, 0.8]]);
    expectClose(expandQueries(tf.tensor2d(q), undefined, 'raw').arraySync(), q);
    expectClose(prepareDocs(tf.tensor2d(q), 'contriever').arraySync(), [[0.6, 0.8]]);
    expectClose(prepareDocs(tf.tensor2d(q), 'raw').arraySync(), q);
  });

  it('the array version (query time, src/retrieval/dense/expanded-query.ts) equals the tensor version (training)', () => {
    const rng = createRng(3);
    const n = 5;
    const dim = 6;
    const qa = Float32Array.from({ length: n * dim }, () => rng.normal());
    const ea = Float32Array.from({ length: n * dim }, () => rng.normal());
    for (const v of ['contriever', 'raw'] as const) {
      const t = expandQueries(tf.tensor2d(qa, [n, dim]), tf.tensor2d(ea, [n, dim]), v).dataSync();
      const a = combineExpanded(qa, ea, dim, v);
      a.forEach((x, i) => expect(Math.abs(x - t[i])).toBeLessThanOrEqual(TOL));
      const plain = combineExpanded(qa, ea, dim, v, Array(n).fill(false));
      const tp = expandQueries(tf.tensor2d(qa, [n, dim]), undefined, v).dataSync();
      plain.forEach((x, i) => expect(Math.abs(x - tp[i])).toBeLessThanOrEqual(TOL));
    }
  });

  it('the loss gradient reaches both the query and the expansion embeddings', () => {
    const qt = tf.tensor2d([[1, 0.5], [0.2, 1]]);
    const et = tf.tensor2d([[0.3, 1], [1, -0.4]]);
    const dt = tf.tensor2d([[1, 0], [0, 1]]);
    const { grads } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) =>
      infoNceLoss(expandQueries(a as tf.Tensor2D, b as tf.Tensor2D, 'contriever'), l2Normalize(dt), 0.02),
    )([qt, et]);
    for (const g of grads) expect(Math.max(...Array.from(tf.abs(g).dataSync()))).toBeGreaterThan(0.01);
  });
});
