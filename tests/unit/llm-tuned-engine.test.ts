// The engine choice for a tuned model: WebLLM when the quantised export is close enough (KL), else tfjs.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DecoderConfig } from '../../src/llm/config.ts';
import { LlamaModel } from '../../src/llm/llama.ts';
import { randomWeights } from '../../src/llm/weights.ts';
import { LoraAdapters } from '../../src/llm/lora.ts';
import { memoryStore } from '../../src/llm/webllm/cache.ts';
import { webLlmModelRecord, webLlmPreset } from '../../src/llm/webllm/presets.ts';
import { chooseTunedEngine } from '../../src/llm/tuned-engine.ts';

const CONFIG: DecoderConfig = {
  arch: 'qwen2', dim: 64, layers: 1, heads: 4, kvHeads: 2, headDim: 16, hidden: 96, vocab: 40, normEps: 1e-6,
  ropeTheta: 1e4, ropeScaling: { type: 'none' }, ropeLayout: 'half', attentionBias: true, tiedEmbeddings: true,
  maxSeqLen: 32, bosId: null, eosIds: [],
};
const enc = (s: string) => new TextEncoder().encode(s);
const chatConfig = {
  model_type: 'qwen2',
  quantization: 'q4f16_1',
  model_config: { hidden_size: 64, intermediate_size: 96, num_attention_heads: 4, num_hidden_layers: 1, num_key_value_heads: 2, vocab_size: 40, tie_word_embeddings: true, head_dim: 16, rms_norm_eps: 1e-6, rope_theta: 1e4 },
  vocab_size: 40,
  tokenizer_files: ['tokenizer.json'],
};
const PROMPTS = [[1, 5, 9, 3, 7, 2], [4, 4, 8, 15, 16, 23]];

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('chooseTunedEngine', () => {
  const setup = () => {
    const model = new LlamaModel(CONFIG, randomWeights(CONFIG, 7));
    const lora = LoraAdapters.attachNew(model, { seed: 1 });
    const store = memoryStore();
    const base = webLlmModelRecord(webLlmPreset('Qwen2.5-0.5B-Instruct-q4f16_1-MLC'));
    const opts = { modelId: 'tuned-1', base, store, baseChatConfig: enc(JSON.stringify(chatConfig)), baseTokenizerFiles: { 'tokenizer.json': enc('{}') }, klPrompts: PROMPTS };
    return { model, lora, store, opts };
  };

  it('installs the merged model into WebLLM when the export is within the KL limit', async () => {
    const { model, lora, store, opts } = setup();
    const r = await chooseTunedEngine(model, { ...opts, threshold: 10 });
    expect(r.engine).toBe('webllm');
    if (r.engine === 'webllm') expect(r.record.model_id).toBe('tuned-1');
    expect(r.kl.kl.mean).toBeGreaterThan(0);
    expect(store.entries.size).toBeGreaterThan(0);
    lora.dispose();
    model.dispose();
  });

  it('falls back to the tfjs decoder, writing nothing, when the quantisation swallows the adapter', async () => {
    const { model, lora, store, opts } = setup();
    const r = await chooseTunedEngine(model, { ...opts, threshold: 0 });
    expect(r.engine).toBe('tfjs');
    expect(r.reason).toMatch(/tfjs decoder/);
    expect(store.entries.size).toBe(0);
    lora.dispose();
    model.dispose();
  });
});
