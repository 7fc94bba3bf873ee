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
