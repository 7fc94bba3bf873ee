// Sequence log-probs (cpu) against a naive oracle: full logits → logSoftmax → one-hot pick → masked sum.
// The chunked log-softmax equals it in value and in LoRA gradients for any slice size; left and right
// padding give the same sums; an adapter on lm_head takes the full-logits path.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '../../src/llm/gradients.ts';
import { beforeAll, describe, expect, test } from 'vitest';
import type { DecoderConfig } from '../../src/llm/config.ts';
import { LlamaModel } from '../../src/llm/llama.ts';
import { chunkedLogSumExp, sequenceLogProbs, sequenceLogProbsValues, trimPadding, type ScoredBatch } from '../../src/llm/logprobs.ts';
import { LoraAdapters } from '../../src/llm/lora.ts';
import { randomWeights } from '../../src/llm/weights.ts';

const CONFIG: DecoderConfig = {
  arch: 'llama', dim: 16, layers: 2, heads: 4, kvHeads: 2, headDim: 4, hidden: 24, vocab: 37, normEps: 1e-5, ropeTheta: 10000,
  ropeScaling: { type: 'none' }, ropeLayout: 'half', attentionBias: false, tiedEmbeddings: false, maxSeqLen: 64, bosId: 1, eosIds: [2],
};
const TIGHT = 2e-5;
// Right-padded: prompt [1, 5, 9] + completion [4, 4, 7]; prompt [1, 3] + completion [8, 2]; padding 0.
const RIGHT: ScoredBatch = {
  ids: [[1, 5, 9, 4, 4, 7], [1, 3, 8, 2, 0, 0]],
  attention: [[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]],
  scored: [[0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 0, 0]],
};
const LEFT: ScoredBatch = {
  ids: [[1, 5, 9, 4, 4, 7], [0, 0, 1, 3, 8, 2]],
  attention: [[1, 1, 1, 1, 1, 1], [0, 0, 1, 1, 1, 1]],
  scored: [[0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 1, 1]],
};

/** The obvious computation: every logit, log-softmax over the vocabulary, pick, mask, sum. */
function naive(model: LlamaModel, b: ScoredBatch, training = false): tf.Tensor1D {
  return tf.tidy(() => {
    const [B, T] = [b.ids.length, b.ids[0].length];
    const logits = model.logits(tf.tensor2d(b.ids.flat(), [B, T], 'int32'), tf.tensor2d(b.attention.flat(), [B, T], 'int32'), { training }); // (B, T, V)
    const lsm = tf.logSoftmax(tf.slice(logits, [0, 0, 0], [B, T - 1, -1])); // predicts positions 1 … T−1
    const next = tf.tensor2d(b.ids.map((r) => r.slice(1)).flat(), [B, T - 1], 'int32');
    const picked = tf.sum(tf.mul(lsm, tf.oneHot(next, CONFIG.vocab)), 2); // (B, T−1)
    return tf.sum(tf.mul(picked, tf.tensor2d(b.scored.map((r) => r.slice(1)).flat(), [B, T - 1])), 1) as tf.Tensor1D;
  });
}

async function gradsOf(model: LlamaModel, lora: LoraAdapters, f: () => tf.Tensor1D): Promise<Float32Array[]> {
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(f(), tf.tensor1d([0.7, -1.3]))) as tf.Scalar, lora.variables);
  value.dispose();
  const out = await Promise.all(lora.variables.map(async (v) => (await grads[v.name].data()) as Float32Array));
  Object.values(grads).forEach((g) => g.dispose());
  return out;
}
const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));

let model: LlamaModel;
let lora: LoraAdapters;
beforeAll(async () => {
  await tf.setBackend('cpu');
  model = new LlamaModel(CONFIG, randomWeights(CONFIG, 7, 0.3));
  lora = LoraAdapters.attachNew(model, { seed: 2, targetModules: ['q_proj', 'v_proj', 'down_proj'] });
  lora.layers.forEach((l, i) => tf.tidy(() => l.b.assign(tf.randomNormal(l.b.shape, 0, 0.2, 'float32', i))));
});

