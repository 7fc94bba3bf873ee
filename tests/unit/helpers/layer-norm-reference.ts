// Inputs and the composed reference for the training LayerNorm's tests (wasm-layer-norm-train*.test.ts).
import * as tf from '@tensorflow/tfjs-core';
import { wasmAddLayerNormTrain } from '../../../src/util/wasm-layer-norm-grad-kernel.ts';

const values = (n: number, o: number, scale = 1) => Float32Array.from({ length: n }, (_, i) => scale * Math.sin(0.71 * i + o) + 0.3 * scale * Math.cos(0.13 * i));

/** x (rows, d) of scale 3, residual (or null), γ around 1, β small. */
export function layerNormCase(rows: number, d: number, withResidual: boolean): [tf.Tensor2D, tf.Tensor2D | null, tf.Tensor1D, tf.Tensor1D] {
  const gamma = tf.tensor1d(values(d, 3).map((v) => 1 + 0.5 * v));
  return [tf.tensor2d(values(rows * d, 1, 3), [rows, d]), withResidual ? tf.tensor2d(values(rows * d, 2), [rows, d]) : null, gamma, tf.tensor1d(values(d, 4, 0.1))];
}

/** nn.LayerNorm(x + residual) composed from tfjs ops, as BertModel.layerNorm. */
export function composedLayerNorm(x: tf.Tensor2D, residual: tf.Tensor2D | null, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor2D {
  const y = residual ? tf.add(x, residual) : x;
  const centred = tf.sub(y, tf.mean(y, -1, true));
  return tf.add(tf.mul(tf.mul(centred, tf.rsqrt(tf.add(tf.mean(tf.square(centred), -1, true), eps))), gamma), beta);
}

/** Output and gradients (x, [residual], γ, β) of Σ dy·LayerNorm for a fixed dy, on the active backend. */
export function layerNormGrads(kind: 'composed' | 'wasm', rows: number, d: number, withResidual: boolean): { y: Float32Array; grads: Float32Array[] } {
  return tf.tidy(() => {
    const [x, r, g, b] = layerNormCase(rows, d, withResidual);
    const dy = tf.tensor2d(values(rows * d, 5, 2), [rows, d]);
    const f = kind === 'composed' ? composedLayerNorm : wasmAddLayerNormTrain;
    const inputs = r ? [x, r, g, b] : [x, g, b];
    const call = (...t: tf.Tensor[]) => (r ? f(t[0] as tf.Tensor2D, t[1] as tf.Tensor2D, t[2] as tf.Tensor1D, t[3] as tf.Tensor1D, 1e-12) : f(t[0] as tf.Tensor2D, null, t[1] as tf.Tensor1D, t[2] as tf.Tensor1D, 1e-12));
    const { value, grads } = tf.valueAndGrads(call)(inputs, dy);
    return { y: value.dataSync() as Float32Array, grads: grads.map((t) => t.dataSync() as Float32Array) };
  });
}

/** max |a − b| / max |b|. */
export function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  if (a.length !== b.length || scale === 0) throw new Error(`relDiff: lengths ${a.length}, ${b.length}, scale ${scale}`);
  return diff / scale;
}
