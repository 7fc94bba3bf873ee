// Token states → one vector per text. One pure function per pooling (sentence-transformers' Pooling
// module semantics), chosen by name; optional L2 normalisation (their Normalize module).
import * as tf from '@tensorflow/tfjs-core';
import type { Pooling } from './types.ts';

/** sentence-transformers clamps the token count with this floor (Pooling, mean mode). */
const MIN_TOKEN_COUNT = 1e-9;
/** torch.nn.functional.normalize's eps: a zero vector stays zero instead of becoming NaN. */
const NORMALIZE_EPS = 1e-12;

/** The [CLS] (first) token's state. hidden (B, T, d) → (B, d). Used by BERT, bge. */
export function clsPool(hidden: tf.Tensor3D): tf.Tensor2D {
  const [B, , d] = hidden.shape;
  return tf.reshape(tf.slice(hidden, [0, 0, 0], [B, 1, d]), [B, d]);
}

/**
 * Average of the token states where attention_mask is 1 (padding excluded). hidden (B, T, d),
 * mask (B, T) float32 0/1 → (B, d). Used by Contriever, MiniLM, e5. (Float, not int32 + tf.cast: see
 * maskTensor.)
 */
export function meanPool(hidden: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor2D {
  const m = tf.expandDims(mask, 2); // (B, T, 1)
  const sum = tf.sum(tf.mul(hidden, m), 1); // (B, d)
  const count = tf.maximum(tf.sum(m, 1), MIN_TOKEN_COUNT); // (B, 1)
  return tf.div(sum, count);
}

/**
 * The attention mask as a float32 (B, T) tensor, made from JS numbers: tfjs-webgpu 4.22's int32→float32
 * tf.cast of a small CPU-resident tensor keeps Int32Array data, and later GPU kernels then fail to compile.
 */
export function maskTensor(attentionMask: Int32Array, batch: number, seqLen: number): tf.Tensor2D {
  return tf.tensor2d(Float32Array.from(attentionMask), [batch, seqLen], 'float32');
}

/** Selects a pooling by name; throws on an unknown one. */
export function pool(name: Pooling, hidden: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor2D {
  switch (name) {
    case 'cls':
      return clsPool(hidden);
    case 'mean':
      return meanPool(hidden, mask);
    default:
      throw new Error(`Unknown pooling "${name as string}": use "cls" or "mean"`);
  }
}

/** x / max(‖x‖₂, eps) row by row. (B, d) → (B, d). */
export function l2Normalize(x: tf.Tensor2D): tf.Tensor2D {
  const norm = tf.sqrt(tf.sum(tf.square(x), 1, true)); // (B, 1)
  return tf.div(x, tf.maximum(norm, NORMALIZE_EPS));
}