describe('sequenceLogProbs', () => {
  test('chunked (slices of 1, 5, 8, V) equals the naive full log-softmax, in value and in LoRA gradients', async () => {
    const want = await naive(model, RIGHT).data();
    const wantGrads = await gradsOf(model, lora, () => naive(model, RIGHT));
    for (const chunk of [1, 5, 8, 37, 1000]) {
      const t = sequenceLogProbs(model, RIGHT, { chunk });
      expect(maxAbs(await t.data(), want), `chunk ${chunk}`).toBeLessThan(TIGHT);
      t.dispose();
      const g = await gradsOf(model, lora, () => sequenceLogProbs(model, RIGHT, { chunk }));
      expect(Math.max(...g.map((x, i) => maxAbs(x, wantGrads[i]))), `grads, chunk ${chunk}`).toBeLessThan(TIGHT);
    }
    expect(Math.max(...wantGrads.map((g) => Math.max(...Array.from(g, Math.abs))))).toBeGreaterThan(1e-2); // the check has teeth
  });

  test('left and right padding give the same sums; trimPadding drops all-padding columns', async () => {
    const r = await sequenceLogProbsValues(model, RIGHT, { chunk: 8 });
    const l = await sequenceLogProbsValues(model, LEFT, { chunk: 8 });
    expect(maxAbs(r, l)).toBeLessThan(TIGHT);
    const one = await sequenceLogProbsValues(model, RIGHT, { chunk: 8, rowsPerPass: 1 }); // row 2 alone, trimmed to 4 columns
    expect(maxAbs(one, r)).toBeLessThan(TIGHT);
    expect(trimPadding({ ids: [[0, 1, 2, 0]], attention: [[0, 1, 1, 0]], scored: [[0, 0, 1, 0]] })).toEqual({ ids: [[1, 2]], attention: [[1, 1]], scored: [[0, 1]] });
  });

  test('training mode: dropout masks seeded, chunked = naive under the same masks', async () => {
    const drop = LoraAdapters.attachNew(model, { seed: 3, dropout: 0.3 }); // replaces q/v adapters
    drop.layers.forEach((l, i) => tf.tidy(() => l.b.assign(tf.randomNormal(l.b.shape, 0, 0.2, 'float32', 10 + i))));
    const seed = () => [drop, lora].forEach((l) => l.setDropoutSeed(5)); // lora keeps down_proj (dropout 0.1)
    seed();
    const a = await naive(model, RIGHT, true).data();
    seed();
    const b = await sequenceLogProbsValues(model, RIGHT, { chunk: 5, training: true });
    expect(maxAbs(a, b)).toBeLessThan(TIGHT);
    drop.detach(model);
    drop.dispose();
    lora.attach(model);
  });

  test('an adapter on lm_head uses the full logits and still equals the oracle', async () => {
    const head = LoraAdapters.attachNew(model, { targetModules: ['lm_head'] });
    tf.tidy(() => head.layers[0].b.assign(tf.randomNormal(head.layers[0].b.shape, 0, 0.3, 'float32', 99)));
    const want = await naive(model, RIGHT).data();
    expect(maxAbs(await sequenceLogProbsValues(model, RIGHT, { chunk: 4 }), want)).toBeLessThan(TIGHT);
    head.detach(model);
    head.dispose();
  });

  test("Qwen's vocabulary (151,936): no tensor larger than one vocabulary slice, forward and backward (tf.profile)", async () => {
    const V = 151_936;
    const cfg: DecoderConfig = { ...CONFIG, dim: 8, heads: 2, kvHeads: 1, headDim: 4, hidden: 8, layers: 1, vocab: V, tiedEmbeddings: true };
    const big = new LlamaModel(cfg, randomWeights(cfg, 1, 0.3));
    const adapters = LoraAdapters.attachNew(big, { seed: 1 });
    const ids = Array.from({ length: 2 }, (_, b) => Array.from({ length: 24 }, (_, t) => (b * 7919 + t * 104_729) % V));
    const batch: ScoredBatch = { ids, attention: ids.map((r) => r.map(() => 1)), scored: ids.map((r) => r.map((_, t) => (t >= 20 ? 1 : 0))) }; // 8 scored tokens (the cpu backend is slow)
    const chunk = 8192;
    const info = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(() => tf.sum(sequenceLogProbs(big, batch, { chunk })) as tf.Scalar, adapters.variables);
      Object.values(grads).forEach((g) => g.dispose());
      return value;
    });
    // Identity = the tape's zero-copy handles on the (frozen) embedding, not new memory.
    const largest = Math.max(...info.kernels.filter((k) => k.name !== 'Identity').map((k) => Math.max(0, ...k.outputShapes.map((sh) => sh.reduce((a, d) => a * d, 1)))));
    const fullLogits = 8 * V;
    console.log(`vocab ${V}: largest kernel output ${largest} floats (one slice = ${8 * chunk}; the full logits would be ${fullLogits})`);
    expect(largest).toBeLessThanOrEqual(8 * chunk); // never the whole (N, V) at once, in either pass
    adapters.dispose();
    big.dispose();
  });

  test('chunkedLogSumExp equals tf.logSumExp; no tensors leak; bad batches are refused', async () => {
    const h = tf.randomNormal([6, 16], 0, 1, 'float32', 1) as tf.Tensor2D;
    const w = tf.randomNormal([37, 16], 0, 1, 'float32', 2) as tf.Tensor2D;
    const full = tf.tidy(() => tf.logSumExp(tf.matMul(h, w, false, true), 1));
    const got = chunkedLogSumExp(h, w, 10);
    expect(maxAbs(await got.data(), await full.data())).toBeLessThan(TIGHT);
    [h, w, full, got].forEach((t) => t.dispose());
    await sequenceLogProbsValues(model, RIGHT);
    const before = tf.memory().numTensors;
    await sequenceLogProbsValues(model, RIGHT, { chunk: 3 });
    await gradsOf(model, lora, () => sequenceLogProbs(model, RIGHT, { chunk: 3 }));
    expect(tf.memory().numTensors).toBe(before);
    expect(() => sequenceLogProbs(model, { ...RIGHT, scored: [[1, 0, 0, 0, 0, 0], RIGHT.scored[1]] })).toThrow(/first position/);
    expect(() => sequenceLogProbs(model, { ...RIGHT, scored: [RIGHT.scored[0], [0, 0, 1, 1, 1, 0]] })).toThrow(/padding/);
  });
});
