// LoRA on a tiny random decoder (cpu): a fresh adapter changes nothing; adapters off = the base model;
// merge / unmerge; PEFT's init bound and seeding; dropout only in training and seeded; PEFT layout export /
// import round trip and reproducible zip bytes; target matching and the errors.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '../../src/llm/gradients.ts';
import { beforeAll, describe, expect, test } from 'vitest';
import { readSafetensors } from '../../src/model/safetensors.ts';
import type { DecoderConfig } from '../../src/llm/config.ts';
import { LlamaModel } from '../../src/llm/llama.ts';
import { LoraAdapters, loraSettings, matchesTarget } from '../../src/llm/lora.ts';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, exportPeftAdapter, parsePeftConfig, readPeftAdapter, unzipAdapter, zipAdapter } from '../../src/llm/lora-peft.ts';
import { randomWeights } from '../../src/llm/weights.ts';

const CONFIG: DecoderConfig = {
  arch: 'qwen2', dim: 16, layers: 2, heads: 4, kvHeads: 2, headDim: 4, hidden: 24, vocab: 40, normEps: 1e-6, ropeTheta: 10000,
  ropeScaling: { type: 'none' }, ropeLayout: 'half', attentionBias: true, tiedEmbeddings: true, maxSeqLen: 64, bosId: null, eosIds: [],
};
const IDS = [[3, 7, 1, 9, 4], [5, 2, 8, 8, 6]];
const TIGHT = 1e-5;

