// The one input check of the fused attention kernels (wasm-attention-kernel.ts, webgpu-attention-kernel.ts):
// float32 q, k, v (B·T, d) as the linear layers give them and an additive mask (B, T).
import type * as tf from '@tensorflow/tfjs-core';

export interface AttentionShape {
  batch: number;
  seq: number;
  /** Model width d; each head takes headSize = d / heads columns. */
  d: number;
  headSize: number;
}

/** The shape of a fused attention call, or an error naming the kernel and what it got. */
export function attentionShape(kernel: string, q: tf.TensorInfo, k: tf.TensorInfo, v: tf.TensorInfo, mask: tf.TensorInfo, heads: number, headSizeMultiple = 1): AttentionShape {
  const [batch, seq] = mask.shape;
  const [rows, d] = q.shape;
  const headSize = d / heads;
  const same = (t: tf.TensorInfo) => t.shape.length === 2 && t.shape[0] === rows && t.shape[1] === d && t.dtype === 'float32';
  if (!same(q) || !same(k) || !same(v) || mask.shape.length !== 2 || mask.dtype !== 'float32' || rows !== batch * seq || !Number.isInteger(headSize) || headSize % headSizeMultiple !== 0) {
    const multiple = headSizeMultiple > 1 ? ` with d/heads a multiple of ${headSizeMultiple}` : ' with d divisible by heads';
    throw new Error(`${kernel}: expects float32 q, k, v (B·T, d)${multiple} and mask (B, T); got q [${q.shape}], k [${k.shape}], v [${v.shape}], mask [${mask.shape}], heads ${heads}`);
  }
  return { batch, seq, d, headSize };
}
