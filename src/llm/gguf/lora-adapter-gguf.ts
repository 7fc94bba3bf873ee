// A PEFT LoRA adapter as llama.cpp's own LoRA adapter file (GGUF with general.type "adapter"), which
// llama.cpp applies at run time on top of the unchanged base model (llama-adapter.cpp; node-llama-cpp's
// createContext({lora})). The base keeps its quantized weights and kernels, so the base model and a tuned one
// differ only by the adapter's product x·Aᵀ·Bᵀ·scale: with B = 0 the tuned model computes exactly what the
// base does. (A merged GGUF, merge-export.ts, rewrites the adapted matrices as F16, which changes their
// arithmetic too.)
//
// The format, as llama.cpp's convert_lora_to_gguf.py writes it and llama-adapter.cpp checks it: metadata
// general.architecture (the base's), general.type "adapter", adapter.type "lora", adapter.lora.alpha (f32;
// llama.cpp scales by alpha / rank); per adapted matrix `<base tensor>.lora_a` of ggml dims [in, r] and
// `<base tensor>.lora_b` of dims [r, out] (PEFT's lora_A [r, in] and lora_B [out, r] as stored), F32. For
// llama's q/k projections the rows of B are permuted as the base rows are (decoder.ts moveQkRows).
import { ModelFormatError } from '../../errors.ts';
import type { WorkOptions } from '../../util/progress.ts';
import type { DecoderConfig } from '../config.ts';
import { loraScaling, matchesTarget } from '../lora.ts';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, parsePeftConfig } from '../lora-peft.ts';
import { hfWeightName, moveQkRows } from './decoder.ts';
import { GgmlType } from './ggml-types.ts';
import { adapterModules } from './merge.ts';
import { permutedHeads } from './merge-export.ts';
import { GgufValueType, type GgufFile, type GgufMetadataEntry } from './reader.ts';
import { writeGguf, type GgufSink, type GgufTensorOut } from './writer.ts';

export interface LoraAdapterGgufSummary {
  bytes: number;
  /** Base tensor names that the adapter changes. */
  adapted: string[];
  /** adapter.lora.alpha as written: scaling × r, so that llama.cpp's alpha / r is PEFT's scaling (rsLoRA too). */
  alpha: number;
}

const f32Bytes = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Writes the PEFT adapter `adapterFiles` (adapter_config.json + adapter_model.safetensors) for the base GGUF `file`. */
export async function writeLoraAdapterGguf(file: GgufFile, config: DecoderConfig, adapterFiles: ReadonlyMap<string, Uint8Array>, sink: GgufSink, label = 'adapter', work: WorkOptions = {}): Promise<LoraAdapterGgufSummary> {
  const configBytes = adapterFiles.get(ADAPTER_CONFIG);
  if (!configBytes) throw new ModelFormatError(label, `no ${ADAPTER_CONFIG}`, 'Give a PEFT adapter folder (adapter_config.json + adapter_model.safetensors)');
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(configBytes));
  } catch (e) {
    throw new ModelFormatError(`${label}/${ADAPTER_CONFIG}`, `not valid JSON (${(e as Error).message})`, 'Re-export the adapter');
  }
  const settings = parsePeftConfig(json, `${label}/${ADAPTER_CONFIG}`);
  const alpha = loraScaling(settings) * settings.r;
  const byHf = new Map(file.tensors.flatMap((t) => {
    const hf = hfWeightName(t.name);
    return hf ? [[hf, t] as const] : [];
  }));
  const where = `${label}/${ADAPTER_WEIGHTS}`;
  const tensors: GgufTensorOut[] = [];
  const adapted: string[] = [];
  for (const [module, { a, b }] of adapterModules(adapterFiles, label)) {
    if (!matchesTarget(module, settings.targetModules)) throw new ModelFormatError(where, `tensors for ${module}, which target_modules does not select`, 'The adapter files do not belong together; re-export the adapter');
    if (!a || !b) throw new ModelFormatError(where, `${module} has lora_${a ? 'B' : 'A'} but not lora_${a ? 'A' : 'B'}`, 'Re-export the adapter');
    const base = byHf.get(`${module}.weight`);
    if (!base) throw new ModelFormatError(where, `the adapter changes ${module}, which ${label}'s base model does not have`, 'Use the adapter with the model it was trained on (a tied lm_head cannot take a LoRA)');
    const [inDim, outDim] = base.dims;
    const r = settings.r;
    if (base.dims.length !== 2 || a.shape[0] !== r || a.shape[1] !== inDim || b.shape[0] !== outDim || b.shape[1] !== r) {
      throw new ModelFormatError(where, `${module}: lora_A [${a.shape}] and lora_B [${b.shape}] do not fit ${base.name} [${[...base.dims].reverse()}] at r = ${r}`, 'The adapter was trained on another model');
    }
    const heads = permutedHeads(base.name, config);
    const bRows = heads === null ? b.data : moveQkRows(b.data, heads, config.headDim, r, 'to-gguf');
    tensors.push(
      { name: `${base.name}.lora_a`, dims: [inDim, r], type: GgmlType.F32, byteLength: 4 * inDim * r, data: async () => f32Bytes(a.data) },
      { name: `${base.name}.lora_b`, dims: [r, outDim], type: GgmlType.F32, byteLength: 4 * r * outDim, data: async () => f32Bytes(bRows) },
    );
    adapted.push(base.name);
  }
  if (!tensors.length) throw new ModelFormatError(where, 'no LoRA tensors', 'Give the adapter that training wrote');
  const arch = file.metadata.get('general.architecture');
  if (typeof arch !== 'string') throw new ModelFormatError(label, 'the base GGUF has no general.architecture', 'Give the GGUF the adapter was trained on');
  const str = (key: string, value: string): GgufMetadataEntry => ({ key, type: GgufValueType.STRING, value });
  const metadata: GgufMetadataEntry[] = [
    str('general.architecture', arch),
    str('general.type', 'adapter'),
    str('general.name', `${label} (LoRA r ${settings.r}, alpha ${settings.alpha}${settings.useRslora ? ', rsLoRA' : ''})`),
    str('adapter.type', 'lora'),
    { key: 'adapter.lora.alpha', type: GgufValueType.FLOAT32, value: alpha },
  ];
  const bytes = await writeGguf(sink, { metadata, tensors }, work);
  return { bytes, adapted, alpha };
}
