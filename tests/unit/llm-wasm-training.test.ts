// The decoder's training path on wasm (what a DPO step runs) equals the cpu backend's: log-probs and the
// LoRA gradients through frozen projections (matmul.ts: no dW for a non-trainable weight), attention's
// products as XNNPACK 2D slices (attentionMatMul, rows ≥ SLICED_MIN_ROWS, and the short decoding rows that
// stay tf.matMul), and the chunked log-softmax cutting each vocabulary slice once per pass. Tiny random decoder.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '../../src/llm/gradients.ts';
import { describe, expect, test } from 'vitest';
import type { DecoderConfig } from '../../src/llm/config.ts';
import { collatePairs } from '../../src/llm/dpo-data.ts';
import { LlamaModel } from '../../src/llm/llama.ts';
import { chunkedLogSumExp, sequenceLogProbs } from '../../src/llm/logprobs.ts';
import { LoraAdapters } from '../../src/llm/lora.ts';
import { randomWeights } from '../../src/llm/weights.ts';
import { attentionMatMul, matMulBT, SLICED_MIN_ROWS } from '../../src/util/matmul.ts';

/** float32 products summed in another order (XNNPACK's blocking vs the cpu backend's loop). */
const TOLERANCE = 2e-4;

const CONFIG: DecoderConfig = {
  arch: 'qwen2', dim: 16, layers: 2, heads: 4, kvHeads: 2, headDim: 4, hidden: 24, vocab: 40, normEps: 1e-6, ropeTheta: 10000,
  ropeScaling: { type: 'none' }, ropeLayout: 'half', attentionBias: true, tiedEmbeddings: true, maxSeqLen: 64, bosId: null, eosIds: [2],
};
const seq = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));

async function onBackend<T>(name: string, f: () => Promise<T>): Promise<T> {
  expect(await tf.setBackend(name)).toBe(true);
  return f();
}

/** Log-probs of two rows and d(Σ log-probs · w)/d(LoRA A, B), on the active backend; LoRA B non-zero. */
async function logProbsAndGrads(promptLen: number, completionLen: number): Promise<{ lp: number[]; grads: number[][] }> {
  const model = new LlamaModel(CONFIG, randomWeights(CONFIG, 5, 0.3));
  const lora = LoraAdapters.attachNew(model, { r: 2, alpha: 4, dropout: 0, targetModules: ['q_proj', 'v_proj'], seed: 3 });
  lora.variables.forEach((v, i) => v.assign(tf.tensor(seq(v.size, (j) => 0.1 * Math.sin(j + 7 * i)), v.shape)));
  const pair = { prompt: seq(promptLen, (i) => 3 + ((i * 7) % 30)), chosen: seq(completionLen, (i) => 4 + ((i * 5) % 33)), rejected: seq(completionLen, (i) => 5 + ((i * 11) % 31)) };
  const batch = collatePairs([pair], promptLen + completionLen, 0);
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(sequenceLogProbs(model, batch, { chunk: 16 }), tf.tensor1d([1, -0.5]))) as tf.Scalar, lora.variables);
  const lp = Array.from(await sequenceLogProbs(model, batch, { chunk: 16 }).data());
  const out = { lp, grads: await Promise.all(lora.variables.map(async (v) => Array.from(await grads[v.name].data()))) };
  value.dispose();
  tf.dispose(Object.values(grads));
  lora.dispose();
  model.dispose();
  return out;
}

describe('decoder training on wasm equals cpu', () => {
  // 3 kv-groups of 2 query heads: rep·S rows = 2·S, so S = 12 takes the sliced path and S = 4 does not.
  for (const [promptLen, completionLen] of [[4, 8], [2, 2]]) {
    const rows = 2 * (promptLen + completionLen);
    test(`log-probs and LoRA gradients, rows of ${promptLen + completionLen} tokens (${rows >= SLICED_MIN_ROWS ? 'sliced XNNPACK' : 'tf.matMul'} attention)`, async () => {
      const cpu = await onBackend('cpu', () => logProbsAndGrads(promptLen, completionLen));
      const wasm = await onBackend('wasm', () => logProbsAndGrads(promptLen, completionLen));
      expect(maxDiff(wasm.lp, cpu.lp)).toBeLessThan(TOLERANCE);
      expect(wasm.grads).toHaveLength(cpu.grads.length);
      wasm.grads.forEach((g, i) => expect(maxDiff(g, cpu.grads[i]), `gradient ${i}`).toBeLessThan(TOLERANCE));
      expect(Math.max(...cpu.grads.flat().map(Math.abs))).toBeGreaterThan(1e-3); // the gradients are not all ~0
    });
  }
});

