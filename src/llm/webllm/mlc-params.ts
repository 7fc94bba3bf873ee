// Our Hugging Face-named decoder weights ↔ the parameters an MLC LLM (WebLLM) model library expects.
//
// Names from mlc-ai/mlc-llm python/mlc_llm/model/qwen2/qwen2_model.py (QWen2Attention.c_attn, fused q/k/v
// with bias; QWen2MLP.gate_up_proj; Qwen2Embedding shared with the head when tie_word_embeddings) and
// python/mlc_llm/model/llama/llama_model.py (LlamaAttention.qkv_proj without bias; LlamaFFN.gate_up_proj).
// The fusions are row concatenations [q; k; v] and [gate; up] (loader/standard_loader.py, concat axis 0);
// qwen2_loader.py passes qkv_target_name="c_attn". Quantised modules (every nn.Linear, and the embedding:
// GroupQuantize with quantize_embedding and quantize_final_fc) become `<module>.q_weight` + `.q_scale`
// (group_quantization.py), a Linear's bias stays `<module>.bias`; everything is float16 (model_dtype).
// WebLLM looks parameters up by these names (llm_chat.ts: metadata.params → getParamsFromCacheByName), so
// they and the shapes must match the prebuilt library of the base model exactly. Order = module order.
import { ModelFormatError } from '../../errors.ts';
import type { DecoderConfig } from '../config.ts';
import { expectedWeightShapes, type WeightData, type Weights } from '../weights.ts';
import { fromF16Array, toF16Array } from '../quant/f16.ts';
import { dequantizeQ4f16, q4Groups, q4Words, quantizeQ4f16 } from '../quant/q4f16.ts';
import type { NamedTensor } from './tensor-cache.ts';

/** q4f16_1: 4-bit weights, float16 scales and activations; q0f16: plain float16. */
export type MlcQuantization = 'q4f16_1' | 'q0f16';

/** One MLC module and the HF tensors it is built from (rows concatenated in this order). */
export interface MlcModule {
  /** MLC module name, e.g. 'model.layers.0.self_attn.c_attn'. */
  name: string;
  /** 'matrix' = a Linear or the embedding (quantised); 'vector' = a norm weight or a bias (float16). */
  kind: 'matrix' | 'vector';
  /** HF tensor names, e.g. q_proj/k_proj/v_proj weights. */
  sources: string[];
  /** Full MLC parameter name of a vector ('…c_attn.bias', '…input_layernorm.weight'). */
  param?: string;
}

/** A source of HF-named float32 weights (a LlamaModel's variables, merged with an adapter, or a Map). */
export type WeightSource = (hfName: string) => Promise<WeightData>;

/** The MLC modules of a config, in MLC's parameter order. */
export function mlcModules(config: DecoderConfig): MlcModule[] {
  if (config.arch === 'llama' && config.attentionBias) throw new ModelFormatError('config', 'Llama with attention bias has no MLC mapping here', 'Use a standard Llama checkpoint');
  const qkv = config.arch === 'qwen2' ? 'c_attn' : 'qkv_proj';
  const mods: MlcModule[] = [{ name: 'model.embed_tokens', kind: 'matrix', sources: ['model.embed_tokens.weight'] }];
  for (let l = 0; l < config.layers; l++) {
    const p = `model.layers.${l}.`;
    const a = `${p}self_attn.`;
    mods.push({ name: a + qkv, kind: 'matrix', sources: ['q_proj', 'k_proj', 'v_proj'].map((m) => `${a}${m}.weight`) });
    if (config.attentionBias) mods.push({ name: a + qkv, kind: 'vector', param: `${a}${qkv}.bias`, sources: ['q_proj', 'k_proj', 'v_proj'].map((m) => `${a}${m}.bias`) });
    mods.push({ name: a + 'o_proj', kind: 'matrix', sources: [`${a}o_proj.weight`] });
    mods.push({ name: `${p}mlp.gate_up_proj`, kind: 'matrix', sources: [`${p}mlp.gate_proj.weight`, `${p}mlp.up_proj.weight`] });
    mods.push({ name: `${p}mlp.down_proj`, kind: 'matrix', sources: [`${p}mlp.down_proj.weight`] });
    for (const n of ['input_layernorm', 'post_attention_layernorm']) mods.push({ name: p + n, kind: 'vector', param: `${p}${n}.weight`, sources: [`${p}${n}.weight`] });
  }
  mods.push({ name: 'model.norm', kind: 'vector', param: 'model.norm.weight', sources: ['model.norm.weight'] });
  if (!config.tiedEmbeddings) mods.push({ name: 'lm_head', kind: 'matrix', sources: ['lm_head.weight'] });
  return mods;
}

/** Rows and columns of a matrix module (sources stacked by rows). */
function matrixShape(c: DecoderConfig, m: MlcModule): [number, number] {
  const shapes = expectedWeightShapes(c);
  const rows = m.sources.reduce((a, s) => a + shapes.get(s)![0], 0);
  return [rows, shapes.get(m.sources[0])![1]];
}

