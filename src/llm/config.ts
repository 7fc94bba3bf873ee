// The decoder's configuration: one typed shape for every Llama-family checkpoint we run (Llama 2/3,
// SmolLM2 = Llama, Qwen2/2.5, llama2.c), parsed from a Hugging Face config.json or a llama2.c header.
// Defaults are transformers' own (LlamaConfig / Qwen2Config, v4.46) so that a terse config.json means
// what it means in Python. Anything we cannot run faithfully throws ModelFormatError with the fix.
import { ModelFormatError } from '../errors.ts';

/** Llama 3.1's frequency-dependent RoPE rescaling (transformers `_compute_llama3_parameters`). */
export interface Llama3RopeScaling {
  type: 'llama3';
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositionEmbeddings: number;
}
export type RopeScaling = { type: 'none' } | Llama3RopeScaling;

/**
 * Which dimensions RoPE rotates together. 'half' (HF checkpoints): (i, i + headDim/2), transformers'
 * rotate_half. 'interleaved' (llama2.c, Meta's original): (2i, 2i + 1) — HF's conversion script permutes
 * q/k rows to get from one to the other; we keep the weights as stored and honour the layout instead.
 */
export type RopeLayout = 'half' | 'interleaved';

export interface DecoderConfig {
  /** Architecture family, for export and messages. */
  arch: 'llama' | 'qwen2';
  /** Residual width (hidden_size). */
  dim: number;
  layers: number;
  /** Query heads. */
  heads: number;
  /** Key/value heads (GQA: heads is a multiple of kvHeads). */
  kvHeads: number;
  headDim: number;
  /** FFN width (intermediate_size). */
  hidden: number;
  vocab: number;
  /** RMSNorm epsilon. */
  normEps: number;
  ropeTheta: number;
  ropeScaling: RopeScaling;
  ropeLayout: RopeLayout;
  /** Biases on q/k/v projections (Qwen2); o_proj never has one here. */
  attentionBias: boolean;
  /** lm_head shares model.embed_tokens.weight. */
  tiedEmbeddings: boolean;
  /** Longest sequence (prompt + generation) the model was trained for. */
  maxSeqLen: number;
  bosId: number | null;
  /** Generation stops at any of these. */
  eosIds: number[];
}

const ARCHS: Record<string, DecoderConfig['arch']> = {
  LlamaForCausalLM: 'llama',
  Qwen2ForCausalLM: 'qwen2',
};
const MODEL_TYPES: Record<string, DecoderConfig['arch']> = { llama: 'llama', qwen2: 'qwen2' };

/** transformers' defaults for fields a config.json may leave out (LlamaConfig / Qwen2Config). */
const HF_DEFAULTS = {
  llama: { rms_norm_eps: 1e-6, rope_theta: 10000, max_position_embeddings: 2048, tie_word_embeddings: false, bos: 1, eos: 2 },
  qwen2: { rms_norm_eps: 1e-6, rope_theta: 10000, max_position_embeddings: 32768, tie_word_embeddings: false, bos: null, eos: null },
} as const;

