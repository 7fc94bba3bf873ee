// config.json → DecoderConfig: transformers' defaults, real-model shapes, and errors that name the fix.
import { describe, expect, test } from 'vitest';
import { ModelFormatError } from '../../src/errors.ts';
import { parseHfConfig, toHfConfig } from '../../src/llm/config.ts';
import { ropeInvFreq } from '../../src/llm/rope.ts';

// Qwen2.5-0.5B-Instruct's config.json (the fields that matter), as published.
const QWEN25_05B = {
  architectures: ['Qwen2ForCausalLM'],
  bos_token_id: 151643,
  eos_token_id: 151645,
  hidden_act: 'silu',
  hidden_size: 896,
  intermediate_size: 4864,
  max_position_embeddings: 32768,
  model_type: 'qwen2',
  num_attention_heads: 14,
  num_hidden_layers: 24,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  sliding_window: 32768,
  tie_word_embeddings: true,
  use_sliding_window: false,
  vocab_size: 151936,
};
// Llama-3.2-1B-Instruct's.
const LLAMA32_1B = {
  architectures: ['LlamaForCausalLM'],
  bos_token_id: 128000,
  eos_token_id: [128001, 128008, 128009],
  head_dim: 64,
  hidden_act: 'silu',
  hidden_size: 2048,
  intermediate_size: 8192,
  max_position_embeddings: 131072,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 16,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-5,
  rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
  rope_theta: 500000.0,
  tie_word_embeddings: true,
  vocab_size: 128256,
};

describe('parseHfConfig', () => {
  test('Qwen2.5-0.5B: GQA 14/2, q/k/v bias, tied, θ 1e6', () => {
    const c = parseHfConfig(QWEN25_05B);
    expect(c).toMatchObject({ arch: 'qwen2', dim: 896, layers: 24, heads: 14, kvHeads: 2, headDim: 64, hidden: 4864, vocab: 151936 });
    expect(c).toMatchObject({ attentionBias: true, tiedEmbeddings: true, ropeTheta: 1e6, ropeLayout: 'half', bosId: 151643, eosIds: [151645] });
    expect(c.ropeScaling).toEqual({ type: 'none' });
  });

  test('Llama 3.2-1B: llama3 rope scaling, several eos ids', () => {
    const c = parseHfConfig(LLAMA32_1B);
    expect(c.ropeScaling).toEqual({ type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 });
    expect(c.eosIds).toEqual([128001, 128008, 128009]);
    expect(c.attentionBias).toBe(false);
    // High frequencies kept, low ones divided by the factor.
    const plain = ropeInvFreq(64, 500000, { type: 'none' });
    const scaled = ropeInvFreq(64, 500000, c.ropeScaling);
    expect(scaled[0]).toBe(plain[0]);
    expect(scaled[31]).toBeCloseTo(plain[31] / 32, 12);
  });

  test("missing optional fields take transformers' defaults (SmolLM2-style terse Llama config)", () => {
    const c = parseHfConfig({ architectures: ['LlamaForCausalLM'], hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 128, vocab_size: 100 });
    expect(c).toMatchObject({ kvHeads: 4, headDim: 16, normEps: 1e-6, ropeTheta: 10000, maxSeqLen: 2048, tiedEmbeddings: false, bosId: 1, eosIds: [2] });
  });

  test('toHfConfig round-trips', () => {
    for (const raw of [QWEN25_05B, LLAMA32_1B]) {
      const c = parseHfConfig(raw);
      expect(parseHfConfig(toHfConfig(c))).toEqual(c);
    }
  });

  const base = { architectures: ['LlamaForCausalLM'], hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 128, vocab_size: 100 };
  test.each([
    ['unsupported architecture', { ...base, architectures: ['GPT2LMHeadModel'], model_type: 'gpt2' }, /not supported.*LlamaForCausalLM/],
    ['missing hidden_size', { ...base, hidden_size: undefined }, /missing "hidden_size"/],
    ['non-integer layers', { ...base, num_hidden_layers: 2.5 }, /"num_hidden_layers" must be a positive integer/],
    ['heads not a multiple of kv heads', { ...base, num_key_value_heads: 3 }, /not a multiple/],
    ['gelu MLP', { ...base, hidden_act: 'gelu' }, /hidden_act "gelu"/],
    ['yarn rope scaling', { ...base, rope_scaling: { rope_type: 'yarn', factor: 4 } }, /rope_scaling type "yarn"/],
    ['llama3 scaling without factor', { ...base, rope_scaling: { rope_type: 'llama3' } }, /rope_scaling.factor/],
    ['Llama attention_bias', { ...base, attention_bias: true }, /attention_bias/],
    ['sliding window', { ...base, architectures: ['Qwen2ForCausalLM'], use_sliding_window: true }, /use_sliding_window/],
    ['not an object', [1, 2], /not a JSON object/],
  ])('%s → ModelFormatError', (_, raw, message) => {
    const run = () => parseHfConfig(raw, 'm/config.json');
    expect(run).toThrow(ModelFormatError);
    expect(run).toThrow(message);
    expect(run).toThrow(/^m\/config\.json: /);
  });
});
