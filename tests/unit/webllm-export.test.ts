// Writing a tuned model as a WebLLM model: MLC parameter names and shapes, the merge W + (α/r)·B·A,
// the files and cache keys WebLLM reads, and a full round trip of the tiny Qwen2 fixture through a fake
// cache and our reader (manifest, shards, md5, dequantised weights within the q4 bound).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, test } from 'vitest';
import { sourcesFromPath } from '../../src/data/node-sources.ts';
import { ModelFetchError, ModelFormatError } from '../../src/errors.ts';
import type { DecoderConfig } from '../../src/llm/config.ts';
import { modelFilesFromSources } from '../../src/llm/files.ts';
import { LlamaModel } from '../../src/llm/llama.ts';
import { loadDecoder } from '../../src/llm/load.ts';
import { LoraAdapters } from '../../src/llm/lora.ts';
import { f16Round } from '../../src/llm/quant/f16.ts';
import { q4ErrorBound } from '../../src/llm/quant/q4f16.ts';
import { cacheStorageStore, cleanModelUrl, memoryStore, modelFileUrl, type CacheStorageLike } from '../../src/llm/webllm/cache.ts';
import { loraDelta, mergedWeightSource } from '../../src/llm/webllm/merged-weights.ts';
import { mlcParamSpecs } from '../../src/llm/webllm/mlc-params.ts';
import { readWebLlmModel, storedWeights } from '../../src/llm/webllm/model-reader.ts';
import { appConfigWith, checkChatConfig, installWebLlmModel, tunedModelRecord } from '../../src/llm/webllm/model-writer.ts';
import { webLlmModelRecord, webLlmPreset } from '../../src/llm/webllm/presets.ts';
import { randomWeights, type Weights } from '../../src/llm/weights.ts';
import { createRng } from '../../src/util/random.ts';
import type { Progress } from '../../src/util/progress.ts';

const FIXTURE = new URL('../reference/fixtures/tiny-qwen2', import.meta.url).pathname;
const BASE = webLlmModelRecord(webLlmPreset('Qwen2.5-0.5B-Instruct-q4f16_1-MLC'));
const enc = (s: string) => new TextEncoder().encode(s);

/** An mlc-chat-config.json like mlc_llm gen_config writes (protocol/mlc_chat_config.py fields). */
function chatConfig(c: DecoderConfig, quantization = 'q4f16_1') {
  return {
    version: '0.1.0',
    model_type: c.arch,
    quantization,
    model_config: {
      hidden_size: c.dim,
      intermediate_size: c.hidden,
      num_attention_heads: c.heads,
      num_hidden_layers: c.layers,
      num_key_value_heads: c.kvHeads,
      rms_norm_eps: c.normEps,
      rope_theta: c.ropeTheta,
      vocab_size: c.vocab,
      tie_word_embeddings: c.tiedEmbeddings,
      head_dim: c.headDim,
    },
    vocab_size: c.vocab,
    context_window_size: c.maxSeqLen,
    sliding_window_size: -1,
    prefill_chunk_size: c.maxSeqLen,
    attention_sink_size: 0,
    tensor_parallel_shards: 1,
    temperature: 0.7,
    top_p: 0.8,
    tokenizer_files: ['tokenizer.json', 'tokenizer_config.json'],
    conv_template: { name: 'qwen2', system_template: '<|im_start|>system\n{system_message}<|im_end|>\n' },
  };
}

const CONFIG: DecoderConfig = {
  arch: 'qwen2',
  dim: 40, // not a multiple of 32: padded groups
  layers: 2,
  heads: 4,
  kvHeads: 2,
  headDim: 10,
  hidden: 64,
  vocab: 50,
  normEps: 1e-6,
  ropeTheta: 1e4,
  ropeScaling: { type: 'none' },
  ropeLayout: 'half',
  attentionBias: true,
  tiedEmbeddings: true,
  maxSeqLen: 64,
  bosId: null,
  eosIds: [],
};

/** Largest |W − W'| / bound over every 32-group of every matrix, and the worst vector error. */
function compare(orig: Weights, back: Weights): { matrixRatio: number; vectorErr: number } {
  let matrixRatio = 0;
  let vectorErr = 0;
  for (const [name, w] of orig) {
    const b = back.get(name)!;
    expect(b.shape, name).toEqual(w.shape);
    if (w.shape.length === 1) {
      for (let i = 0; i < w.data.length; i++) vectorErr = Math.max(vectorErr, Math.abs(b.data[i] - f16Round(w.data[i])));
      continue;
    }
    const cols = w.shape[1];
    for (let r = 0; r < w.shape[0]; r++) {
      for (let g = 0; g < cols; g += 32) {
        const end = Math.min(cols, g + 32);
        let maxAbs = 0;
        for (let c = g; c < end; c++) maxAbs = Math.max(maxAbs, Math.abs(w.data[r * cols + c]));
        const bound = q4ErrorBound(maxAbs);
        for (let c = g; c < end; c++) matrixRatio = Math.max(matrixRatio, Math.abs(b.data[r * cols + c] - w.data[r * cols + c]) / bound);
      }
    }
  }
  return { matrixRatio, vectorErr };
}

