// The training LayerNorm (src/util/wasm-layer-norm-grad-kernel.ts: compiled forward and backward joined by
// tf.customGrad) on tfjs-wasm's plain build against the composed tfjs ops and their autograd on cpu: values
// and gradients w.r.t. x, residual, γ and β, over row counts off the backward's block grid; bad shapes
// refused; nothing left behind; then BertModel's gradients with the switch on vs off. Split over a helper
// thread (bit for bit as one thread): wasm-layer-norm-train-threads.test.ts.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { describe, expect, it } from 'vitest';
import { WASM_LAYER_NORM_GRAD, WASM_LAYER_NORM_TRAIN, wasmAddLayerNormTrain } from '../../src/util/wasm-layer-norm-grad-kernel.ts';
import { wasmAddLayerNorm } from '../../src/util/wasm-layer-norm-kernel.ts';
import { wasmKernelSwitches } from '../../src/util/wasm-kernel-internals.ts';
import { maxDiff } from './helpers/attention-reference.ts';
import { BERT_TRAINING_CONFIG, bertTrainingGrads } from './helpers/bert-training-grads.ts';
import { layerNormCase, layerNormGrads, relDiff } from './helpers/layer-norm-reference.ts';

/** As encoder-wasm-layer-norm.test.ts: outputs ~γ·O(1) from sums of ≤ 384 terms in another order. */
const LAYER_NORM_TOL = 2e-6;
/**
 * Gradients: max |Δ| / max |reference|. dγ and dβ are float32 sums over ≤ 161 rows here (~3e-6 measured),
 * tfjs-cpu's sums run in float64; dx sums over a row.
 */
const GRAD_RTOL = 1e-5;
/** The 2-layer model's weight gradients, LayerNorm differences carried through every layer's backward (≤ 5.4e-7 measured). */
const MODEL_GRAD_RTOL = 1e-5;

async function on<T>(backend: string, f: () => T | Promise<T>): Promise<T> {
  expect(await tf.setBackend(backend)).toBe(true);
  return f();
}

describe('wasmAddLayerNormTrain (compiled forward and backward)', () => {
  // (rows, d): one row, a few, more than one 32-row block with a ragged last one; d one vector, MiniLM's 384, an odd number of vectors.
  for (const [rows, d] of [[1, 4], [5, 64], [97, 384], [161, 36]] as const) {
    for (const withResidual of [false, true]) {
      it(`values and gradients equal the composed ops on cpu: ${rows} rows × ${d}, ${withResidual ? 'with' : 'without'} a residual`, async () => {
        const ref = await on('cpu', () => layerNormGrads('composed', rows, d, withResidual));
        const got = await on('wasm', () => {
          const before = tf.memory().numTensors;
          const r = layerNormGrads('wasm', rows, d, withResidual);
          expect(tf.memory().numTensors).toBe(before);
          return r;
        });
        expect(maxDiff(got.y, ref.y)).toBeLessThan(LAYER_NORM_TOL);
        got.grads.forEach((g, i) => expect(relDiff(g, ref.grads[i]), `gradient ${i} of ${got.grads.length}`).toBeLessThan(GRAD_RTOL));
      });
    }
  }

  it('forward: the inference kernel’s values bit for bit; outside a tape only the output stays', async () => {
    await on('wasm', () =>
      tf.tidy(() => {
        const [x, r, g, b] = layerNormCase(70, 384, true);
        const before = tf.memory().numTensors;
        const train = wasmAddLayerNormTrain(x, r, g, b, 1e-12);
        expect(tf.memory().numTensors).toBe(before + 1);
        expect(maxDiff(train.dataSync(), wasmAddLayerNorm(x, r, g, b, 1e-12).dataSync())).toBe(0);
      }),
    );
  });

  it('refuses a width that is not a multiple of 4, a residual of another shape, a γ of another width; the backward an rstd of another length', async () => {
    await on('wasm', () => {
      expect(() => wasmAddLayerNormTrain(tf.zeros([2, 6]), null, tf.zeros([6]), tf.zeros([6]), 1e-12)).toThrow(/multiple of 4/);
      expect(() => wasmAddLayerNormTrain(tf.zeros([2, 8]), tf.zeros([3, 8]), tf.zeros([8]), tf.zeros([8]), 1e-12)).toThrow(`${WASM_LAYER_NORM_TRAIN}: expects float32 x and residual (N, d)`);
      expect(() => wasmAddLayerNormTrain(tf.zeros([2, 8]), null, tf.zeros([4]), tf.zeros([8]), 1e-12)).toThrow('got float32 [2,8], float32 [4], float32 [8]');
      const grad = (rstdRows: number) => tf.engine().runKernel(WASM_LAYER_NORM_GRAD, { dy: tf.zeros([2, 8]), xhat: tf.zeros([2, 8]), rstd: tf.zeros([rstdRows]), gamma: tf.zeros([8]) });
      expect(() => grad(3)).toThrow(`${WASM_LAYER_NORM_GRAD}: expects float32 dy and xhat (N, d) with d a multiple of 4, rstd (N), γ (d); got float32 [2,8], float32 [2,8], float32 [3], float32 [8]`);
      expect(() => tf.dispose(grad(2) as tf.Tensor[])).not.toThrow();
    });
  });
});

describe('BertModel training gradients with the compiled LayerNorm', () => {
  const run = () => bertTrainingGrads('wasm');

  it('equal the composed path (switch off) within float rounding; one forward and one backward kernel per LayerNorm', async () => {
    const compiled = await run();
    expect(compiled.names.filter((n) => n === WASM_LAYER_NORM_TRAIN)).toHaveLength(1 + 2 * BERT_TRAINING_CONFIG.numLayers);
    expect(compiled.names.filter((n) => n === WASM_LAYER_NORM_GRAD)).toHaveLength(1 + 2 * BERT_TRAINING_CONFIG.numLayers);
    wasmKernelSwitches.layerNormTrain = false;
    let composed: Awaited<ReturnType<typeof run>>;
    try {
      composed = await run();
    } finally {
      wasmKernelSwitches.layerNormTrain = true;
    }
    expect(composed.names).not.toContain(WASM_LAYER_NORM_GRAD);
    for (const [key, g] of compiled.grads) {
      // The key bias's gradient is 0 but for rounding (softmax ignores a constant per query): nothing to compare.
      if (!key.endsWith('attention.self.key.bias')) expect(relDiff(g, composed.grads.get(key)!), key).toBeLessThan(MODEL_GRAD_RTOL);
    }
  });
});
