// The tuned model back out as GGUF: the source file's metadata and tensor table carried over, the merged
// matrices (W + scaling·B·A, merge.ts) written back under their llama.cpp names with llama.cpp's q/k row
// permutation re-applied (the exact inverse of decoder.ts's unpermuteRows), so llama.cpp, Ollama, LM Studio
// and transformers run the tuned model. Tensors are produced one at a time for writer.ts's streaming sink.
//
// Tensor types (`GgufExportTypes`):
//   'source'      (default) merged matrices F16; every other tensor copied byte for byte from the source;
//   'requantize'  merged matrices requantized to their source type (quantize.ts) where it has a quantizer
//                 (K-quant sources fall back to F16); other tensors copied;
//   'f16'         every 2-D tensor F16 (general.file_type 1, MOSTLY_F16).
// 1-D tensors (norms, biases) are F32 in all three.
// Measured on SmolLM2-135M-Instruct (Q4_1), our decoder reading each export back vs the adapter-on model
// (float32), max |Δ last-position logit| (tests/reference/gguf-export.test.ts, EXPANDR_GGUF_EXPORT_DRIFT=1):
//   LoRA q_proj/v_proj r 8 α 32, seeded B (effect 3.35):    'source' 0.014   'f16' 0.030   'requantize' 3.68
//   train-llm --steps 2 DPO adapter, lr 2e-5 (effect 0.029): 'source' 0.0086  'f16' 0.025   'requantize' 0.029
// 'source' is the default. Its only loss is float16 rounding of the 60 merged matrices, mostly re-rounding W
// (31% of Q4_1's dequantized values need more than float16's 11 bits), not ΔW; the file stays the size and
// speed class of its source (117 MB vs 98 MB; 'f16' is 271 MB) and every untouched tensor is exactly what the
// user had. Requantizing to 4 bits does not keep the tuning: its noise is as large as a strong update, and a
// small DPO update snaps back to the old codes (51 of the 60 matrices byte-identical to the source, 99.8% of
// rows), so the file is the base model again. It is offered, not chosen.
import { ModelFormatError, throwIfAborted } from '../../errors.ts';
import type { WorkOptions } from '../../util/progress.ts';
import type { DecoderConfig } from '../config.ts';
import type { WeightSource } from '../webllm/mlc-params.ts';
import { hfWeightName, moveQkRows, unpermuteRows } from './decoder.ts';
import type { MergedWeights } from './merge.ts';
import { GGML_BLOCK, GgmlType, ggmlTypeName } from './ggml-types.ts';
import { canQuantize, quantizeTensor } from './quantize.ts';
import { GgufValueType, readTensorBytes, readTensorFloat32, type GgufFile, type GgufTensorInfo, type GgufMetadataEntry } from './reader.ts';
import type { GgufSource } from './source.ts';
import { writeGguf, type GgufSink, type GgufTensorOut } from './writer.ts';

export const GGUF_EXPORT_TYPES = ['source', 'requantize', 'f16'] as const;
export type GgufExportTypes = (typeof GGUF_EXPORT_TYPES)[number];
export const DEFAULT_GGUF_EXPORT_TYPES: GgufExportTypes = 'source';

/** llama_ftype LLAMA_FTYPE_MOSTLY_F16: general.file_type of an all-F16 export. */
const FILE_TYPE_MOSTLY_F16 = 1;

export interface GgufExportOptions extends WorkOptions {
  types?: GgufExportTypes;
  /** general.name of the export; default: the source's name + " (ExpandR-tuned)". */
  name?: string;
}

export interface GgufExportSummary {
  bytes: number;
  tensors: number;
  /** llama.cpp names of the merged matrices, in file order. */
  merged: string[];
  /** ggml type name → tensor count in the export. */
  typeCounts: Record<string, number>;
  types: GgufExportTypes;
}

/**
 * llama.cpp's permutation of q/k rows (convert_hf_to_gguf.py LlamaModel.permute), the inverse of
 * decoder.ts's unpermuteRows: within each head of `headDim` rows, GGUF row 2i + a is HF row a·headDim/2 + i.
 */
export function permuteRows(data: Float32Array, heads: number, headDim: number, cols: number): Float32Array {
  return moveQkRows(data, heads, headDim, cols, 'to-gguf');
}

/** Heads of a q/k matrix that llama.cpp permuted (Llama only; Qwen2 keeps HF's order), else null. */
export function permutedHeads(name: string, config: DecoderConfig): number | null {
  const m = config.arch === 'llama' ? /^blk\.\d+\.attn_([qk])\./.exec(name) : null;
  return m ? (m[1] === 'q' ? config.heads : config.kvHeads) : null;
}

/** The type a tensor is written as. */
function outputType(info: GgufTensorInfo, changed: boolean, types: GgufExportTypes): GgmlType {
  const rowLength = info.dims[0];
  if (info.dims.length === 1) return GgmlType.F32;
  if (types === 'f16') return GgmlType.F16;
  if (!changed) return info.type;
  if (types === 'requantize' && canQuantize(info.type) && rowLength % GGML_BLOCK[info.type].weights === 0) return info.type;
  return GgmlType.F16;
}

