// The tuned model as GGUF from the page's Export step (issue 13 point 5): a run's LoRA adapter merged into the
// .gguf the user loaded and written as a new GGUF, the same bytes as the runner's `export-gguf` (mode 'source':
// merged matrices F16, every other tensor copied; src/llm/gguf/merge-export.ts). The base file is read by range
// (the dropped File, or its chunks kept in IndexedDB), one tensor at a time; each piece of output becomes its
// own Blob part as it is written, so the worker's heap never holds the output, let alone the base file twice
// (the browser keeps Blob bytes outside the JS heap, on disk when they are large).
import { ExpandrError, ModelFormatError } from '../errors.ts';
import { ggufDecoderConfig, hfWeightName } from '../llm/gguf/decoder.ts';
import { peftMergedWeights } from '../llm/gguf/merge.ts';
import { DEFAULT_GGUF_EXPORT_TYPES, exportTunedGguf, ggufWeightSource, type GgufExportTypes } from '../llm/gguf/merge-export.ts';
import { readGgufHeader, type GgufFile } from '../llm/gguf/reader.ts';
import { blobSink } from '../llm/gguf/writer.ts';
import { ggufSource } from '../llm/load.ts';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, PEFT_KEY_PREFIX, parsePeftConfig } from '../llm/lora-peft.ts';
import { readSafetensors } from '../model/safetensors.ts';
import type { WorkOptions } from '../util/progress.ts';
import type { LoadedLlm } from './llm-session.ts';

export const GGUF_MIME = 'application/octet-stream';

export interface AdapterExportOptions extends WorkOptions {
  /** Names the adapter in errors (the run's 'adapters/NAME'). */
  label?: string;
  types?: GgufExportTypes;
}

/** The download's file name: `<model>-<adapter>.gguf` (model without .gguf, adapter without adapters/). */
export function ggufExportName(modelName: string, adapterName: string): string {
  const safe = (s: string) => s.replace(/[^\w.+-]+/g, '-').replace(/^-+|-+$/g, '') || 'model';
  return `${safe(modelName.split('/').pop()!.replace(/\.gguf$/i, ''))}-${safe(adapterName.replace(/^adapters\//, ''))}.gguf`;
}

/** What kind of model a loaded LLM is, in words, for the "not a GGUF" error. */
function kindOf(llm: LoadedLlm): string {
  if (llm.summary.engine === 'webllm') return 'a WebLLM preset';
  return llm.summary.format === 'hf' ? 'a Hugging Face folder' : llm.summary.format === 'llama2c' ? 'a llama2.c model' : 'not a GGUF file';
}

/**
 * Checks, before anything is written, that every matrix the adapter changes is in the GGUF with the shape of
 * B·A; a clear error names the adapter, the model and the model it was trained on.
 */
export function checkAdapterFits(file: GgufFile, modelName: string, adapterFiles: ReadonlyMap<string, Uint8Array>, label: string): void {
  const config = adapterFiles.get(ADAPTER_CONFIG);
  const weights = adapterFiles.get(ADAPTER_WEIGHTS);
  // Missing or broken files: peftMergedWeights says what is wrong with them.
  if (!config || !weights) return;
  let trainedOn: string | null = null;
  try {
    trainedOn = parsePeftConfig(JSON.parse(new TextDecoder().decode(config)), `${label}/${ADAPTER_CONFIG}`).baseModel;
  } catch {
    return;
  }
  const dims = new Map(file.tensors.flatMap((t) => {
    const hf = hfWeightName(t.name);
    return hf ? [[hf, [...t.dims].reverse()] as const] : [];
  }));
  const fix = trainedOn && trainedOn !== modelName
    ? `It was trained on ${trainedOn}: load that .gguf in the LLM zone, select it and export again`
    : 'Load the .gguf the run trained it on in the LLM zone, select it and export again';
  const st = readSafetensors(weights, `${label}/${ADAPTER_WEIGHTS}`);
  for (const [key, info] of st.tensors) {
    const m = /^(.*)\.lora_([AB])(?:\.default)?\.weight$/.exec(key);
    if (!m || !m[1].startsWith(PEFT_KEY_PREFIX)) continue;
    const weight = `${m[1].slice(PEFT_KEY_PREFIX.length)}.weight`;
    const shape = dims.get(weight);
    if (!shape) throw new ModelFormatError(label, `does not fit ${modelName}: it changes ${weight}, which the model does not have`, fix);
    // lora_A is [r, in], lora_B is [out, r]; the weight is [out, in].
    const [want, got] = m[2] === 'A' ? [shape[1], info.shape[1]] : [shape[0], info.shape[0]];
    if (shape.length !== 2 || info.shape.length !== 2 || want !== got) {
      throw new ModelFormatError(label, `does not fit ${modelName}: ${weight} is [${shape}] there, and lora_${m[2]} is [${info.shape}]`, fix);
    }
  }
}

/**
 * The run's adapter (`adapterFiles`: adapter_config.json + adapter_model.safetensors) merged into the loaded
 * GGUF `llm` and written as a GGUF Blob; progress in bytes ('gguf:write'), cancellable.
 */
export async function exportAdapterAsGguf(llm: LoadedLlm, adapterFiles: ReadonlyMap<string, Uint8Array>, work: AdapterExportOptions = {}): Promise<Blob> {
  const label = work.label ?? 'adapter';
  const name = llm.summary.name;
  if (!llm.files || llm.summary.format !== 'gguf') {
    throw new ExpandrError(
      `The selected LLM ${name} is ${kindOf(llm)}, not a GGUF: the tuned model as GGUF is written over the .gguf ${label} was trained on. ` +
        'Drop that .gguf in the LLM zone and select it, or download the adapter (PEFT zip) and merge it in Python.',
    );
  }
  work.onProgress?.({ stage: 'gguf:export', done: 0, total: 1, unit: 'models', text: `reading ${name}` });
  const src = await ggufSource(llm.files);
  const file = await readGgufHeader(src);
  checkAdapterFits(file, name, adapterFiles, label);
  const config = ggufDecoderConfig(file, src.label);
  const tuned = peftMergedWeights(ggufWeightSource(src, file, config), adapterFiles, label);
  const sink = blobSink();
  await exportTunedGguf(src, file, config, tuned, sink, { types: work.types ?? DEFAULT_GGUF_EXPORT_TYPES, onProgress: work.onProgress, signal: work.signal });
  return sink.blob();
}
