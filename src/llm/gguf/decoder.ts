// A GGUF file (llama.cpp's format) as the decoder's config + weights keyed by Hugging Face names, the way
// transformers reads it (`from_pretrained(dir, gguf_file=...)`, modeling_gguf_pytorch_utils.py and
// integrations/ggml.py): the metadata becomes the config, llama.cpp tensor names become HF names, and
// the q/k row permutation of llama.cpp's converter (Llama only) is undone so RoPE runs in HF's half layout.
// Tensors are read one at a time by range and dequantized (reader.ts), so the file is never held whole.
import { ModelFormatError, throwIfAborted } from '../../errors.ts';
import type { WorkOptions } from '../../util/progress.ts';
import { checkConfig, type DecoderConfig, type RopeScaling } from '../config.ts';
import { ropeInvFreq } from '../rope.ts';
import { expectedWeightShapes, selectWeights, type Weights } from '../weights.ts';
import { readGgufHeader, readTensorFloat32, type GgufFile, type GgufTensorInfo } from './reader.ts';
import type { GgufSource } from './source.ts';
import { ggufTokenizerFiles, type GgufTokenizerFiles } from './tokenizer-json.ts';

export const GGUF_ARCHITECTURES = ['llama', 'qwen2'] as const;
type GgufArch = (typeof GGUF_ARCHITECTURES)[number];

/** Llama 3.1's RoPE rescaling as every Llama 3.1/3.2 config.json has it (llama.cpp stores only the factors). */
const LLAMA3_ROPE = { lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 } as const;
/** rope_freqs holds float32 factors computed in float64 by the converter: agreement to this relative error. */
const ROPE_FREQS_TOLERANCE = 1e-5;

/** llama.cpp tensor name → HF name (transformers' GGUF_TO_TRANSFORMERS_MAPPING for llama / qwen2); null: not a weight we use. */
export function hfWeightName(name: string): string | null {
  const top: Record<string, string> = { 'token_embd.weight': 'model.embed_tokens.weight', 'output_norm.weight': 'model.norm.weight', 'output.weight': 'lm_head.weight' };
  if (top[name]) return top[name];
  const m = /^blk\.(\d+)\.([a-z_]+)\.(weight|bias)$/.exec(name);
  if (!m) return null;
  const layer: Record<string, string> = {
    attn_norm: 'input_layernorm',
    ffn_norm: 'post_attention_layernorm',
    attn_q: 'self_attn.q_proj',
    attn_k: 'self_attn.k_proj',
    attn_v: 'self_attn.v_proj',
    attn_output: 'self_attn.o_proj',
    ffn_gate: 'mlp.gate_proj',
    ffn_up: 'mlp.up_proj',
    ffn_down: 'mlp.down_proj',
  };
  return layer[m[2]] ? `model.layers.${m[1]}.${layer[m[2]]}.${m[3]}` : null;
}

/**
 * Undoes llama.cpp's q/k permutation (convert_hf_to_gguf.py LlamaModel.permute), as transformers'
 * reverse_permute_weights: within each head of `headDim` rows, HF row a·headDim/2 + i is GGUF row 2i + a.
 * Works for weights [rows, cols] and biases (cols = 1).
 */
export function unpermuteRows(data: Float32Array, heads: number, headDim: number, cols: number): Float32Array {
  return moveQkRows(data, heads, headDim, cols, 'to-hf');
}

/**
 * The q/k row order of llama.cpp against HF's, either way: within each head, HF row a·headDim/2 + i is GGUF
 * row 2i + a. 'to-hf' reads GGUF rows into HF order (the loader), 'to-gguf' the reverse (the GGUF export).
 */