/** The source metadata in file order, with general.name, general.description and (for 'f16') general.file_type set. */
function exportMetadata(file: GgufFile, name: string, description: string, types: GgufExportTypes): GgufMetadataEntry[] {
  const set: GgufMetadataEntry[] = [
    { key: 'general.name', type: GgufValueType.STRING, value: name },
    { key: 'general.description', type: GgufValueType.STRING, value: description },
    ...(types === 'f16' ? [{ key: 'general.file_type', type: GgufValueType.UINT32, value: FILE_TYPE_MOSTLY_F16 }] : []),
  ];
  const out = file.metadataEntries.map((e) => set.find((s) => s.key === e.key) ?? e); // replaced in place
  const missing = set.filter((s) => !out.includes(s));
  // New general.* keys after general.name (else general.architecture), where llama.cpp's converter puts them.
  const after = out.findIndex((e) => e.key === 'general.name');
  const at = (after >= 0 ? after : out.findIndex((e) => e.key === 'general.architecture')) + 1;
  out.splice(at, 0, ...missing);
  return out;
}

/**
 * Writes `tuned` (the merged weights) over the GGUF `file` read from `src` into `sink`. `config` is the
 * decoder config of that file (decoder.ts), for the q/k permutation.
 */
export async function exportTunedGguf(src: GgufSource, file: GgufFile, config: DecoderConfig, tuned: MergedWeights, sink: GgufSink, options: GgufExportOptions = {}): Promise<GgufExportSummary> {
  const types = options.types ?? DEFAULT_GGUF_EXPORT_TYPES;
  const merged: string[] = [];
  const typeCounts: Record<string, number> = {};
  const known = new Set<string>();
  const tensors: GgufTensorOut[] = file.tensors.map((info) => {
    const hf = hfWeightName(info.name);
    const changed = hf !== null && tuned.changed.has(hf);
    if (hf) known.add(hf);
    if (changed) merged.push(info.name);
    const type = outputType(info, changed, types);
    typeCounts[ggmlTypeName(type)] = (typeCounts[ggmlTypeName(type)] ?? 0) + 1;
    const copy = !changed && type === info.type;
    return {
      name: info.name,
      dims: [...info.dims],
      type,
      byteLength: copy ? info.byteLength : (info.elements / GGML_BLOCK[type].weights) * GGML_BLOCK[type].bytes,
      data: async () => {
        throwIfAborted(options.signal, 'Exporting the GGUF file');
        if (copy) return readTensorBytes(src, info);
        const values = changed ? await mergedValues(info, hf!, tuned, config) : await readTensorFloat32(src, file, info);
        return quantizeTensor(values, info.dims[0], type, info.name);
      },
    };
  });
  const missing = [...tuned.changed].filter((n) => !known.has(n));
  if (missing.length) throw new ModelFormatError(src.label, `the adapter changes ${missing.slice(0, 3).join(', ')}, which the file does not have`, 'Merge an adapter trained on this model (a tied lm_head cannot take a LoRA)');
  const sourceName = typeof file.metadata.get('general.name') === 'string' ? String(file.metadata.get('general.name')) : src.label.split('/').pop()!;
  const name = options.name ?? `${sourceName} (ExpandR-tuned)`;
  const description = `ExpandR-tuned ${sourceName}: ${tuned.description}; merged matrices ${types === 'requantize' ? 'requantized to their source types' : 'F16'}, ${types === 'f16' ? 'every matrix F16' : 'other tensors as in the source'}`;
  const bytes = await writeGguf(sink, { metadata: exportMetadata(file, name, description, types), tensors, alignment: file.alignment }, options);
  return { bytes, tensors: tensors.length, merged, typeCounts, types };
}

/** A merged matrix in the GGUF's row order. */
async function mergedValues(info: GgufTensorInfo, hf: string, tuned: MergedWeights, config: DecoderConfig): Promise<Float32Array> {
  const w = await tuned.read(hf);
  const expected = [...info.dims].reverse();
  if (w.shape.length !== expected.length || w.shape.some((d, i) => d !== expected[i])) {
    throw new ModelFormatError(info.name, `merged weight ${hf} is [${w.shape}], the file has [${expected}]`, 'The adapter or weights do not belong to this file');
  }
  const heads = permutedHeads(info.name, config);
  return heads === null ? w.data : permuteRows(w.data, heads, config.headDim, w.shape.length > 1 ? w.shape[1] : 1);
}

/**
 * The GGUF's own weights by HF name in HF's row layout (dequantized, q/k rows un-permuted as decoder.ts reads
 * them), one tensor per call: the base for merge.ts's peftMergedWeights without loading the model.
 */
export function ggufWeightSource(src: GgufSource, file: GgufFile, config: DecoderConfig): WeightSource {
  const byHf = new Map(file.tensors.flatMap((t) => {
    const hf = hfWeightName(t.name);
    return hf ? [[hf, t] as const] : [];
  }));
  return async (name) => {
    const info = byHf.get(name);
    if (!info) throw new ModelFormatError(src.label, `no tensor for ${name}`, 'The adapter was trained on another model');
    const shape = [...info.dims].reverse();
    const data = await readTensorFloat32(src, file, info);
    const heads = permutedHeads(info.name, config);
    return { shape, data: heads === null ? data : unpermuteRows(data, heads, config.headDim, shape.length > 1 ? shape[1] : 1) };
  };
}
