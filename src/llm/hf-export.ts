// Hugging Face export of a decoder: a folder that transformers' LlamaForCausalLM / Qwen2ForCausalLM
// (`AutoModelForCausalLM.from_pretrained(DIR)`) loads and that gives our logits
// (tests/reference/interop-llama.test.ts checks it within 1e-4 on stories260K):
//   config.json             toHfConfig: architectures, hidden_size, num_key_value_heads, head_dim, rope_theta,
//                           rope_scaling, rms_norm_eps, tie_word_embeddings, bos/eos ids, torch_dtype float32
//   generation_config.json  bos/eos ids
//   model.safetensors       F32, metadata {"format": "pt"}, HF key names (model.embed_tokens.weight,
//                           model.layers.N.self_attn.q_proj.weight, …, lm_head.weight unless tied)
//   tokenizer files         copied from an HF source folder (tokenizer.json, tokenizer_config.json,
//                           special_tokens_map.json, tokenizer.model); for a llama2.c model, written from its
//                           tokenizer .bin (llama2cTokenizerFiles: a Llama-2-style SentencePiece BPE
//                           tokenizer.json with byte fallback, merges ranked by the pieces' scores)
// llama2.c checkpoints keep Meta's interleaved RoPE pairs (2i, 2i+1) in q/k rows; transformers rotates
// halves (i, i + d/2). The export permutes each head's q_proj/k_proj rows as HF's convert_llama_weights
// does (interleavedToHalf), which leaves every output unchanged. A LoRA adapter trained on the llama2.c
// model has q_proj/k_proj lora_B rows in the interleaved order too: peftAdapterForHfExport permutes them
// alike, so the adapter fits the exported folder (and no longer the llama2.c one).
import { ModelFormatError } from '../errors.ts';
import { readSafetensors, writeSafetensors } from '../model/safetensors.ts';
import { toHfConfig, type DecoderConfig } from './config.ts';
import type { ModelFiles } from './files.ts';
import { interleavedToHalf } from './llama2c.ts';
import { Llama2cTokenizer } from './llama2c-tokenizer.ts';
import type { DecoderTokenizer } from './tokenizer.ts';
import type { LlamaModel } from './llama.ts';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS } from './lora-peft.ts';
import { expectedWeightShapes, type WeightData, type Weights } from './weights.ts';

/** Tokenizer files an HF folder may carry; copied as they are. */
export const HF_TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'tokenizer.model', 'vocab.json', 'merges.txt'] as const;

export interface HfExport {
  /** File name → bytes (config.json, generation_config.json, model.safetensors, tokenizer files). */
  files: Map<string, Uint8Array>;
  /** The config as exported (ropeLayout 'half'). */
  config: DecoderConfig;
  /** Whether q/k rows were permuted from the interleaved (llama2.c) layout. */
  permutedQk: boolean;
  /** Tokenizer files written (empty for a llama2.c model). */
  tokenizerFiles: string[];
}

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v, null, 2) + '\n');

/** Weights of a built model as plain arrays (base weights only; attached adapters are not merged). */
export async function modelWeights(model: LlamaModel): Promise<Weights> {
  const out: Weights = new Map();
  for (const [name, v] of model.weights) out.set(name, { shape: [...v.shape], data: (await v.data()) as Float32Array });
  return out;
}

/**
 * The HF folder for `config` + `weights` (as a loader or `modelWeights` gives them). `source` is the model
 * folder the weights came from: its HF tokenizer files are copied when it has them; otherwise a llama2.c
 * `tokenizer` (what loadDecoderFiles gives for a llama2.c folder) is converted.
 */
