// The weights of a LlamaModel with its adapters merged in, W' = W + ΔW, read one tensor at a time.
//
// ΔW comes from the adapter itself rather than from LoRA internals: a LinearAdapter is linear in x when
// not training (LoRA: delta(x) = (α/r)·x·Aᵀ·Bᵀ, dropout off), so delta applied to the rows of the identity
// gives ΔWᵀ. That works for whatever adapter src/llm/lora.ts registers, and equals PEFT's merge
// (W + scaling·B·A, peft/tuners/lora/layer.py get_delta_weight) — `loraDelta` computes that form directly
// from exported A/B tensors for checks.
import * as tf from '@tensorflow/tfjs-core';
import { ModelFormatError } from '../../errors.ts';
import type { LlamaModel } from '../llama.ts';
import type { WeightData } from '../weights.ts';
import type { WeightSource } from './mlc-params.ts';

/** Identity rows per adapter call: bounds the [block, in] and [block, out] temporaries. */
const IDENTITY_BLOCK = 256;

/** ΔW = scaling · B · A for A [rank, in], B [out, rank] (row-major), as [out, in]. */
export function loraDelta(a: Float32Array, b: Float32Array, rank: number, inDim: number, outDim: number, scaling: number): Float32Array {
  const out = new Float32Array(outDim * inDim);
  for (let o = 0; o < outDim; o++) {
    for (let k = 0; k < rank; k++) {
      const s = scaling * b[o * rank + k];
      if (s === 0) continue;
      for (let i = 0; i < inDim; i++) out[o * inDim + i] += s * a[k * inDim + i];
    }
  }
  return out;
}

/** ΔW [out, in] of the adapter on `module`, or null when it has none (or adapters are off). */
export async function adapterDelta(model: LlamaModel, module: string, inDim: number, outDim: number): Promise<Float32Array | null> {
  const adapter = model.adaptersEnabled ? model.adapters.get(module) : undefined;
  if (!adapter) return null;
  const delta = new Float32Array(outDim * inDim);
  for (let b0 = 0; b0 < inDim; b0 += IDENTITY_BLOCK) {
    const n = Math.min(IDENTITY_BLOCK, inDim - b0);
    const t = tf.tidy(() => {
      const eye = tf.cast(tf.oneHot(tf.range(b0, b0 + n, 1, 'int32') as tf.Tensor1D, inDim), 'float32') as tf.Tensor2D; // (n, in)
      return adapter.delta(eye, false); // (n, out) = rows b0.. of ΔWᵀ
    });
    const d = await t.data();
    t.dispose();
    for (let i = 0; i < n; i++) for (let o = 0; o < outDim; o++) delta[o * inDim + b0 + i] = d[i * outDim + o];
  }
  return delta;
}

/** A WeightSource over the model's base weights plus each enabled adapter's ΔW. */
export function mergedWeightSource(model: LlamaModel): WeightSource {
  if (model.adaptersEnabled && model.config.tiedEmbeddings && model.adapters.has('lm_head')) {
    throw new ModelFormatError('adapter', 'an adapter on lm_head cannot be merged into a model with tied embeddings', 'Train the adapter without lm_head, or untie the head first');
  }
  return async (name: string): Promise<WeightData> => {
    const w = model.param(name);
    // slice(): the cpu backend's data() hands out the tensor's own buffer, which we must not add into.
    const data = ((await w.data()) as Float32Array).slice();
    if (name.endsWith('.weight') && w.shape.length === 2) {
      const [outDim, inDim] = w.shape;
      const delta = await adapterDelta(model, name.slice(0, -'.weight'.length), inDim, outDim);
      if (delta) for (let i = 0; i < data.length; i++) data[i] += delta[i];
    }
    return { shape: [...w.shape], data };
  };
}
