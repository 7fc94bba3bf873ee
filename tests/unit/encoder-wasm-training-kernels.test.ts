// BertModel's training step with every compiled training kernel on wasm (wasm-dropout-kernel.ts,
// wasm-attention-probs-kernel.ts, wasm-layer-norm-grad-kernel.ts, the embedding sum with its gradient,
// wasm-column-sum-kernel.ts) against the same model's gradients on the cpu backend, where every op is tfjs' own
// (tf.dropout, tf.softmax, composed LayerNorm, gathers, tf.sum): same dropout masks, so the weight gradients agree
// within float32 rounding; and each kernel really ran.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { describe, expect, it } from 'vitest';
import { BertModel } from '../../src/encoder/bert.ts';
import type { BertConfig } from '../../src/encoder/config.ts';
import type { TokenizedBatch } from '../../src/encoder/types.ts';
import { WASM_ATTENTION_PROBS, WASM_ATTENTION_PROBS_GRAD } from '../../src/util/wasm-attention-probs-kernel.ts';
import { WASM_COLUMN_SUM } from '../../src/util/wasm-column-sum-kernel.ts';
import { WASM_DROPOUT } from '../../src/util/wasm-dropout-kernel.ts';
import { WASM_LAYER_NORM_GRAD } from '../../src/util/wasm-layer-norm-grad-kernel.ts';
import { WASM_EMBEDDINGS } from '../../src/util/wasm-layer-norm-kernel.ts';
import { relDiff } from './helpers/layer-norm-reference.ts';

/** Weight gradients: max |Δ| / max |reference|, float32 rounding carried through two layers' backward. */
const MODEL_GRAD_RTOL = 2e-5;

const config: BertConfig = { vocabSize: 50, hiddenSize: 64, numLayers: 2, numHeads: 2, intermediateSize: 96, hiddenAct: 'gelu', maxPositions: 16, typeVocabSize: 2, layerNormEps: 1e-12, hiddenDropout: 0.1, attentionDropout: 0.1, initializerRange: 0.02 };
// Two sequences of 7 (the second padded), repeated ids (the word gradient's scatter-add sums them).
const batch: TokenizedBatch = { batch: 2, seqLen: 7, inputIds: Int32Array.from([2, 5, 9, 5, 3, 8, 1, 2, 7, 3, 0, 0, 0, 0]), tokenTypeIds: Int32Array.from([0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]), attentionMask: Int32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]) };

async function gradients(backend: string) {
  expect(await tf.setBackend(backend)).toBe(true);
  const model = BertModel.random(config, 3);
  const w = tf.tensor3d(Float32Array.from({ length: 14 * 64 }, (_, i) => Math.sin(0.3 * i)), [2, 7, 64]);
  let grads = new Map<string, Float32Array>();
  const { kernels } = await tf.profile(() => {
    const { value, grads: g } = tf.variableGrads(() => tf.sum(tf.mul(model.forward(batch, { training: true, seed: 5 }), w)) as tf.Scalar, model.variables);
    grads = new Map([...model.params].map(([key, v]) => [key, g[v.name].dataSync() as Float32Array]));
    tf.dispose([value, ...Object.values(g)]);
  });
  tf.dispose([w, ...model.variables]);
  return { grads, names: new Set(kernels.map((k) => k.name)) };
}

describe('BertModel training with the compiled kernels on wasm', () => {
  it('gives the weight gradients of tfjs ops on cpu within float32 rounding, every training kernel running', async () => {
    const cpu = await gradients('cpu');
    const wasm = await gradients('wasm');
    for (const name of [WASM_DROPOUT, WASM_ATTENTION_PROBS, WASM_ATTENTION_PROBS_GRAD, WASM_LAYER_NORM_GRAD, WASM_EMBEDDINGS, WASM_COLUMN_SUM]) expect(wasm.names, name).toContain(name);
    expect(wasm.names).not.toContain('GatherV2');
    for (const [key, g] of wasm.grads) {
      // The key bias's gradient is 0 but for rounding (softmax ignores a constant per query): nothing to compare.
      if (key.endsWith('attention.self.key.bias')) continue;
      expect(Math.max(...Array.from(cpu.grads.get(key)!, Math.abs)), key).toBeGreaterThan(0);
      expect(relDiff(g, cpu.grads.get(key)!), key).toBeLessThan(MODEL_GRAD_RTOL);
    }
  });
});
