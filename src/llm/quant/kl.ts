// Does the WebLLM export still carry the adapter? KL divergence between the next-token distributions of
// the tfjs model with its adapter on (P, what DPO trained) and of the merged, quantised model as WebLLM
// would hold it (Q: the export's weights dequantised and run through the same tfjs LlamaModel), averaged
// over every position of a prompt set: KL(P‖Q) = Σ_v P(v) (log P(v) − log Q(v)), in nats.
//
// 4-bit rounding can swallow a small LoRA delta, so the report also gives, for scale, the adapter's own
// effect KL(P‖base) and the distance from P to the quantised base KL(P‖Q_base): an export that keeps the
// adapter has KL(P‖Q) well below KL(P‖Q_base). When KL(P‖Q) exceeds KL_FALLBACK_THRESHOLD, generation with the adapter falls
// back to the tfjs decoder. What this cannot see: WebLLM also computes activations in float16.
import * as tf from '@tensorflow/tfjs-core';
import { LlamaModel } from '../llama.ts';
import { mergedWeightSource } from '../webllm/merged-weights.ts';
import { mlcTensors, weightsFromMlc, type MlcQuantization } from '../webllm/mlc-params.ts';
import type { NamedTensor } from '../webllm/tensor-cache.ts';

/**
 * Mean KL (nats per position) above which the quantised export is not trusted to stand for the adapter.
 * 4-bit rounding alone costs a model something (measured here with B = 0: 0.12 on stories260K, dim 64;
 * 0.056 on the tiny Qwen2 fixture, dim 32; ~0.01–0.05 is the usual range for 4-bit models of ≥ 0.5B);
 * the app already accepts that much for the base model in WebLLM. Above 0.1 the export is further from
 * the trained model than 4-bit quantisation usually puts a model from itself. Re-measure on the real
 * presets in the browser (measureQuantisationKl) before tightening it.
 */
export const KL_FALLBACK_THRESHOLD = 0.1;

/** True when generation with the adapter should use the tfjs decoder (also for NaN: nothing measured). */
export function shouldFallBack(kl: number): boolean {
  return !(kl <= KL_FALLBACK_THRESHOLD);
}

export interface KlStats {
  /** Mean over positions, nats. */
  mean: number;
  max: number;
  positions: number;
}

type LogitsFn = (ids: tf.Tensor2D) => tf.Tensor3D;

/** KL(P‖Q) at every position of every prompt (token id rows, unpadded, each run alone). */
async function meanKl(prompts: number[][], p: LogitsFn, q: LogitsFn): Promise<KlStats> {
  let sum = 0;
  let max = 0;
  let positions = 0;
  for (const ids of prompts) {
    if (ids.length === 0) continue;
    const kl = tf.tidy(() => {
      const x = tf.tensor2d([ids], [1, ids.length], 'int32');
      const lp = tf.logSoftmax(p(x)); // (1, T, V)
      const lq = tf.logSoftmax(q(x)); // (1, T, V)
      return tf.sum(tf.mul(tf.exp(lp), tf.sub(lp, lq)), -1); // (1, T)
    });
    for (const v of await kl.data()) {
      const k = Math.max(0, v); // float32 noise can dip just below 0
      sum += k;
      max = Math.max(max, k);
      positions++;
    }
    kl.dispose();
  }
  return { mean: positions ? sum / positions : NaN, max, positions };
}

/** KL(P‖Q) between two models, each with its adapters as they are set. */
export function klBetween(p: LlamaModel, q: LlamaModel, prompts: number[][]): Promise<KlStats> {
  return meanKl(prompts, (x) => p.logits(x), (x) => q.logits(x));
}

/** Logits of `model` with its adapters switched on or off for this one call. */
function withAdapters(model: LlamaModel, on: boolean): LogitsFn {
  return (x) => {
    const prev = model.adaptersEnabled;
    model.adaptersEnabled = on;
    try {
      return model.logits(x);
    } finally {
      model.adaptersEnabled = prev;
    }
  };
}

/**
 * The model as an export would store it, read back into a fresh LlamaModel without adapters: merged with
 * its adapters when `merged`, else the base alone (what WebLLM runs without the export).
 */
export async function quantisedCopy(model: LlamaModel, quant: MlcQuantization = 'q4f16_1', merged = true): Promise<LlamaModel> {
  const prev = model.adaptersEnabled;
  model.adaptersEnabled = merged; // read while set: mergedWeightSource consults it per tensor
  try {
    const params = new Map<string, NamedTensor>();
    for await (const t of mlcTensors(model.config, mergedWeightSource(model), quant)) params.set(t.name, t);
    return new LlamaModel(model.config, weightsFromMlc(model.config, params, quant));
  } finally {
    model.adaptersEnabled = prev;
  }
}

export interface QuantKlReport {
  /** KL(adapter on ‖ merged + quantised): what the WebLLM export loses. Decides the fallback. */
  kl: KlStats;
  /** KL(adapter on ‖ base quantised): the distance WebLLM's base model leaves; kl should be well below it. */
  baseQuantKl: KlStats;
  /** KL(adapter on ‖ base, full precision): how much the adapter changed the model. */
  adapterKl: KlStats;
  fallBack: boolean;
}

/** Measures the export's fidelity on `prompts` (token ids); the model's adapter state is left as it was. */
export async function measureQuantisationKl(model: LlamaModel, prompts: number[][], quant: MlcQuantization = 'q4f16_1'): Promise<QuantKlReport> {
  const tuned = withAdapters(model, true);
  const stats = async (merged: boolean) => {
    const copy = await quantisedCopy(model, quant, merged);
    try {
      return await meanKl(prompts, tuned, (x) => copy.logits(x));
    } finally {
      copy.dispose();
    }
  };
  const kl = await stats(true);
  const baseQuantKl = await stats(false);
  const adapterKl = await meanKl(prompts, tuned, withAdapters(model, false));
  return { kl, baseQuantKl, adapterKl, fallBack: shouldFallBack(kl.mean) };
}
