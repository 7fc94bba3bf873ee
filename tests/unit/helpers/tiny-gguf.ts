// A tiny llama.cpp-style Llama GGUF (q/k rows permuted, matrices Q4_1, embedding Q8_0, norms F32, a byte-level
// tokenizer and chat template in the metadata) and a seeded PEFT LoRA adapter for it, built without tfjs.
import type { DecoderConfig } from '../../../src/llm/config.ts';
import { GgmlType } from '../../../src/llm/gguf/ggml-types.ts';
import { permuteRows } from '../../../src/llm/gguf/merge-export.ts';
import { quantizeTensor } from '../../../src/llm/gguf/quantize.ts';
import { GgufValueType, type GgufMetadataEntry } from '../../../src/llm/gguf/reader.ts';
import { writeGguf, type GgufTensorOut } from '../../../src/llm/gguf/writer.ts';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, PEFT_KEY_PREFIX, peftAdapterConfig } from '../../../src/llm/lora-peft.ts';
import { writeSafetensors } from '../../../src/model/safetensors.ts';
import { randomWeights, type Weights } from '../../../src/llm/weights.ts';
import { createRng } from '../../../src/util/random.ts';

export const TINY_GGUF_CONFIG: DecoderConfig = {
  arch: 'llama', dim: 64, layers: 2, heads: 4, kvHeads: 2, headDim: 16, hidden: 96, vocab: 128, normEps: 1e-5, ropeTheta: 10000,
  ropeScaling: { type: 'none' }, ropeLayout: 'half', attentionBias: false, tiedEmbeddings: true, maxSeqLen: 64, bosId: null, eosIds: [],
};

const LAYER_NAMES: [string, string][] = [
  ['attn_norm', 'input_layernorm'], ['attn_q', 'self_attn.q_proj'], ['attn_k', 'self_attn.k_proj'], ['attn_v', 'self_attn.v_proj'],
  ['attn_output', 'self_attn.o_proj'], ['ffn_gate', 'mlp.gate_proj'], ['ffn_up', 'mlp.up_proj'], ['ffn_down', 'mlp.down_proj'], ['ffn_norm', 'post_attention_layernorm'],
];

/** The bytes a sink received, joined. */
export async function collectBytes(write: (sink: { write(c: Uint8Array): void }) => Promise<void>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  await write({ write: (c) => void chunks.push(c.slice()) });
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) (out.set(c, at), (at += c.length));
  return out;
}

/** A llama.cpp-style GGUF of `weights` (default: random, seed 11). */
export async function tinyGguf(weights: Weights = randomWeights(TINY_GGUF_CONFIG, 11, 0.08), config = TINY_GGUF_CONFIG): Promise<Uint8Array> {
  const u32 = (key: string, value: number): GgufMetadataEntry => ({ key, type: GgufValueType.UINT32, value });
  const f32 = (key: string, value: number): GgufMetadataEntry => ({ key, type: GgufValueType.FLOAT32, value });
  const str = (key: string, value: string): GgufMetadataEntry => ({ key, type: GgufValueType.STRING, value });
  const tokens = Array.from({ length: config.vocab }, (_, i) => (i < 2 ? ['<|im_start|>', '<|im_end|>'][i] : `t${i}`));
  const metadata: GgufMetadataEntry[] = [
    str('general.architecture', 'llama'), str('general.name', 'Tiny Llama'), u32('llama.block_count', config.layers), u32('llama.context_length', config.maxSeqLen),
    u32('llama.embedding_length', config.dim), u32('llama.feed_forward_length', config.hidden), u32('llama.attention.head_count', config.heads),
    u32('llama.attention.head_count_kv', config.kvHeads), f32('llama.rope.freq_base', config.ropeTheta), f32('llama.attention.layer_norm_rms_epsilon', config.normEps),
    u32('general.file_type', 3), u32('llama.vocab_size', config.vocab), u32('llama.rope.dimension_count', config.headDim), str('tokenizer.ggml.model', 'gpt2'),
    { key: 'tokenizer.ggml.tokens', type: GgufValueType.ARRAY, itemType: GgufValueType.STRING, value: tokens },
    { key: 'tokenizer.ggml.token_type', type: GgufValueType.ARRAY, itemType: GgufValueType.INT32, value: Int32Array.from(tokens, (_, i) => (i < 2 ? 3 : 1)) },
    { key: 'tokenizer.ggml.merges', type: GgufValueType.ARRAY, itemType: GgufValueType.STRING, value: ['t 1'] },
    str('tokenizer.chat_template', "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"),
    u32('general.quantization_version', 2),
  ];
  const names: [string, string][] = [['token_embd.weight', 'model.embed_tokens.weight']];
  for (let l = 0; l < config.layers; l++) for (const [g, h] of LAYER_NAMES) names.push([`blk.${l}.${g}.weight`, `model.layers.${l}.${h}.weight`]);
  names.push(['output_norm.weight', 'model.norm.weight']);
  const tensors: GgufTensorOut[] = names.map(([name, hf]) => {
    const w = weights.get(hf)!;
    const qk = /attn_([qk])/.exec(name);
    const values = qk ? permuteRows(w.data, qk[1] === 'q' ? config.heads : config.kvHeads, config.headDim, w.shape[1]) : w.data;
    const type = w.shape.length === 1 ? GgmlType.F32 : name === 'token_embd.weight' ? GgmlType.Q8_0 : GgmlType.Q4_1;
    const bytes = quantizeTensor(values, w.shape[w.shape.length - 1], type, name);
    return { name, dims: [...w.shape].reverse(), type, byteLength: bytes.length, data: async () => bytes };
  });
  return collectBytes(async (sink) => void (await writeGguf(sink, { metadata, tensors })));
}

/**
 * A PEFT adapter folder (adapter_config.json + adapter_model.safetensors, as exportPeftAdapter writes it) with
 * seeded random A and B (B nonzero, so the merge changes the weights) on `targets` of every layer.
 */
export function seededLoraAdapter(opts: { seed?: number; targets?: string[]; r?: number; alpha?: number; baseModel?: string; config?: DecoderConfig } = {}): Map<string, Uint8Array> {
  const { seed = 4, targets = ['q_proj', 'v_proj'], r = 8, alpha = 32, baseModel = 'tiny.gguf', config = TINY_GGUF_CONFIG } = opts;
  const rng = createRng(seed);
  const normal = (n: number, std: number) => Float32Array.from({ length: n }, () => rng.normal() * std);
  const outDim = (t: string) => (t === 'q_proj' || t === 'o_proj' ? config.heads : t === 'k_proj' || t === 'v_proj' ? config.kvHeads : NaN) * config.headDim;
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (let l = 0; l < config.layers; l++) {
    for (const t of targets) {
      const key = `${PEFT_KEY_PREFIX}model.layers.${l}.self_attn.${t}`;
      tensors.set(`${key}.lora_A.weight`, { shape: [r, config.dim], data: normal(r * config.dim, 0.1) });
      tensors.set(`${key}.lora_B.weight`, { shape: [outDim(t), r], data: normal(outDim(t) * r, 0.05) });
    }
  }
  const settings = { r, alpha, dropout: 0.1, targetModules: targets, useRslora: false, seed };
  return new Map([
    [ADAPTER_CONFIG, new TextEncoder().encode(JSON.stringify(peftAdapterConfig(settings, baseModel), null, 2) + '\n')],
    [ADAPTER_WEIGHTS, writeSafetensors(tensors, { format: 'pt' })],
  ]);
}
