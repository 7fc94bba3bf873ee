// BertModel's training step with every compiled training kernel on wasm (wasm-dropout-kernel.ts,
// wasm-attention-probs-kernel.ts, wasm-layer-norm-grad-kernel.ts, the embedding sum with its gradient,
// wasm-column-sum-kernel.ts) against the same model's gradients on the cpu backend, where every op is tfjs' own
// (tf.dropout, tf.softmax, composed LayerNorm, gathers, tf.sum): same dropout masks, so the weight gradients agree
// within float32 rounding; and each kernel really ran.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { describe, expect, it } from 'vitest';
import { WASM_ATTENTION_PROBS, WASM_ATTENTION_PROBS_GRAD } from '../../src/util/wasm-attention-probs-kernel.ts';
import { WASM_COLUMN_SUM } from '../../src/util/wasm-column-sum-kernel.ts';
import { WASM_DROPOUT } from '../../src/util/wasm-dropout-kernel.ts';
import { WASM_LAYER_NORM_GRAD } from '../../src/util/wasm-layer-norm-grad-kernel.ts';
import { WASM_EMBEDDINGS } from '../../src/util/wasm-layer-norm-kernel.ts';
import { relDiff } from './helpers/layer-norm-reference.ts';
import { bertTrainingGrads } from './helpers/bert-training-grads.ts';

/** Weight gradients: max |Δ| / max |reference|, float32 rounding carried through two layers' backward. */
const MODEL_GRAD_RTOL = 2e-5;

describe('BertModel training with the compiled kernels on wasm', () => {
  it('gives the weight gradients of tfjs ops on cpu within float32 rounding, every training kernel running', async () => {
    const cpu = await bertTrainingGrads('cpu');
    const wasm = await bertTrainingGrads('wasm');
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