export function moveQkRows(data: Float32Array, heads: number, headDim: number, cols: number, direction: 'to-hf' | 'to-gguf'): Float32Array {
  const half = headDim / 2;
  const out = new Float32Array(data.length);
  for (let h = 0; h < heads; h++) {
    for (let a = 0; a < 2; a++) {
      for (let i = 0; i < half; i++) {
        const hf = (h * headDim + a * half + i) * cols;
        const gguf = (h * headDim + 2 * i + a) * cols;
        const [from, to] = direction === 'to-hf' ? [gguf, hf] : [hf, gguf];
        out.set(data.subarray(from, from + cols), to);
      }
    }
  }
  return out;
}

/** The decoder config the metadata describes (bos/eos come from the tokenizer). `label` names the file in errors. */
export function ggufDecoderConfig(file: GgufFile, label: string, tokenizer: Pick<GgufTokenizerFiles, 'bosId' | 'stopIds'> | null = null): DecoderConfig {
  const meta = file.metadata as ReadonlyMap<string, unknown>;
  const fail = (problem: string, fix: string) => new ModelFormatError(label, problem, fix);
  const archName = meta.get('general.architecture');
  if (!(GGUF_ARCHITECTURES as readonly unknown[]).includes(archName)) {
    throw fail(
      `architecture ${JSON.stringify(archName)} is not supported`,
      `The tfjs decoder runs GGUF architectures ${GGUF_ARCHITECTURES.join(', ')} (SmolLM2, Llama 3, Qwen2/2.5); pick a model of one of those`,
    );
  }
  const arch = archName as GgufArch;
  const num = (key: string, fallback?: number): number => {
    const v = meta.get(`${arch}.${key}`) ?? fallback;
    if (v === undefined) throw fail(`no ${arch}.${key} in the metadata`, 'Every llama.cpp conversion writes it; re-convert the model');
    const n = Number(v);
    if (typeof v === 'object' || !Number.isFinite(n) || n <= 0) throw fail(`${arch}.${key} must be a positive number, got ${String(v)}`, 'Per-layer values are not supported; use a Llama/Qwen2 model');
    return n;
  };
  const dim = num('embedding_length');
  const heads = num('attention.head_count');
  const tokens = meta.get('tokenizer.ggml.tokens') as ArrayLike<unknown> | undefined;
  const vocabSize = tokens?.length ?? num('vocab_size');
  // llama: head_dim from rope.dimension_count (transformers' mapping); qwen2: hidden / heads.
  const headDim = arch === 'llama' ? num('rope.dimension_count', dim / heads) : dim / heads;
  const ropeTheta = num('rope.freq_base', 10000); // llama.cpp's and transformers' default
  const tied = !file.tensors.some((t) => t.name === 'output.weight');
  const config: DecoderConfig = {
    arch,
    dim,
    layers: num('block_count'),
    heads,
    kvHeads: num('attention.head_count_kv', heads),
    headDim,
    hidden: num('feed_forward_length'),
    vocab: vocabSize,
    normEps: num('attention.layer_norm_rms_epsilon'),
    ropeTheta,
    ropeScaling: ropeScaling(meta, arch, fail),
    ropeLayout: 'half', // after unpermuteRows (llama); qwen2 is stored in the half layout
    attentionBias: arch === 'qwen2',
    tiedEmbeddings: tied,
    maxSeqLen: num('context_length', 2048),
    bosId: tokenizer?.bosId ?? null,
    eosIds: [...(tokenizer?.stopIds ?? [])],
  };
  if (!Number.isInteger(config.headDim)) throw fail(`head dimension ${dim}/${heads} is not an integer`, 'The metadata does not describe a model we can run');
  if (arch === 'llama' && file.tensors.some((t) => /^blk\.\d+\.attn_[qkv]\.bias$/.test(t.name))) {
    throw fail('a llama GGUF with q/k/v biases is not supported', 'Only Qwen2-style attention biases are implemented');
  }
  checkConfig(config, label);
  return config;
}

