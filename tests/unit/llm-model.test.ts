// The decoder on tiny random models (cpu backend): no tensor leaks, gradients through `logits`, the
// adapter seam, RoPE layouts agreeing, KV-cache and batching exactness, seeded generation, cancel, progress.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '../../src/llm/gradients.ts';
import { beforeAll, describe, expect, test } from 'vitest';
import { CancelledError } from '../../src/errors.ts';
import type { DecoderConfig } from '../../src/llm/config.ts';
import { generate } from '../../src/llm/generate.ts';
import { LlamaModel, type LinearAdapter } from '../../src/llm/llama.ts';
import { interleavedToHalf } from '../../src/llm/llama2c.ts';
import { randomWeights } from '../../src/llm/weights.ts';
import type { Progress } from '../../src/util/progress.ts';

const CONFIG: DecoderConfig = {
  arch: 'qwen2',
  dim: 16,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  headDim: 4,
  hidden: 24,
  vocab: 40,
  normEps: 1e-6,
  ropeTheta: 10000,
  ropeScaling: { type: 'none' },
  ropeLayout: 'half',
  attentionBias: true,
  tiedEmbeddings: true,
  maxSeqLen: 64,
  bosId: null,
  eosIds: [],
};
const STD = 0.3; // large enough that greedy choices are clear
const TIGHT = 1e-5;

