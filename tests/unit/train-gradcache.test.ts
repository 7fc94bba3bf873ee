// GradCache (Gao et al. 2021) against plain full-batch backprop: the same gradients (dropout off) with
// peak tensor memory bounded by the chunk size, measured with tf.profile.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { tinyEncoder, useCpuBackend } from './helpers/tiny-encoder.ts';
import { batchGrads, chunkRanges, fullBatchGrads, gradCacheGrads, textGroup, type GradResult, type RepLoss } from '../../src/train/gradcache.ts';
import { expandQueries, prepareDocs } from '../../src/train/expansion.ts';
import { infoNceLoss } from '../../src/train/infonce.ts';
import type { Encoder } from '../../src/encoder/types.ts';
import { createRng } from '../../src/util/random.ts';

/** Max |Δgrad| allowed: float32 sums taken in another order (chunks, then a sum over chunks). */
const GRAD_TOL = 1e-5;

beforeAll(useCpuBackend);

const WORDS = 'cell protein gene cancer risk study patients increase reduce effect vitamin dense retrieval query passage model training batch'.split(' ');
function texts(n: number, words: number, seed: number): string[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => Array.from({ length: words }, () => WORDS[rng.int(WORDS.length)] + rng.int(40)).join(' '));
}

/** A supervised batch of B queries, B expansions, B positives + B hard negatives; the Eq. 8–9 loss. */
function batch(enc: Encoder, B: number, words = 12) {
  const groups = [
    textGroup(enc, texts(B, 6, 1), 'query', false, 0),
    textGroup(enc, texts(B, words, 2), 'query', false, 0),
    textGroup(enc, texts(2 * B, words, 3), 'doc', false, 0),
  ];
  const loss: RepLoss = ([q, e, d]) => tf.tidy(() => infoNceLoss(expandQueries(q, e, 'contriever'), prepareDocs(d, 'contriever'), 0.02));
  return { groups, loss };
}

function maxDiff(a: GradResult, b: GradResult): { abs: number; scale: number } {
  let abs = 0;
  let scale = 0;
  a.grads.forEach((g, i) => {
    const x = g!.dataSync();
    const y = b.grads[i]!.dataSync();
    x.forEach((v, k) => {
      abs = Math.max(abs, Math.abs(v - y[k]));
      scale = Math.max(scale, Math.abs(y[k]));
    });
  });
  return { abs, scale };
}

const dispose = (r: GradResult) => tf.dispose([r.loss, ...r.grads.filter((g): g is tf.Tensor => g !== null)]);

/** Peak bytes above what was allocated before the call. */
async function peakOf(f: () => GradResult): Promise<number> {
  const before = tf.memory().numBytes;
  const info = await tf.profile(() => {
    const r = f();
    dispose(r);
    return 0;
  });
  return info.peakBytes - before;
}