/** Parses a Hugging Face config.json (already JSON-parsed). `file` names it in errors. */
export function parseHfConfig(json: unknown, file = 'config.json'): DecoderConfig {
  const fail = (problem: string, fix: string) => new ModelFormatError(file, problem, fix);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw fail('not a JSON object', 'Give the config.json of a Hugging Face model.');
  const c = json as Record<string, unknown>;
  const archName = Array.isArray(c.architectures) ? String(c.architectures[0]) : undefined;
  const arch = (archName && ARCHS[archName]) ?? MODEL_TYPES[String(c.model_type)];
  if (!arch) {
    throw fail(
      `architecture ${archName ?? JSON.stringify(c.model_type)} is not supported`,
      `The tfjs decoder runs ${Object.keys(ARCHS).join(', ')} (SmolLM2 and Llama 3 are LlamaForCausalLM); pick one of those`,
    );
  }
  const int = (key: string, fallback?: number): number => {
    const v = c[key] ?? fallback;
    if (v === undefined || v === null) throw fail(`missing "${key}"`, 'Every Llama/Qwen2 config.json has it; re-download or re-export the config');
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw fail(`"${key}" must be a positive integer, got ${JSON.stringify(v)}`, 'Fix the config.json');
    return v;
  };
  const num = (key: string, fallback: number): number => {
    const v = c[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw fail(`"${key}" must be a positive number, got ${JSON.stringify(v)}`, 'Fix the config.json');
    return v;
  };
  const d = HF_DEFAULTS[arch];
  const act = c.hidden_act ?? 'silu';
  if (act !== 'silu') throw fail(`hidden_act "${String(act)}" is not supported`, 'Only SwiGLU (silu) MLPs are implemented');
  if (c.mlp_bias === true) throw fail('mlp_bias = true is not supported', 'Only bias-free MLPs (every released Llama/Qwen2) are implemented');
  if (arch === 'llama' && c.attention_bias === true) {
    throw fail('attention_bias = true (Llama) is not supported', 'Only Qwen2-style q/k/v biases are implemented');
  }
  if (c.use_sliding_window === true) throw fail('use_sliding_window = true is not supported', 'Use a checkpoint with full attention (all Qwen2.5 releases)');

  const dim = int('hidden_size');
  const heads = int('num_attention_heads');
  const kvHeads = int('num_key_value_heads', heads);
  const headDim = int('head_dim', Math.floor(dim / heads));
  if (heads % kvHeads !== 0) throw fail(`num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`, 'Fix the config.json');
  if (headDim % 2 !== 0) throw fail(`head dimension ${headDim} is odd; RoPE rotates pairs`, 'Fix the config.json');
  const tokenIds = (key: string, fallback: number | null): number[] => {
    const v = c[key] === undefined ? fallback : c[key];
    if (v === null) return [];
    const list = Array.isArray(v) ? v : [v];
    if (!list.every((x) => Number.isInteger(x) && (x as number) >= 0)) throw fail(`"${key}" must be a token id or a list of them`, 'Fix the config.json');
    return list as number[];
  };
  const bos = tokenIds('bos_token_id', d.bos);
  return {
    arch,
    dim,
    layers: int('num_hidden_layers'),
    heads,
    kvHeads,
    headDim,
    hidden: int('intermediate_size'),
    vocab: int('vocab_size'),
    normEps: num('rms_norm_eps', d.rms_norm_eps),
    ropeTheta: num('rope_theta', d.rope_theta),
    ropeScaling: parseRopeScaling(c.rope_scaling, fail),
    ropeLayout: 'half',
    attentionBias: arch === 'qwen2',
    tiedEmbeddings: typeof c.tie_word_embeddings === 'boolean' ? c.tie_word_embeddings : d.tie_word_embeddings,
    maxSeqLen: int('max_position_embeddings', d.max_position_embeddings),
    bosId: bos.length ? bos[0] : null,
    eosIds: tokenIds('eos_token_id', d.eos),
  };
}

function parseRopeScaling(v: unknown, fail: (p: string, f: string) => ModelFormatError): RopeScaling {
  if (v === undefined || v === null) return { type: 'none' };
  if (typeof v !== 'object' || Array.isArray(v)) throw fail('"rope_scaling" must be an object or null', 'Fix the config.json');
  const s = v as Record<string, unknown>;
  const type = s.rope_type ?? s.type; // transformers accepts both spellings
  if (type === 'default') return { type: 'none' };
  if (type !== 'llama3') {
    throw fail(`rope_scaling type ${JSON.stringify(type)} is not supported`, 'Supported: none/default and llama3 (Llama 3.1/3.2)');
  }
  const get = (key: string): number => {
    const x = s[key];
    if (typeof x !== 'number' || !Number.isFinite(x) || x <= 0) throw fail(`rope_scaling.${key} must be a positive number, got ${JSON.stringify(x)}`, 'Fix the config.json');
    return x;
  };
  const r: Llama3RopeScaling = {
    type: 'llama3',
    factor: get('factor'),
    lowFreqFactor: get('low_freq_factor'),
    highFreqFactor: get('high_freq_factor'),
    originalMaxPositionEmbeddings: get('original_max_position_embeddings'),
  };
  if (r.highFreqFactor <= r.lowFreqFactor) throw fail('rope_scaling.high_freq_factor must exceed low_freq_factor', 'Fix the config.json');
  return r;
}

/** The config.json transformers would read back as this model (for exporting merged checkpoints). */
export function toHfConfig(config: DecoderConfig): Record<string, unknown> {
  if (config.ropeLayout !== 'half') {
    throw new ModelFormatError('config.json', 'interleaved RoPE (llama2.c) has no HF config field', 'Permute q/k rows to the half layout before exporting');
  }
  const out: Record<string, unknown> = {
    architectures: [config.arch === 'qwen2' ? 'Qwen2ForCausalLM' : 'LlamaForCausalLM'],
    model_type: config.arch,
    hidden_size: config.dim,
    num_hidden_layers: config.layers,
    num_attention_heads: config.heads,
    num_key_value_heads: config.kvHeads,
    head_dim: config.headDim,
    intermediate_size: config.hidden,
    vocab_size: config.vocab,
    rms_norm_eps: config.normEps,
    rope_theta: config.ropeTheta,
    rope_scaling:
      config.ropeScaling.type === 'llama3'
        ? {
            rope_type: 'llama3',
            factor: config.ropeScaling.factor,
            low_freq_factor: config.ropeScaling.lowFreqFactor,
            high_freq_factor: config.ropeScaling.highFreqFactor,
            original_max_position_embeddings: config.ropeScaling.originalMaxPositionEmbeddings,
          }
        : null,
    hidden_act: 'silu',
    tie_word_embeddings: config.tiedEmbeddings,
    max_position_embeddings: config.maxSeqLen,
    bos_token_id: config.bosId,
    eos_token_id: config.eosIds.length === 1 ? config.eosIds[0] : config.eosIds,
    torch_dtype: 'float32',
  };
  if (config.arch === 'llama') Object.assign(out, { attention_bias: false, mlp_bias: false });
  else out.use_sliding_window = false;
  return out;
}

/** Throws unless the shapes hang together (used by every loader after building a config). */
export function checkConfig(config: DecoderConfig, file: string): void {
  const fail = (problem: string) => new ModelFormatError(file, problem, 'The file does not describe a Llama-family model we can run');
  for (const k of ['dim', 'layers', 'heads', 'kvHeads', 'headDim', 'hidden', 'vocab', 'maxSeqLen'] as const) {
    if (!Number.isInteger(config[k]) || config[k] <= 0) throw fail(`${k} must be a positive integer, got ${config[k]}`);
  }
  if (config.heads % config.kvHeads !== 0) throw fail(`heads ${config.heads} is not a multiple of kvHeads ${config.kvHeads}`);
  if (config.headDim % 2 !== 0) throw fail(`headDim ${config.headDim} is odd`);
}