export async function exportHfDecoder(config: DecoderConfig, weights: Weights, source?: ModelFiles, tokenizer?: DecoderTokenizer | null): Promise<HfExport> {
  const permutedQk = config.ropeLayout === 'interleaved';
  const half = interleavedToHalf(config, weights);
  const hfConfig = toHfConfig(half.config);
  const tensors = new Map<string, WeightData>();
  for (const [name, shape] of expectedWeightShapes(half.config)) {
    const w = half.weights.get(name);
    if (!w) throw new ModelFormatError('model.safetensors', `weight "${name}" is missing`, 'Export a complete model');
    if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i])) {
      throw new ModelFormatError('model.safetensors', `"${name}" has shape [${w.shape}], the config needs [${shape}]`, 'Export a consistent model');
    }
    tensors.set(name, w);
  }
  const files = new Map<string, Uint8Array>([
    ['config.json', json(hfConfig)],
    ['generation_config.json', json({ bos_token_id: hfConfig.bos_token_id, eos_token_id: hfConfig.eos_token_id, _from_model_config: true })],
    ['model.safetensors', writeSafetensors(tensors, { format: 'pt' })],
  ]);
  const tokenizerFiles: string[] = [];
  if (source) {
    for (const name of HF_TOKENIZER_FILES) {
      if (source.has(name)) {
        files.set(name, await source.read(name));
        tokenizerFiles.push(name);
      }
    }
  }
  if (!tokenizerFiles.length && tokenizer instanceof Llama2cTokenizer) {
    for (const [name, bytes] of llama2cTokenizerFiles(tokenizer)) {
      files.set(name, bytes);
      tokenizerFiles.push(name);
    }
  }
  return { files, config: half.config, permutedQk, tokenizerFiles };
}

/** SentencePiece's word-boundary mark, which llama2.c's export turned into ' '. */
const SPIECE = '\u2581';
const SPECIAL = ['<unk>', '<s>', '</s>'] as const;

/**
 * A llama2.c tokenizer (.bin) as Hugging Face tokenizer files, in the layout of Llama 2's tokenizer.json:
 * normalizer Prepend '▁' + Replace ' ' → '▁' (run.c's dummy prefix and spaces), no pre-tokenizer, a BPE
 * model with byte_fallback (ids 3..258 = <0x00>..<0xFF>, as run.c's fallback) whose merges are every split
 * of a piece into two pieces, ranked by the merged piece's score (best first, as run.c merges the best-
 * scoring pair, leftmost on ties), BOS prepended by the post-processor, and a decoder that undoes it
 * (Replace, ByteFallback, Fuse, Strip one leading space). tokenizer_config.json names LlamaTokenizer with
 * legacy = true so that transformers and transformers.js use tokenizer.json as it is.
 */
export function llama2cTokenizerFiles(tok: Llama2cTokenizer): Map<string, Uint8Array> {
  const fatal = new TextDecoder('utf-8', { fatal: true });
  const pieceText = (id: number): string => {
    if (id < SPECIAL.length) return SPECIAL[id];
    const binary = tok.pieces[id];
    const text = fatal.decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
    return text.replaceAll(' ', SPIECE);
  };
  const texts = tok.pieces.map((_, id) => pieceText(id));
  const vocab: Record<string, number> = {};
  texts.forEach((t, id) => {
    if (t in vocab) throw new ModelFormatError('tokenizer', `piece ${JSON.stringify(t)} occurs twice (ids ${vocab[t]}, ${id})`, 'Use a llama2.c tokenizer exported from SentencePiece');
    vocab[t] = id;
  });
  const isByte = (id: number) => id >= 3 && id < 259;
  const merges: { left: string; right: string; score: number; id: number; l: number; r: number }[] = [];
  texts.forEach((piece, id) => {
    if (id < SPECIAL.length || isByte(id)) return;
    const chars = [...piece];
    for (let i = 1; i < chars.length; i++) {
      const left = chars.slice(0, i).join('');
      const right = chars.slice(i).join('');
      const l = vocab[left];
      const r = vocab[right];
      if (l === undefined || r === undefined || l < SPECIAL.length || r < SPECIAL.length || isByte(l) || isByte(r)) continue;
      merges.push({ left, right, score: tok.scores[id], id, l, r });
    }
  });
  merges.sort((a, b) => b.score - a.score || a.id - b.id || a.l - b.l || a.r - b.r);
  const added = SPECIAL.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: SPIECE },
        { type: 'Replace', pattern: { String: ' ' }, content: SPIECE },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<s>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: SPIECE }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges: merges.map((m) => `${m.left} ${m.right}`),
    },
  };
  const specialMap = { bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>' };
  const tokenizerConfig = {
    add_bos_token: true,
    add_eos_token: false,
    added_tokens_decoder: Object.fromEntries(added.map(({ id, ...t }) => [String(id), t])),
    bos_token: '<s>',
    eos_token: '</s>',
    unk_token: '<unk>',
    pad_token: null,
    clean_up_tokenization_spaces: false,
    legacy: true,
    model_max_length: 1_000_000_000_000_000_019_884_624_838_656,
    sp_model_kwargs: {},
    tokenizer_class: 'LlamaTokenizer',
  };
  return new Map([
    ['tokenizer.json', json(tokenizerJson)],
    ['tokenizer_config.json', json(tokenizerConfig)],
    ['special_tokens_map.json', json(specialMap)],
  ]);
}