/** Name, shape and dtype of every MLC parameter, in order (what the model library's metadata lists). */
export function mlcParamSpecs(config: DecoderConfig, quantization: MlcQuantization): { name: string; shape: number[]; dtype: NamedTensor['dtype'] }[] {
  const shapes = expectedWeightShapes(config);
  return mlcModules(config).flatMap((m) => {
    if (m.kind === 'vector') return [{ name: m.param!, shape: [m.sources.reduce((a, s) => a + shapes.get(s)![0], 0)], dtype: 'float16' as const }];
    const [rows, cols] = matrixShape(config, m);
    if (quantization === 'q0f16') return [{ name: `${m.name}.weight`, shape: [rows, cols], dtype: 'float16' as const }];
    return [
      { name: `${m.name}.q_weight`, shape: [rows, q4Words(cols)], dtype: 'uint32' as const },
      { name: `${m.name}.q_scale`, shape: [rows, q4Groups(cols)], dtype: 'float16' as const },
    ];
  });
}

const bytesOf = (a: Uint16Array | Uint32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Rows of several [r_i, cols] (or [n_i]) tensors stacked into one. */
async function stack(source: WeightSource, names: string[]): Promise<Float32Array> {
  const parts = await Promise.all(names.map(source));
  const out = new Float32Array(parts.reduce((a, p) => a + p.data.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p.data, at);
    at += p.data.length;
  }
  return out;
}

/**
 * The MLC parameters of a model, one tensor at a time (so a large model never needs two copies in memory).
 * `source` reads HF-named float32 weights; quantisation is MLC's (q4f16.ts) or a float16 cast.
 */
export async function* mlcTensors(config: DecoderConfig, source: WeightSource, quantization: MlcQuantization): AsyncGenerator<NamedTensor> {
  const specs = mlcParamSpecs(config, quantization);
  let i = 0;
  for (const m of mlcModules(config)) {
    const data = await stack(source, m.sources);
    if (m.kind === 'vector' || quantization === 'q0f16') {
      const s = specs[i++];
      yield { ...s, bytes: bytesOf(toF16Array(data)) };
      continue;
    }
    const [rows, cols] = matrixShape(config, m);
    const t = quantizeQ4f16(data, rows, cols);
    yield { ...specs[i++], bytes: bytesOf(t.qWeight) };
    yield { ...specs[i++], bytes: bytesOf(t.qScale) };
  }
}

/** Reads little-endian bytes as a typed array, copying when the view is not aligned. */
function view<T extends Uint16Array | Uint32Array>(bytes: Uint8Array, Ctor: { new (b: ArrayBuffer, o: number, n: number): T; BYTES_PER_ELEMENT: number }): T {
  const n = bytes.byteLength / Ctor.BYTES_PER_ELEMENT;
  if (bytes.byteOffset % Ctor.BYTES_PER_ELEMENT === 0) return new Ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, n);
  return new Ctor(bytes.slice().buffer as ArrayBuffer, 0, n);
}

/**
 * The inverse: MLC parameters → HF-named float32 weights (dequantised, fused tensors split), ready for
 * `new LlamaModel(config, weights)`. Used to read an export back and to measure what quantisation did.
 */
export function weightsFromMlc(config: DecoderConfig, params: Map<string, NamedTensor>, quantization: MlcQuantization, file = 'tensor-cache.json'): Weights {
  const shapes = expectedWeightShapes(config);
  const get = (name: string, shape: number[], dtype: NamedTensor['dtype']) => {
    const t = params.get(name);
    if (!t) throw new ModelFormatError(file, `no parameter "${name}"`, 'The export does not match this architecture; re-export it');
    if (t.dtype !== dtype || t.shape.join() !== shape.join()) {
      throw new ModelFormatError(file, `"${name}" is [${t.shape}] ${t.dtype}, expected [${shape}] ${dtype}`, 'The export does not match this config');
    }
    return t.bytes;
  };
  const out: Weights = new Map();
  for (const m of mlcModules(config)) {
    let data: Float32Array;
    if (m.kind === 'vector') {
      const n = m.sources.reduce((a, s) => a + shapes.get(s)![0], 0);
      data = fromF16Array(view(get(m.param!, [n], 'float16'), Uint16Array));
    } else {
      const [rows, cols] = matrixShape(config, m);
      if (quantization === 'q0f16') data = fromF16Array(view(get(`${m.name}.weight`, [rows, cols], 'float16'), Uint16Array));
      else {
        const qWeight = view(get(`${m.name}.q_weight`, [rows, q4Words(cols)], 'uint32'), Uint32Array);
        const qScale = view(get(`${m.name}.q_scale`, [rows, q4Groups(cols)], 'float16'), Uint16Array);
        data = dequantizeQ4f16({ qWeight, qScale, rows, cols });
      }
    }
    let at = 0;
    for (const s of m.sources) {
      const shape = shapes.get(s)!;
      const n = shape.reduce((a, d) => a * d, 1);
      out.set(s, { shape, data: data.slice(at, at + n) });
      at += n;
    }
  }
  return out;
}

/** Parameters of the unquantised HF model (convert_weight.py's total_param_num, for BitsPerParam). */
export function sourceParamCount(config: DecoderConfig): number {
  let n = 0;
  for (const shape of expectedWeightShapes(config).values()) n += shape.reduce((a, d) => a * d, 1);
  return n;
}