describe('matmul.ts on wasm', () => {
  test('matMulBT with a frozen weight: the input gradient as tf.matMul, no weight gradient computed, nothing leaked', async () => {
    await onBackend('wasm', async () => {
      const x = tf.tensor2d(seq(7 * 5, (i) => Math.sin(i)), [7, 5]);
      const w = tf.variable(tf.tensor2d(seq(3 * 5, (i) => Math.cos(1.3 * i)), [3, 5]), false);
      const up = tf.tensor2d(seq(7 * 3, (i) => Math.cos(0.3 * i)), [7, 3]);
      const before = tf.memory().numTensors;
      const matMuls = async (f: () => tf.Tensor) => (await tf.profile(f)).kernels.filter((k) => k.name === 'BatchMatMul').length;
      let dx: tf.Tensor | null = null;
      const calls = await matMuls(() => (dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(matMulBT(a as tf.Tensor2D, w), up)))(x)));
      const ref = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.matMul(a, w, false, true), up)))(x);
      expect(maxDiff(await dx!.data(), await ref.data())).toBeLessThan(1e-5);
      expect(calls).toBe(2); // forward + dx (a trainable weight's path makes 3: + dW)
      tf.dispose([dx!, ref]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, w, up]);
    });
  });

  test('attentionMatMul: (N, M, K) @ b or bᵀ in value and gradient, sliced and not', async () => {
    for (const m of [SLICED_MIN_ROWS + 2, 3]) {
      const inputs = (tb: boolean) => [tf.tensor3d(seq(3 * m * 4, (i) => Math.sin(i)), [3, m, 4]), tf.tensor3d(seq(3 * 4 * 5, (i) => Math.cos(i)), tb ? [3, 5, 4] : [3, 4, 5])];
      for (const tb of [true, false]) {
        const run = (f: (a: tf.Tensor3D, b: tf.Tensor3D) => tf.Tensor) => async () => {
          const xs = inputs(tb);
          const y = f(xs[0] as tf.Tensor3D, xs[1] as tf.Tensor3D);
          const up = tf.tensor(seq(y.size, (i) => Math.cos(0.7 * i)), y.shape);
          const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor3D, b as tf.Tensor3D), up)))(xs);
          const out = await Promise.all([y, ...g].map(async (t) => Array.from(await t.data())));
          tf.dispose([y, up, ...g, ...xs]);
          return out;
        };
        const ref = await onBackend('cpu', run((a, b) => tf.matMul(a, b, false, tb)));
        const got = await onBackend('wasm', run((a, b) => attentionMatMul(a, b, tb)));
        got.forEach((g, k) => expect(maxDiff(g, ref[k]), `rows ${m} transposeB ${tb} output ${k}`).toBeLessThan(1e-5));
      }
    }
  });
});

describe('chunkedLogSumExp', () => {
  test('cuts each vocabulary slice of W once in the forward pass and once in the backward pass', async () => {
    await onBackend('wasm', async () => {
      const [V, D, N, chunk] = [40, 6, 5, 16]; // 3 slices: 16, 16, 8 rows
      const w = tf.tensor2d(seq(V * D, (i) => Math.sin(0.37 * i)), [V, D]);
      const h = tf.tensor2d(seq(N * D, (i) => Math.cos(0.21 * i)), [N, D]);
      let g: tf.Tensor | null = null;
      const info = await tf.profile(() => (g = tf.grad((x: tf.Tensor) => tf.sum(chunkedLogSumExp(x as tf.Tensor2D, w, chunk)))(h)));
      const cuts = info.kernels.filter((k) => k.name === 'Slice' && k.inputShapes[0]?.join() === `${V},${D}`).length;
      expect(cuts).toBe(2 * Math.ceil(V / chunk));
      // d lse / d h = softmax(h·Wᵀ)·W
      const ref = tf.matMul(tf.softmax(tf.matMul(h, w, false, true)), w);
      expect(maxDiff(await g!.data(), await ref.data())).toBeLessThan(1e-5);
      tf.dispose([w, h, g!, ref]);
    });
  });
});