async function readAll(model: LlamaModel): Promise<Weights> {
  const src = mergedWeightSource(model);
  const out: Weights = new Map();
  for (const name of model.weights.keys()) out.set(name, await src(name));
  return out;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('MLC parameters', () => {
  test('Qwen2: c_attn fused with bias, gate_up_proj fused, q_weight/q_scale, tied head, module order', () => {
    const one = { ...CONFIG, layers: 1 };
    expect(mlcParamSpecs(one, 'q4f16_1')).toEqual([
      { name: 'model.embed_tokens.q_weight', shape: [50, 8], dtype: 'uint32' },
      { name: 'model.embed_tokens.q_scale', shape: [50, 2], dtype: 'float16' },
      { name: 'model.layers.0.self_attn.c_attn.q_weight', shape: [80, 8], dtype: 'uint32' }, // q 40 + k 20 + v 20 rows
      { name: 'model.layers.0.self_attn.c_attn.q_scale', shape: [80, 2], dtype: 'float16' },
      { name: 'model.layers.0.self_attn.c_attn.bias', shape: [80], dtype: 'float16' },
      { name: 'model.layers.0.self_attn.o_proj.q_weight', shape: [40, 8], dtype: 'uint32' },
      { name: 'model.layers.0.self_attn.o_proj.q_scale', shape: [40, 2], dtype: 'float16' },
      { name: 'model.layers.0.mlp.gate_up_proj.q_weight', shape: [128, 8], dtype: 'uint32' },
      { name: 'model.layers.0.mlp.gate_up_proj.q_scale', shape: [128, 2], dtype: 'float16' },
      { name: 'model.layers.0.mlp.down_proj.q_weight', shape: [40, 8], dtype: 'uint32' },
      { name: 'model.layers.0.mlp.down_proj.q_scale', shape: [40, 2], dtype: 'float16' },
      { name: 'model.layers.0.input_layernorm.weight', shape: [40], dtype: 'float16' },
      { name: 'model.layers.0.post_attention_layernorm.weight', shape: [40], dtype: 'float16' },
      { name: 'model.norm.weight', shape: [40], dtype: 'float16' },
    ]);
  });

  test('Llama: qkv_proj without bias, separate lm_head when untied; q0f16 keeps .weight in float16', () => {
    const llama: DecoderConfig = { ...CONFIG, arch: 'llama', layers: 1, attentionBias: false, tiedEmbeddings: false };
    const names = mlcParamSpecs(llama, 'q4f16_1').map((s) => s.name);
    expect(names).toContain('model.layers.0.self_attn.qkv_proj.q_weight');
    expect(names.some((n) => n.includes('bias'))).toBe(false);
    expect(names.slice(-2)).toEqual(['lm_head.q_weight', 'lm_head.q_scale']);
    expect(mlcParamSpecs(llama, 'q0f16').slice(0, 2)).toEqual([
      { name: 'model.embed_tokens.weight', shape: [50, 40], dtype: 'float16' },
      { name: 'model.layers.0.self_attn.qkv_proj.weight', shape: [80, 40], dtype: 'float16' },
    ]);
  });
});

describe('merge', () => {
  test('merged weights are W + (α/r)·B·A (PEFT), computed through the adapter; other weights untouched', async () => {
    const model = new LlamaModel(CONFIG, randomWeights(CONFIG, 1));
    const lora = LoraAdapters.attachNew(model, { r: 4, alpha: 8 });
    const rng = createRng(2);
    for (const l of lora.layers) l.b.assign(tf.tensor2d(Float32Array.from({ length: l.b.size }, () => rng.normal() * 0.1), l.b.shape as [number, number]));
    const src = mergedWeightSource(model);
    const q = await src('model.layers.1.self_attn.q_proj.weight');
    const base = (await model.param('model.layers.1.self_attn.q_proj.weight').data()) as Float32Array;
    const l = lora.layers.find((x) => x.module === 'model.layers.1.self_attn.q_proj')!;
    const d = loraDelta((await l.a.data()) as Float32Array, (await l.b.data()) as Float32Array, 4, 40, 40, 2);
    let err = 0;
    for (let i = 0; i < q.data.length; i++) err = Math.max(err, Math.abs(q.data[i] - (base[i] + d[i])));
    expect(err).toBeLessThan(1e-6);
    expect(Array.from((await src('model.layers.1.self_attn.k_proj.weight')).data)).toEqual(Array.from(await model.param('model.layers.1.self_attn.k_proj.weight').data()));
    // Reading did not change the model (the cpu backend shares buffers with data()).
    expect(Array.from(await model.param('model.layers.1.self_attn.q_proj.weight').data())).toEqual(Array.from(base));
    model.adaptersEnabled = false;
    expect(Array.from((await src('model.layers.1.self_attn.q_proj.weight')).data)).toEqual(Array.from(base));
  });
});

describe('install into the WebLLM cache and read back', () => {
  let fixtureModel: LlamaModel;
  let tokenizerJson: Uint8Array;
  beforeAll(async () => {
    const files = modelFilesFromSources(await sourcesFromPath(FIXTURE));
    fixtureModel = (await loadDecoder(files)).model;
    tokenizerJson = await files.read('tokenizer.json');
  });

  test('tiny Qwen2 fixture with a random LoRA: keys, record, manifest, md5, weights within the q4 bound', async () => {
    const model = fixtureModel;
    const lora = LoraAdapters.attachNew(model, { targetModules: ['q_proj', 'v_proj', 'down_proj'] });
    const rng = createRng(5);
    for (const l of lora.layers) l.b.assign(tf.tensor2d(Float32Array.from({ length: l.b.size }, () => rng.normal() * 0.05), l.b.shape as [number, number]));
    const store = memoryStore();
    const base = { ...BASE };
    await store.put('webllm/config', modelFileUrl(base.model, 'mlc-chat-config.json'), enc(JSON.stringify(chatConfig(model.config))), 'application/json');
    await store.put('webllm/model', modelFileUrl(base.model, 'tokenizer.json'), tokenizerJson, 'application/json');
    const progress: Progress[] = [];
    const record = await installWebLlmModel({ model, modelId: 'tiny-qwen2-expandr-1', base, store, shardBytes: 4096, onProgress: (p) => progress.push(p) });

    expect(record).toEqual({
      model: 'https://expandr.local/webllm/tiny-qwen2-expandr-1',
      model_id: 'tiny-qwen2-expandr-1',
      model_lib: base.model_lib,
      overrides: { context_window_size: 4096 },
      vram_required_MB: 944.62,
      low_resource_required: true,
    });
    const root = 'https://expandr.local/webllm/tiny-qwen2-expandr-1/resolve/main/';
    expect(cleanModelUrl(record.model)).toBe(root);
    const keys = [...store.entries.keys()].filter((k) => k.includes('expandr.local')).sort();
    expect(keys).toContain(`webllm/config ${root}mlc-chat-config.json`);
    expect(keys).toContain(`webllm/model ${root}tensor-cache.json`);
    expect(keys).toContain(`webllm/model ${root}ndarray-cache.json`);
    expect(keys).toContain(`webllm/model ${root}tokenizer.json`);
    expect(keys).toContain(`webllm/model ${root}params_shard_0.bin`);
    expect(keys.some((k) => k.includes('tokenizer_config.json'))).toBe(false); // listed but not cached by the base: skipped
    expect(progress.map((p) => p.done)).toEqual([...Array(progress.length).keys()]);
    expect(progress.at(-1)!.done).toBe(progress.at(-1)!.total);

    const stored = await readWebLlmModel(store, record.model); // checks every shard's md5
    expect(stored.manifest.records.length).toBeGreaterThan(3); // 4 KiB cap → several shards
    expect(stored.manifest.metadata.ParamSize).toBe(mlcParamSpecs(model.config, 'q4f16_1').length);
    expect(stored.manifest.records.flatMap((s) => s.records.map((r) => r.name)).sort()).toEqual(mlcParamSpecs(model.config, 'q4f16_1').map((s) => s.name).sort());
    expect(stored.chatConfig).toEqual(chatConfig(model.config)); // copied unchanged

    const { matrixRatio, vectorErr } = compare(await readAll(model), storedWeights(stored, model.config));
    expect(matrixRatio).toBeLessThanOrEqual(1);
    expect(matrixRatio).toBeGreaterThan(0.5); // errors of nearly half a step occur: the bound is tight
    expect(vectorErr).toBe(0); // biases and norms: exactly their float16 values

    // A corrupted shard is caught by its md5.
    const shardKey = `webllm/model ${root}params_shard_1.bin`;
    store.entries.get(shardKey)![0] ^= 1;
    await expect(readWebLlmModel(store, record.model)).rejects.toThrow(/md5 differs/);

    lora.detach(model);
    lora.dispose();
  });

  test('q0f16 export: weights are exactly the float16 roundings', async () => {
    const model = new LlamaModel(CONFIG, randomWeights(CONFIG, 3));
    const store = memoryStore();
    const record = await installWebLlmModel({
      model,
      modelId: 'q0',
      base: BASE,
      store,
      baseChatConfig: enc(JSON.stringify(chatConfig(CONFIG, 'q0f16'))),
      baseTokenizerFiles: { 'tokenizer.json': enc('{}') },
    });
    const back = storedWeights(await readWebLlmModel(store, record.model), CONFIG);
    for (const [name, w] of await readAll(model)) expect(Array.from(back.get(name)!.data), name).toEqual(Array.from(w.data, f16Round));
  });

  test('the base model must have been loaded in WebLLM once (config and tokenizer cached)', async () => {
    const model = new LlamaModel(CONFIG, randomWeights(CONFIG, 3));
    const store = memoryStore();
    const e = await installWebLlmModel({ model, modelId: 'x', base: BASE, store }).catch((x) => x);
    expect(e).toBeInstanceOf(ModelFetchError);
    expect(e.message).toMatch(/mlc-chat-config.json of the base model Qwen2.5-0.5B-Instruct-q4f16_1-MLC is not in this browser's WebLLM cache: load the base model in WebLLM once/);
    await expect(installWebLlmModel({ model, modelId: 'x', base: BASE, store, baseChatConfig: enc(JSON.stringify(chatConfig(CONFIG))) })).rejects.toThrow(/tokenizer.json of the base model/);
  });

  test('a base config for another architecture is refused, naming the field', () => {
    expect(() => checkChatConfig({ ...chatConfig(CONFIG), model_type: 'llama' }, CONFIG)).toThrow(ModelFormatError);
    expect(() => checkChatConfig({ ...chatConfig(CONFIG), quantization: 'q4f32_1' }, CONFIG)).toThrow(/quantization "q4f32_1"/);
    const cfg = chatConfig(CONFIG);
    expect(() => checkChatConfig({ ...cfg, model_config: { ...cfg.model_config, hidden_size: 896 } }, CONFIG)).toThrow(/model_config.hidden_size is 896, the tuned model has 40/);
    expect(checkChatConfig(cfg, CONFIG)).toBe('q4f16_1');
  });

  test('a re-export hides the old manifest first, so an interrupted one is never taken as complete', async () => {
    const model = new LlamaModel(CONFIG, randomWeights(CONFIG, 3));
    const store = memoryStore();
    const opts = { model, modelId: 'again', base: BASE, store, baseChatConfig: enc(JSON.stringify(chatConfig(CONFIG))), baseTokenizerFiles: { 'tokenizer.json': enc('{}') } };
    const record = await installWebLlmModel(opts);
    const ctrl = new AbortController();
    let n = 0;
    const failing = async (name: string) => {
      if (++n === 3) ctrl.abort();
      return mergedWeightSource(model)(name);
    };
    await expect(installWebLlmModel({ ...opts, weights: failing, signal: ctrl.signal })).rejects.toThrow(/cancelled/);
    expect(await store.get('webllm/model', modelFileUrl(record.model, 'tensor-cache.json'))).toBeNull();
  });

  test('app config: tuned records are added after the prebuilt list and replace a same-id record', () => {
    const rec = tunedModelRecord('t1', BASE);
    const cfg = appConfigWith({ model_list: [BASE, { ...rec, model_lib: 'old' }] }, [rec]);
    expect(cfg.model_list).toEqual([BASE, rec]);
  });
});

describe('Cache Storage adapter', () => {
  test('puts Responses under the absolute URL in a cache named by the scope, and reads them back', async () => {
    const caches = new Map<string, Map<string, Response>>();
    const storage: CacheStorageLike = {
      async open(name) {
        if (!caches.has(name)) caches.set(name, new Map());
        const c = caches.get(name)!;
        return {
          put: async (url, res) => void c.set(url, res),
          match: async (url) => c.get(url)?.clone(),
          delete: async (url) => c.delete(url),
        };
      },
    };
    const store = cacheStorageStore(storage);
    const url = modelFileUrl('https://expandr.local/webllm/m', 'params_shard_0.bin');
    await store.put('webllm/model', url, Uint8Array.of(1, 2, 3), 'application/octet-stream');
    const res = caches.get('webllm/model')!.get(url)!;
    expect([res.status, res.headers.get('Content-Type'), res.headers.get('Content-Length')]).toEqual([200, 'application/octet-stream', '3']);
    expect(Array.from((await store.get('webllm/model', url))!)).toEqual([1, 2, 3]);
    expect(await store.get('webllm/config', url)).toBeNull();
    await store.delete('webllm/model', url);
    expect(await store.get('webllm/model', url)).toBeNull();
  });
});