describe('GradCache', () => {
  it('chunk ranges cover the rows', () => {
    expect(chunkRanges(10, 4)).toEqual([[0, 4], [4, 8], [8, 10]]);
    expect(chunkRanges(0, 4)).toEqual([]);
    expect(() => chunkRanges(3, 0)).toThrow();
  });

  it('gives the full-batch gradient (dropout off), every variable, for several chunk sizes', () => {
    const enc = tinyEncoder({ hidden: 16, dim: 8, seed: 5, settings: { pooling: 'mean' } });
    const { groups, loss } = batch(enc, 12);
    const full = fullBatchGrads(groups, loss, enc.variables);
    for (const chunk of [1, 5, 8]) {
      const cached = gradCacheGrads(groups, loss, enc.variables, chunk);
      expect(Math.abs(cached.loss.dataSync()[0] - full.loss.dataSync()[0])).toBeLessThanOrEqual(1e-6);
      const d = maxDiff(cached, full);
      console.log(`GradCache chunk ${chunk}: max |Δgrad| ${d.abs.toExponential(2)} (max |grad| ${d.scale.toExponential(2)})`);
      expect(d.abs).toBeLessThanOrEqual(GRAD_TOL);
      dispose(cached);
    }
    dispose(full);
    // batchGrads picks the plain path when the chunk covers every group.
    const r = batchGrads(groups, loss, enc.variables, 1000);
    expect(maxDiff(r, fullBatchGrads(groups, loss, enc.variables)).abs).toBe(0);
    enc.dispose();
  });

  it('cuts chunks longest-first (length-grouped): less padding, and still the full-batch gradient', () => {
    const enc = tinyEncoder({ hidden: 16, dim: 8, seed: 5, settings: { maxLength: 32 } });
    // Texts of 1–23 words in scrambled order, so that chunks in input order pad short rows to long ones.
    const varied = (n: number, seed: number) => Array.from({ length: n }, (_, i) => texts(1, 1 + ((i * 7) % 23), seed + i)[0]);
    const qTexts = varied(12, 1);
    const dTexts = varied(24, 50);
    const groups = [textGroup(enc, qTexts, 'query', false, 0), textGroup(enc, dTexts, 'doc', false, 0)];
    const tokens = (t: string[]) => enc.tokenize(t, 'doc');
    const length = (t: string) => tokens([t]).attentionMask.reduce((a, b) => a + b, 0);
    const chunk = 5;
    for (const [g, ts] of [[groups[0], qTexts], [groups[1], dTexts]] as const) {
      const order = g.order!;
      expect([...order].sort((a, b) => a - b)).toEqual([...Array(g.size).keys()]); // a permutation
      const lengths = order.map((r) => length(ts[r]));
      expect(lengths).toEqual([...lengths].sort((a, b) => b - a)); // longest first
      // Tokens each pass pads to: chunks cut in this order vs in input order.
      const padded = (rows: readonly number[]) =>
        chunkRanges(rows.length, chunk).reduce((sum, [s, e]) => sum + (e - s) * tokens(rows.slice(s, e).map((r) => ts[r])).seqLen, 0);
      expect(padded(order)).toBeLessThan(0.8 * padded([...order].sort((a, b) => a - b)));
    }
    const loss: RepLoss = ([q, d]) => tf.tidy(() => infoNceLoss(q, d, 0.05));
    const full = fullBatchGrads(groups, loss, enc.variables);
    const cached = gradCacheGrads(groups, loss, enc.variables, chunk);
    for (const part of ['forwardMs', 'lossMs', 'backwardMs'] as const) expect(cached.timing[part]).toBeGreaterThan(0);
    expect(Math.abs(cached.loss.dataSync()[0] - full.loss.dataSync()[0])).toBeLessThanOrEqual(1e-6);
    expect(maxDiff(cached, full).abs).toBeLessThanOrEqual(GRAD_TOL);
    dispose(full);
    dispose(cached);
    enc.dispose();
  });

  it('bounds peak tensor memory by the chunk: plain grows with the batch, GradCache stays far below', async () => {
    const enc = tinyEncoder({ hidden: 32, dim: 16, seed: 5, settings: { maxLength: 32 } });
    const peaks: Record<string, number> = {};
    for (const B of [32, 64]) {
      const { groups, loss } = batch(enc, B, 24);
      peaks[`plain B=${B}`] = await peakOf(() => fullBatchGrads(groups, loss, enc.variables));
      peaks[`chunk 8 B=${B}`] = await peakOf(() => gradCacheGrads(groups, loss, enc.variables, 8));
    }
    const kb = Object.fromEntries(Object.entries(peaks).map(([k, v]) => [k, `${(v / 1024).toFixed(0)} KiB`]));
    console.log('peak tensor memory above baseline:', kb);
    // Plain backprop keeps every row's activations: linear in the batch.
    expect(peaks['plain B=64']).toBeGreaterThan(1.8 * peaks['plain B=32']);
    // GradCache keeps one chunk's activations plus the loss's [B, B(1+h)] score matrices (quadratic in B,
    // but small next to a real encoder's activations): at twice the batch it stays far below plain.
    expect(peaks['chunk 8 B=64']).toBeLessThan(peaks['plain B=64'] / 8);
    expect(peaks['chunk 8 B=64']).toBeLessThan(peaks['plain B=32'] / 4);
    enc.dispose();
  });

  it('leaks no tensors', () => {
    const enc = tinyEncoder({ seed: 2 });
    const { groups, loss } = batch(enc, 6);
    const before = tf.memory().numTensors;
    dispose(gradCacheGrads(groups, loss, enc.variables, 4));
    dispose(fullBatchGrads(groups, loss, enc.variables));
    expect(tf.memory().numTensors).toBe(before);
    enc.dispose();
  });
});
