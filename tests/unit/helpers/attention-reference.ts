// Attention test inputs and the composed reference for the fused attention kernels' tests.
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';

export interface AttentionCase {
  B: number;
  T: number;
  heads: number;
  hs: number;
}

const seq = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));

export const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
};

/** q, k, v (B·T, d) of O(1) values, and an additive mask (B, T) with the last 2b keys of row b padded. */
export function attentionCase({ B, T, heads, hs }: AttentionCase): [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D] {
  const d = heads * hs;
  const data = (o: number) => tf.tensor2d(seq(B * T * d, (i) => Math.sin(0.37 * i + o) * 2), [B * T, d]);
  const mask = seq(B * T, (i) => (i % T >= Math.max(1, T - Math.floor(i / T) * 2) ? -1e9 : 0));
  return [data(0), data(1), data(2), tf.tensor2d(mask, [B, T])];
}

/** The composed reference: heads split, softmax(q·kᵀ·scale + mask)·v, heads merged. */
export function composedAttention(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, mask: tf.Tensor2D, heads: number, scale: number): tf.Tensor2D {
  const [B, T] = mask.shape;
  const d = q.shape[1];
  const hs = d / heads;
  const split = (x: tf.Tensor2D) => tf.transpose(tf.reshape(x, [B, T, heads, hs]), [0, 2, 1, 3]);
  const s = tf.add(tf.mul(tf.matMul(split(q), split(k), false, true), scale), tf.reshape(mask, [B, 1, 1, T]));
  const y = tf.matMul(tf.softmax(s), split(v)); // (B, heads, T, hs)
  return tf.reshape(tf.transpose(y, [0, 2, 1, 3]), [B * T, d]);
}

/** Row b's length in attentionCase: its last 2b keys padded, at least one token. */
export const caseLength = ({ T }: AttentionCase, b: number) => Math.max(1, T - 2 * b);

/** attentionCase's q, k, v packed without their padding rows (packing.ts' layout): starts (B + 1), the longest length. */
export function packedCase(shape: AttentionCase): { q: tf.Tensor2D; k: tf.Tensor2D; v: tf.Tensor2D; starts: tf.Tensor1D; maxSeq: number; keep: number[] } {
  const keep = Array.from({ length: shape.B }, (_, b) => seq(caseLength(shape, b), (t) => b * shape.T + t)).flat();
  const starts = [0];
  for (let b = 0; b < shape.B; b++) starts.push(starts[b] + caseLength(shape, b));
  const [q, k, v, mask] = attentionCase(shape);
  const idx = tf.tensor1d(keep, 'int32');
  const pick = (x: tf.Tensor2D) => tf.gather(x, idx) as tf.Tensor2D;
  const out = { q: pick(q), k: pick(k), v: pick(v), starts: tf.tensor1d(starts, 'int32'), maxSeq: shape.T, keep };
  tf.dispose([q, k, v, mask, idx]);
  return out;
}