const ids2d = (rows: number[][]) => tf.tensor2d(rows.flat(), [rows.length, rows[0].length], 'int32');
async function logits(model: LlamaModel, rows: number[][], mask?: number[][]): Promise<number[][][]> {
  const t = tf.tidy(() => model.logits(ids2d(rows), mask ? ids2d(mask) : undefined));
  const a = (await t.array()) as number[][][];
  t.dispose();
  return a;
}
const maxAbs = (a: number[][], b: number[][]) => Math.max(...a.flatMap((r, i) => r.map((v, j) => Math.abs(v - b[i][j]))));

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('LlamaModel', () => {
  test('logits shape; no tensors leak from logits, step or generate', async () => {
    const model = new LlamaModel(CONFIG, randomWeights(CONFIG, 1, STD));
    await logits(model, [[1, 2, 3]]); // first call grows the RoPE tables (model state, freed by dispose)
    const before = tf.memory().numTensors;
    const out = await logits(model, [[1, 2, 3], [4, 5, 6]], [[1, 1, 1], [0, 1, 1]]);
    expect([out.length, out[0].length, out[0][0].length]).toEqual([2, 3, CONFIG.vocab]);
    await generate(model, [[1, 2], [3]], { maxNewTokens: 5, temperature: 0.9, topP: 0.8, seed: 1 });
    const cache = model.createCache(1);
    model.step(cache, [[1, 2]]).dispose();
    cache.dispose();
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  test('differentiable under tf.variableGrads: an adapter variable gets a gradient, frozen base weights do not', () => {
    const model = new LlamaModel(CONFIG, randomWeights(CONFIG, 2, STD));
    const name = 'model.layers.0.self_attn.v_proj';
    const a = tf.variable(tf.randomNormal([CONFIG.dim, CONFIG.kvHeads * CONFIG.headDim], 0, 0.1, 'float32', 3));
    const adapter: LinearAdapter = { delta: (x) => tf.matMul(x, a) };
    model.adapters.set(name, adapter);
    const { value, grads } = tf.variableGrads(() =>
      tf.tidy(() => tf.mean(tf.logSoftmax(model.logits(ids2d([[1, 2, 3, 4]])))) as tf.Scalar),
    );
    expect(Object.keys(grads)).toEqual([a.name]);
    expect(Math.max(...(grads[a.name].dataSync() as Float32Array).map(Math.abs))).toBeGreaterThan(0);
    tf.dispose([value, grads[a.name], a]);
    model.dispose();
  });

  test('the adapter seam: a zero delta changes nothing, a non-zero one changes the output, adaptersEnabled = false restores', async () => {
    const model = new LlamaModel(CONFIG, randomWeights(CONFIG, 3, STD));
    const rows = [[5, 6, 7]];
    const base = await logits(model, rows);
    const out = CONFIG.heads * CONFIG.headDim;
    const zero = tf.zeros([CONFIG.dim, out]);
    model.adapters.set('model.layers.1.self_attn.q_proj', { delta: (x) => tf.matMul(x, zero) });
    expect(maxAbs((await logits(model, rows))[0], base[0])).toBe(0);
    const w = tf.randomNormal([CONFIG.dim, out], 0, 0.5, 'float32', 4);
    model.adapters.set('model.layers.1.self_attn.q_proj', { delta: (x) => tf.matMul(x, w) });
    expect(maxAbs((await logits(model, rows))[0], base[0])).toBeGreaterThan(1e-3);
    model.adaptersEnabled = false;
    expect(maxAbs((await logits(model, rows))[0], base[0])).toBe(0);
    expect(model.linearNames()).toContain('model.layers.1.mlp.down_proj');
    tf.dispose([zero, w]);
    model.dispose();
  });

  test("interleaved RoPE (llama2.c) equals half RoPE (HF) after the conversion script's q/k permutation", async () => {
    const cfg: DecoderConfig = { ...CONFIG, arch: 'llama', attentionBias: false, tiedEmbeddings: false, ropeLayout: 'interleaved', headDim: 8, heads: 2, kvHeads: 1 };
    const w = randomWeights(cfg, 5, STD);
    const inter = new LlamaModel(cfg, w);
    const conv = interleavedToHalf(cfg, w);
    const half = new LlamaModel(conv.config, conv.weights);
    const rows = [[1, 9, 3, 7, 2, 8]];
    expect(maxAbs((await logits(inter, rows))[0], (await logits(half, rows))[0])).toBeLessThan(TIGHT);
    // …and the layouts are really different: the unpermuted weights under half RoPE disagree.
    const wrong = new LlamaModel({ ...cfg, ropeLayout: 'half' }, w);
    expect(maxAbs((await logits(inter, rows))[0], (await logits(wrong, rows))[0])).toBeGreaterThan(1e-3);
    [inter, half, wrong].forEach((m) => m.dispose());
  });

  test('left and right padding give the unpadded logits at real positions', async () => {
    const model = new LlamaModel(CONFIG, randomWeights(CONFIG, 6, STD));
    const seq = [3, 1, 4, 1];
    const alone = (await logits(model, [seq]))[0];
    const [left] = await logits(model, [[0, 0, ...seq]], [[0, 0, 1, 1, 1, 1]]);
    const [right] = await logits(model, [[...seq, 0, 0]], [[1, 1, 1, 1, 0, 0]]);
    expect(maxAbs(left.slice(2), alone)).toBeLessThan(TIGHT);
    expect(maxAbs(right.slice(0, 4), alone)).toBeLessThan(TIGHT);
    model.dispose();
  });
});

describe('generate', () => {
  let model: LlamaModel;
  beforeAll(() => {
    model = new LlamaModel(CONFIG, randomWeights(CONFIG, 7, STD));
  });

  test('the KV cache reproduces greedy decoding by full forwards', async () => {
    const prompt = [2, 7, 1];
    const r = await generate(model, [prompt], { maxNewTokens: 8, greedy: true });
    const seq = [...prompt];
    for (let i = 0; i < 8; i++) {
      const l = (await logits(model, [seq]))[0];
      const last = l[l.length - 1];
      seq.push(last.indexOf(Math.max(...last)));
    }
    expect(r.tokens[0]).toEqual(seq.slice(prompt.length));
  });

  test('seeded: same seed same sample; another seed another; a row does not depend on its batch', async () => {
    const opts = { maxNewTokens: 12, temperature: 1.2, topP: 0.95, seed: 42 };
    const a = await generate(model, [[1, 2, 3], [4]], opts);
    const b = await generate(model, [[1, 2, 3], [4]], opts);
    const c = await generate(model, [[1, 2, 3], [4]], { ...opts, seed: 43 });
    expect(a.tokens).toEqual(b.tokens);
    expect(c.tokens).not.toEqual(a.tokens);
    const alone = await generate(model, [[1, 2, 3]], opts);
    expect(alone.tokens[0]).toEqual(a.tokens[0]);
  });

  test('stop tokens end a row without being returned; max tokens end the rest', async () => {
    const free = await generate(model, [[5, 5]], { maxNewTokens: 6, greedy: true });
    const stopAt = free.tokens[0][2];
    const r = await generate(model, [[5, 5], [9]], { maxNewTokens: 6, greedy: true, stopTokens: [stopAt] });
    expect(r.tokens[0]).toEqual(free.tokens[0].slice(0, free.tokens[0].indexOf(stopAt)));
    expect(r.finish[0]).toBe('stop');
    expect(r.tokens[1].length === 6 || r.finish[1] === 'stop').toBe(true);
  });

  test('progress rises to the total; an aborted signal cancels without leaking', async () => {
    const seen: Progress[] = [];
    await generate(model, [[1]], { maxNewTokens: 5, greedy: true, onProgress: (p) => seen.push(p) });
    expect(seen.map((p) => p.done)).toEqual([1, 2, 3, 4, 5]);
    expect(seen.every((p) => p.total === 5 && p.stage === 'llm:generate')).toBe(true);
    const before = tf.memory().numTensors;
    const ctl = new AbortController();
    const run = generate(model, [[1]], { maxNewTokens: 50, greedy: true, signal: ctl.signal, onToken: () => ctl.abort() });
    await expect(run).rejects.toThrow(CancelledError);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('input checks: empty prompt, out-of-vocabulary id; length is capped by the positions', async () => {
    await expect(generate(model, [[]], { maxNewTokens: 1 })).rejects.toThrow(/at least one token/);
    await expect(generate(model, [[CONFIG.vocab]], { maxNewTokens: 1 })).rejects.toThrow(/outside the vocabulary/);
    const r = await generate(model, [new Array(CONFIG.maxSeqLen - 3).fill(1)], { maxNewTokens: 10, greedy: true, stopTokens: [] });
    expect(r.tokens[0].length).toBe(3);
  });
});