/** Row order that takes a head's interleaved RoPE rows to the half layout (row r of the result = row order[r]). */
function halfOrder(headDim: number): number[] {
  const h = headDim / 2;
  return [...Array(h).keys()].map((i) => 2 * i).concat([...Array(h).keys()].map((i) => 2 * i + 1));
}

/** Permutes the rows of a (rows, cols) matrix head by head. */
function permuteRows(w: WeightData, headDim: number): WeightData {
  const [rows, cols] = w.shape;
  const order = halfOrder(headDim);
  const data = new Float32Array(w.data.length);
  for (let r = 0; r < rows; r++) {
    const src = Math.floor(r / headDim) * headDim + order[r % headDim];
    data.set(w.data.subarray(src * cols, (src + 1) * cols), r * cols);
  }
  return { shape: w.shape, data };
}

/**
 * A PEFT adapter folder (file name → bytes, as exportPeftAdapter / readAdapterPath give it) trained on a
 * model with `config`, made to fit that model's HF export: for an interleaved-RoPE (llama2.c) model the
 * q_proj/k_proj lora_B rows are permuted as the export permutes q/k; otherwise the files are returned as
 * they are. `baseModel` replaces base_model_name_or_path when given.
 */
export function peftAdapterForHfExport(files: ReadonlyMap<string, Uint8Array>, config: DecoderConfig, baseModel?: string): Map<string, Uint8Array> {
  const out = new Map(files);
  const cfgBytes = files.get(ADAPTER_CONFIG);
  const stBytes = files.get(ADAPTER_WEIGHTS);
  if (!cfgBytes || !stBytes) throw new ModelFormatError('adapter', `needs ${ADAPTER_CONFIG} and ${ADAPTER_WEIGHTS}`, 'Give a PEFT adapter folder');
  if (baseModel !== undefined) {
    const cfg = JSON.parse(new TextDecoder().decode(cfgBytes)) as Record<string, unknown>;
    cfg.base_model_name_or_path = baseModel;
    out.set(ADAPTER_CONFIG, json(cfg));
  }
  if (config.ropeLayout !== 'interleaved') return out;
  const st = readSafetensors(stBytes, ADAPTER_WEIGHTS);
  const tensors = new Map<string, WeightData>();
  for (const [name, info] of st.tensors) {
    const w = { shape: info.shape, data: st.getFloat32(name) };
    tensors.set(name, /\.self_attn\.[qk]_proj\.lora_B(\.default)?\.weight$/.test(name) ? permuteRows(w, config.headDim) : w);
  }
  out.set(ADAPTER_WEIGHTS, writeSafetensors(tensors, Object.keys(st.metadata).length ? st.metadata : { format: 'pt' }));
  return out;
}