const newModel = () => new LlamaModel(CONFIG, randomWeights(CONFIG, 3, 0.3));
async function logits(model: LlamaModel, training = false): Promise<Float32Array> {
  const t = tf.tidy(() => model.logits(tf.tensor2d(IDS.flat(), [2, 5], 'int32'), undefined, { training }));
  const d = (await t.data()) as Float32Array;
  t.dispose();
  return d;
}
const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));
/** Gives every B a seeded random value so the adapter does something. */
function randomiseB(lora: LoraAdapters, seed = 1): void {
  lora.layers.forEach((l, i) => tf.tidy(() => l.b.assign(tf.randomNormal(l.b.shape, 0, 0.3, 'float32', seed + i))));
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('LoRA adapters', () => {
  test('a fresh adapter (B = 0) leaves the logits bit-identical; default targets are q_proj and v_proj', async () => {
    const model = newModel();
    const base = await logits(model);
    const lora = LoraAdapters.attachNew(model);
    expect(lora.layers.map((l) => l.module)).toEqual(['model.layers.0.self_attn.q_proj', 'model.layers.0.self_attn.v_proj', 'model.layers.1.self_attn.q_proj', 'model.layers.1.self_attn.v_proj']);
    expect(lora.layers.map((l) => [l.a.shape, l.b.shape])[1]).toEqual([[8, 16], [8, 8]]); // v_proj: in 16, out kv·hd = 8
    expect(Array.from(await logits(model))).toEqual(Array.from(base));
    expect(Array.from(await logits(model, true))).toEqual(Array.from(base)); // dropout on, still B = 0
    lora.dispose();
    model.dispose();
  });

  test("A is PEFT's kaiming-uniform(a = √5): inside ±1/√in, seeded, different per module", async () => {
    const model = newModel();
    const a = new LoraAdapters(model, loraSettings({ seed: 5 }));
    const b = new LoraAdapters(model, loraSettings({ seed: 5 }));
    const c = new LoraAdapters(model, loraSettings({ seed: 6 }));
    const va = await a.layers[0].a.data();
    expect(Math.max(...Array.from(va, Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(16));
    expect(Math.max(...Array.from(va, Math.abs))).toBeGreaterThan(0.8 / Math.sqrt(16)); // fills the range
    expect(Array.from(await b.layers[0].a.data())).toEqual(Array.from(va));
    expect(Array.from(await c.layers[0].a.data())).not.toEqual(Array.from(va));
    expect(Array.from(await a.layers[2].a.data())).not.toEqual(Array.from(va));
    [a, b, c].forEach((l) => l.dispose());
    model.dispose();
  });

  test('adaptersEnabled = false is the base model; merge equals the adapter; unmerge restores the weights', async () => {
    const model = newModel();
    const base = await logits(model);
    const w0 = await model.param('model.layers.1.self_attn.v_proj.weight').data();
    const lora = LoraAdapters.attachNew(model);
    randomiseB(lora);
    const adapted = await logits(model);
    expect(maxAbs(adapted, base)).toBeGreaterThan(1e-2);
    model.adaptersEnabled = false;
    expect(Array.from(await logits(model))).toEqual(Array.from(base));
    model.adaptersEnabled = true;
    lora.merge(model);
    expect(lora.merged).toBe(true);
    expect(model.adapters.size).toBe(0);
    expect(maxAbs(await logits(model), adapted)).toBeLessThan(TIGHT);
    expect(() => lora.merge(model)).toThrow(/already merged/);
    lora.unmerge(model);
    expect(maxAbs(await model.param('model.layers.1.self_attn.v_proj.weight').data(), w0)).toBeLessThan(1e-6);
    expect(maxAbs(await logits(model), adapted)).toBeLessThan(TIGHT);
    lora.dispose();
    model.dispose();
  });

  test('dropout acts only in training, with masks fixed by the seed', async () => {
    const model = newModel();
    const lora = LoraAdapters.attachNew(model, { dropout: 0.5 });
    randomiseB(lora);
    const evalA = await logits(model);
    expect(Array.from(await logits(model))).toEqual(Array.from(evalA));
    lora.setDropoutSeed(11);
    const t1 = await logits(model, true);
    lora.setDropoutSeed(11);
    const t2 = await logits(model, true);
    lora.setDropoutSeed(12);
    const t3 = await logits(model, true);
    expect(Array.from(t2)).toEqual(Array.from(t1));
    expect(maxAbs(t1, evalA)).toBeGreaterThan(1e-3);
    expect(maxAbs(t3, t1)).toBeGreaterThan(1e-3);
    lora.dispose();
    model.dispose();
  });

  test('no tensors leak from forward passes with adapters, merge and unmerge', async () => {
    const model = newModel();
    const lora = LoraAdapters.attachNew(model, { dropout: 0.2 });
    await logits(model, true);
    const before = tf.memory().numTensors;
    await logits(model, true);
    lora.merge(model);
    lora.unmerge(model);
    expect(tf.memory().numTensors).toBe(before);
    lora.dispose();
    model.dispose();
  });

  test('target matching as PEFT: names, suffixes after a dot, regex strings; no match is an error', () => {
    expect(matchesTarget('model.layers.0.self_attn.q_proj', ['q_proj'])).toBe(true);
    expect(matchesTarget('model.layers.0.self_attn.q_proj', ['self_attn.q_proj'])).toBe(true);
    expect(matchesTarget('model.layers.0.self_attn.q_proj', ['_proj'])).toBe(false);
    expect(matchesTarget('model.layers.1.mlp.up_proj', '.*\\.1\\.mlp\\..*')).toBe(true);
    expect(matchesTarget('model.layers.0.mlp.up_proj', '.*\\.1\\.mlp\\..*')).toBe(false);
    const model = newModel();
    const mlp = new LoraAdapters(model, loraSettings({ targetModules: ['gate_proj', 'down_proj'] }));
    expect(mlp.layers.map((l) => [l.module.split('.').pop(), l.a.shape[1], l.b.shape[0]])).toEqual([['gate_proj', 16, 24], ['down_proj', 24, 16], ['gate_proj', 16, 24], ['down_proj', 24, 16]]);
    mlp.dispose();
    expect(() => new LoraAdapters(model, loraSettings({ targetModules: ['query'] }))).toThrow(/match no projection.*q_proj/);
    expect(() => loraSettings({ rank: 4 } as never)).toThrow(/Unknown LoRA setting "rank"/);
    model.dispose();
  });
});

describe('PEFT layout', () => {
  test('export: adapter_config.json fields, key names and shapes; import onto a fresh model gives the same logits', async () => {
    const model = newModel();
    const lora = LoraAdapters.attachNew(model, { seed: 4 });
    randomiseB(lora);
    const want = await logits(model);
    const files = await exportPeftAdapter(lora, 'tiny/base', { 'training_info.json': { steps: 1 } });
    expect([...files.keys()].sort()).toEqual([ADAPTER_CONFIG, ADAPTER_WEIGHTS, 'training_info.json']);
    const cfg = JSON.parse(new TextDecoder().decode(files.get(ADAPTER_CONFIG)));
    expect(cfg).toMatchObject({
      peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 8, lora_alpha: 32, lora_dropout: 0.1, target_modules: ['q_proj', 'v_proj'],
      base_model_name_or_path: 'tiny/base', bias: 'none', fan_in_fan_out: false, inference_mode: true, use_rslora: false, use_dora: false,
    });
    const st = readSafetensors(files.get(ADAPTER_WEIGHTS)!);
    expect(st.metadata).toEqual({ format: 'pt' });
    expect(st.tensors.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')?.shape).toEqual([8, 16]);
    expect(st.tensors.get('base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight')?.shape).toEqual([8, 8]);
    expect(st.tensors.size).toBe(8);

    const other = newModel();
    const { lora: back, baseModel } = await readPeftAdapter(other, files);
    expect(baseModel).toBe('tiny/base');
    expect(Array.from(await logits(other))).toEqual(Array.from(want));
    back.dispose();
    other.dispose();
    lora.dispose();
    model.dispose();
  });

  test('the zip is byte-reproducible and reads back', async () => {
    const model = newModel();
    const lora = LoraAdapters.attachNew(model, { seed: 9 });
    randomiseB(lora);
    const z1 = zipAdapter(await exportPeftAdapter(lora, 'm'), 'adapter');
    const z2 = zipAdapter(await exportPeftAdapter(lora, 'm'), 'adapter');
    expect(Buffer.from(z1).equals(Buffer.from(z2))).toBe(true);
    const files = unzipAdapter(z1);
    expect([...files.keys()].sort()).toEqual([ADAPTER_CONFIG, ADAPTER_WEIGHTS]);
    const { lora: back } = await readPeftAdapter(newModel(), files);
    expect(Array.from(await back.layers[3].b.data())).toEqual(Array.from(await lora.layers[3].b.data()));
    back.dispose();
    lora.dispose();
    model.dispose();
  });

  test('what cannot be loaded exactly is refused with the reason', async () => {
    const base = { peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 8, lora_alpha: 16, lora_dropout: 0, target_modules: ['q_proj'] };
    expect(parsePeftConfig(base)).toMatchObject({ r: 8, alpha: 16, targetModules: ['q_proj'] });
    expect(() => parsePeftConfig({ ...base, peft_type: 'IA3' })).toThrow(/Only LoRA/);
    expect(() => parsePeftConfig({ ...base, use_dora: true })).toThrow(/use_dora/);
    expect(() => parsePeftConfig({ ...base, bias: 'all' })).toThrow(/bias/);
    expect(() => parsePeftConfig({ ...base, r: 0 })).toThrow(/r must be/);
    const model = newModel();
    const lora = LoraAdapters.attachNew(model);
    const files = await exportPeftAdapter(lora, 'm');
    lora.detach(model);
    lora.dispose();
    const qOnly = new Map(files);
    qOnly.set(ADAPTER_CONFIG, new TextEncoder().encode(JSON.stringify({ ...base, target_modules: ['q_proj'] })));
    await expect(readPeftAdapter(model, qOnly)).rejects.toThrow(/outside target_modules.*v_proj/);
    const withK = new Map(files);
    withK.set(ADAPTER_CONFIG, new TextEncoder().encode(JSON.stringify({ ...base, target_modules: ['q_proj', 'k_proj', 'v_proj'] })));
    await expect(readPeftAdapter(model, withK)).rejects.toThrow(/no "model.layers.0.self_attn.k_proj.lora_A.weight"/);
    expect(model.adapters.size).toBe(0);
    model.dispose();
  });
});
