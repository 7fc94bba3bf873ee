// InfoNCE with false negatives masked (src/train/infonce.ts) against PyTorch: the mask rebuilt from doc ids
// by falseNegativeMask equals the one tests/reference/gen/infonce_masked.py builds, and the loss and both
// gradients equal torch's masked_fill(−inf) + cross_entropy + autograd, on the cpu and wasm backends (the
// runner trains on wasm).
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { falseNegativeMask, infoNceLoss } from '../../src/train/infonce.ts';

/** float32 on both sides; scores up to 1/τ = 50 make the loss's rounding ~1e-5 relative. */
const LOSS_RTOL = 1e-5;
const GRAD_ATOL = 1e-5;

interface Case {
  name: string;
  temperature: number;
  doc_ids: string[];
  positives: string[][];
  q: number[][];
  d: number[][];
  mask: number[][];
  loss: number;
  loss_unmasked: number;
  grad_q: number[][];
  grad_d: number[][];
}
const fx: { cases: Case[] } = JSON.parse(readFileSync(new URL('./fixtures/train-infonce-torch.json', import.meta.url), 'utf8'));

afterAll(() => tf.setBackend('cpu'));

const maxDiff = (a: number[][], b: number[][]) => Math.max(...a.flatMap((row, i) => row.map((x, j) => Math.abs(x - b[i][j]))));

describe.each(['cpu', 'wasm'].flatMap((b) => fx.cases.map((c) => [b, c.name, c] as const)))('[%s] InfoNCE vs PyTorch: %s', (backend, _name, c) => {
  it('falseNegativeMask gives the fixture mask', () => {
    const m = falseNegativeMask(c.doc_ids, c.positives);
    const flat = c.mask.flat();
    if (flat.every((x) => x === 0)) expect(m).toBeNull();
    else expect(Array.from(m!)).toEqual(flat);
  });

  it('loss and gradients equal torch autograd', async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    const mask = falseNegativeMask(c.doc_ids, c.positives);
    const f = (q: tf.Tensor, d: tf.Tensor) => infoNceLoss(q as tf.Tensor2D, d as tf.Tensor2D, c.temperature, mask);
    const { value, grads } = tf.valueAndGrads(f)([tf.tensor2d(c.q), tf.tensor2d(c.d)]);
    const loss = value.dataSync()[0];
    const [gq, gd] = grads.map((g) => g.arraySync() as number[][]);
    console.log(`[${backend}] ${c.name}: loss ${loss.toFixed(6)} (torch ${c.loss.toFixed(6)}, unmasked ${c.loss_unmasked.toFixed(6)}), max |Δgrad| q ${maxDiff(gq, c.grad_q).toExponential(1)} d ${maxDiff(gd, c.grad_d).toExponential(1)}`);
    expect(Math.abs(loss - c.loss)).toBeLessThanOrEqual(LOSS_RTOL * Math.abs(c.loss));
    expect(maxDiff(gq, c.grad_q)).toBeLessThanOrEqual(GRAD_ATOL);
    expect(maxDiff(gd, c.grad_d)).toBeLessThanOrEqual(GRAD_ATOL);
    // The unmasked loss is another number whenever something is masked: the mask is what the test checks.
    if (mask) expect(Math.abs(infoNceLoss(tf.tensor2d(c.q), tf.tensor2d(c.d), c.temperature).dataSync()[0] - c.loss_unmasked)).toBeLessThanOrEqual(LOSS_RTOL * c.loss_unmasked);
  });
});

it('rejects a mask that drops a query own positive or has the wrong size', async () => {
  await tf.setBackend('cpu');
  const q = tf.eye(2) as tf.Tensor2D;
  expect(() => infoNceLoss(q, q, 1, Uint8Array.from([1, 0, 0, 0]))).toThrow(/own positive/);
  expect(() => infoNceLoss(q, q, 1, new Uint8Array(3))).toThrow(/mask of 3/);
});