function ropeScaling(meta: ReadonlyMap<string, unknown>, arch: GgufArch, fail: (p: string, f: string) => ModelFormatError): RopeScaling {
  const type = meta.get(`${arch}.rope.scaling.type`);
  if (type === undefined || type === 'none') return { type: 'none' };
  throw fail(`${arch}.rope.scaling.type ${JSON.stringify(type)} is not supported`, 'Supported: no scaling, and Llama 3.1-style frequency factors (rope_freqs)');
}

/**
 * Llama 3.1/3.2 GGUFs carry RoPE scaling as a `rope_freqs` tensor of per-frequency divisors instead of
 * metadata. When they equal the llama3 rule with Llama 3.1's constants and factor = their maximum, the
 * config gets that rule (transformers' `llama3` rope_type); other factors are refused rather than guessed.
 */
export function llama3ScalingFromFreqs(freqs: Float32Array, config: DecoderConfig, label: string): RopeScaling {
  const factor = Math.max(...freqs);
  if (factor === 1) return { type: 'none' };
  const scaling: RopeScaling = { type: 'llama3', factor, ...LLAMA3_ROPE };
  const plain = ropeInvFreq(config.headDim, config.ropeTheta, { type: 'none' });
  const scaled = ropeInvFreq(config.headDim, config.ropeTheta, scaling);
  const ok = freqs.length === plain.length && plain.every((p, i) => Math.abs(p / scaled[i] / freqs[i] - 1) <= ROPE_FREQS_TOLERANCE);
  if (!ok) throw new ModelFormatError(label, 'rope_freqs does not follow Llama 3.1\'s RoPE scaling rule', 'Only Llama 3.1-style frequency factors are supported');
  return scaling;
}

export interface GgufDecoder {
  file: GgufFile;
  config: DecoderConfig;
  weights: Weights;
  tokenizer: GgufTokenizerFiles;
}

/** Reads header, tokenizer and every weight the config needs, tensor by tensor. */
export async function readGgufDecoder(src: GgufSource, work: WorkOptions = {}): Promise<GgufDecoder> {
  const file = await readGgufHeader(src);
  const tokenizer = ggufTokenizerFiles(file.metadata as ReadonlyMap<string, unknown>, src.label);
  const config = ggufDecoderConfig(file, src.label, tokenizer);
  const wanted = expectedWeightShapes(config);
  const picked = file.tensors.filter((t) => wanted.has(hfWeightName(t.name) ?? ''));
  const ropeFreqs = file.tensors.find((t) => t.name === 'rope_freqs.weight');
  if (ropeFreqs) config.ropeScaling = llama3ScalingFromFreqs(await readTensorFloat32(src, file, ropeFreqs), config, src.label);
  const all: Weights = new Map();
  const total = picked.reduce((s, t) => s + t.byteLength, 0);
  let done = 0;
  for (const info of picked) {
    throwIfAborted(work.signal, 'Loading the model');
    work.onProgress?.({ stage: 'llm:load', done, total, unit: 'bytes', text: info.name });
    all.set(hfWeightName(info.name)!, { shape: hfShape(info), data: await tensorData(src, file, info, config) });
    done += info.byteLength;
  }
  work.onProgress?.({ stage: 'llm:load', done: total, total, unit: 'bytes' });
  return { file, config, weights: selectWeights(config, all, src.label), tokenizer };
}

/** GGUF dims run innermost first (ne[0] = columns); HF shapes outermost first. */
const hfShape = (info: GgufTensorInfo): number[] => [...info.dims].reverse().map(Number);

async function tensorData(src: GgufSource, file: GgufFile, info: GgufTensorInfo, config: DecoderConfig): Promise<Float32Array> {
  const data = await readTensorFloat32(src, file, info);
  if (config.arch !== 'llama') return data;
  const m = /^blk\.\d+\.attn_([qk])\./.exec(info.name);
  if (!m) return data;
  const shape = hfShape(info);
  return unpermuteRows(data, m[1] === 'q' ? config.heads : config.kvHeads, config.headDim, shape.length > 1 ? shape[1] : 1);
}
