// The decoder's weights as plain arrays, keyed by Hugging Face names: what every loader produces
// (safetensors, llama2.c .bin, random init) and what LlamaModel turns into tf.Variables. Keeping the
// HF names end to end means a LoRA adapter, a merged checkpoint or a WebLLM export needs no renaming.
import { ModelFormatError } from '../errors.ts';
import { createRng } from '../util/random.ts';
import type { DecoderConfig } from './config.ts';

/** One weight tensor, row-major float32 (linear weights are [out, in] as in PyTorch). */
export interface WeightData {
  shape: number[];
  data: Float32Array;
}
export type Weights = Map<string, WeightData>;

/** Module names of the projections in layer l, in forward order (the LoRA target names end with these). */
export const LAYER_LINEARS = [
  'self_attn.q_proj',
  'self_attn.k_proj',
  'self_attn.v_proj',
  'self_attn.o_proj',
  'mlp.gate_proj',
  'mlp.up_proj',
  'mlp.down_proj',
] as const;

/** Every weight the config needs, HF name → shape. `lm_head.weight` only when not tied. */
export function expectedWeightShapes(config: DecoderConfig): Map<string, number[]> {
  const q = config.heads * config.headDim;
  const kv = config.kvHeads * config.headDim;
  const m = new Map<string, number[]>();
  m.set('model.embed_tokens.weight', [config.vocab, config.dim]);
  for (let l = 0; l < config.layers; l++) {
    const p = `model.layers.${l}.`;
    m.set(p + 'input_layernorm.weight', [config.dim]);
    m.set(p + 'self_attn.q_proj.weight', [q, config.dim]);
    m.set(p + 'self_attn.k_proj.weight', [kv, config.dim]);
    m.set(p + 'self_attn.v_proj.weight', [kv, config.dim]);
    if (config.attentionBias) {
      m.set(p + 'self_attn.q_proj.bias', [q]);
      m.set(p + 'self_attn.k_proj.bias', [kv]);
      m.set(p + 'self_attn.v_proj.bias', [kv]);
    }
    m.set(p + 'self_attn.o_proj.weight', [config.dim, q]);
    m.set(p + 'post_attention_layernorm.weight', [config.dim]);
    m.set(p + 'mlp.gate_proj.weight', [config.hidden, config.dim]);
    m.set(p + 'mlp.up_proj.weight', [config.hidden, config.dim]);
    m.set(p + 'mlp.down_proj.weight', [config.dim, config.hidden]);
  }
  m.set('model.norm.weight', [config.dim]);
  if (!config.tiedEmbeddings) m.set('lm_head.weight', [config.vocab, config.dim]);
  return m;
}

/**
 * Keeps exactly the weights the config needs, checking presence and shapes. Extra tensors (a stored
 * lm_head of a tied model, rotary inv_freq buffers of old exports) are dropped.
 */
export function selectWeights(config: DecoderConfig, all: Weights, file: string): Weights {
  const out: Weights = new Map();
  const missing: string[] = [];
  for (const [name, shape] of expectedWeightShapes(config)) {
    const w = all.get(name);
    if (!w) {
      missing.push(name);
      continue;
    }
    if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i])) {
      throw new ModelFormatError(file, `"${name}" has shape [${w.shape}] but the config needs [${shape}]`, 'The weights do not belong to this config.json');
    }
    out.set(name, w);
  }
  if (missing.length) {
    const shown = missing.slice(0, 5).join(', ') + (missing.length > 5 ? ` and ${missing.length - 5} more` : '');
    throw new ModelFormatError(file, `missing ${missing.length} weight(s): ${shown}`, 'Check that the checkpoint matches the architecture in config.json');
  }
  return out;
}

/**
 * Random weights for tests and benchmarks: N(0, std²) matrices, norms at 1, biases N(0, std²).
 * Deterministic in the seed (same values in Node and the browser).
 */
export function randomWeights(config: DecoderConfig, seed: number, std = 0.02): Weights {
  const rng = createRng(seed);
  const out: Weights = new Map();
  for (const [name, shape] of expectedWeightShapes(config)) {
    const n = shape.reduce((a, d) => a * d, 1);
    const data = new Float32Array(n);
    if (name.endsWith('layernorm.weight') || name === 'model.norm.weight') data.fill(1);
    else for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
    out.set(name, { shape, data });
  }
  return out;
}
