// What made a generated text: the engine that ran the model and the precision of its weights (issue 14.3).
// A quantised WebLLM model (q4f16_1) samples other texts than the tfjs decoder on float32 weights, and a
// GGUF's Q4_1 weights give other logits than its F16 export: rows compared with each other must come from
// the same engine and precision, so every generation says which, and the generation cache keys on both.
//
// The tfjs decoder computes in float32 whatever the file holds; its precision is that of the weights as
// stored (a GGUF's dominant tensor type, a safetensors checkpoint's dominant dtype), since dequantized Q4_1
// weights are still Q4_1 values.
import { ggufSource, detectFormat } from '../llm/load.ts';
import type { ModelFiles } from '../llm/files.ts';
import { readGgufHeader } from '../llm/gguf/reader.ts';
import { ggmlTypeName } from '../llm/gguf/ggml-types.ts';
import { ModelFormatError } from '../errors.ts';

/** Engines that generate texts here: the tfjs decoder, WebLLM (MLC) in the page, llama.cpp (GGUF peers). */
export type GenerationEngine = 'tfjs' | 'webllm' | 'llama.cpp';

export interface GenerationProvenance {
  engine: GenerationEngine;
  /** Weights as stored: 'float32', 'bfloat16', 'float16', a GGUF type ('Q4_1', 'Q8_0', …) or WebLLM's 'q4f16_1'. */
  precision: string;
  /** The model (file label, preset id) and, for a tuned one, '+lora:HASH'. */
  model: string;
}

/** 'tfjs float32'. */
export const provenanceText = (p: Pick<GenerationProvenance, 'engine' | 'precision'>): string => `${p.engine} ${p.precision}`;

/** Same engine and precision: texts of the two are comparable (the model may differ: that is what is compared). */
export const sameEngine = (a: Pick<GenerationProvenance, 'engine' | 'precision'>, b: Pick<GenerationProvenance, 'engine' | 'precision'>): boolean =>
  a.engine === b.engine && a.precision === b.precision;

/** WebLLM's quantisation from its model id ('Qwen2.5-0.5B-Instruct-q4f16_1-MLC' → 'q4f16_1'); 'unknown' when the id has none. */
export function webLlmPrecision(modelId: string): string {
  return /-(q\d+f\d+(?:_\d+)?)(?:-|$)/.exec(modelId)?.[1] ?? 'unknown';
}

const SAFETENSORS_NAMES: Readonly<Record<string, string>> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16', F64: 'float64' };

/** The key with the largest weight in `counts`. */
function dominant(counts: Map<string, number>): string {
  let best = 'unknown';
  let most = -1;
  for (const [k, n] of counts) if (n > most) [best, most] = [k, n];
  return best;
}

/** Reads a safetensors header (8-byte length + JSON) by range where the source can seek. */
async function safetensorsHeader(files: ModelFiles, name: string): Promise<Record<string, { dtype?: string; shape?: number[] }>> {
  const head = files.readRange ? await files.readRange(name, 0, 8) : (await files.read(name)).subarray(0, 8);
  if (head.length < 8) throw new ModelFormatError(`${files.label}/${name}`, 'shorter than the 8-byte header length', 'Re-export or re-download the checkpoint.');
  const n = Number(new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true));
  const json = files.readRange ? await files.readRange(name, 8, n) : (await files.read(name)).subarray(8, 8 + n);
  return JSON.parse(new TextDecoder().decode(json)) as Record<string, { dtype?: string; shape?: number[] }>;
}

/**
 * The precision of a decoder folder's weights, by element count: a GGUF's dominant tensor type, a
 * safetensors checkpoint's dominant float dtype; llama2.c files are float32. Reads headers only.
 */
export async function decoderPrecision(files: ModelFiles): Promise<string> {
  const format = detectFormat(files);
  const counts = new Map<string, number>();
  const add = (k: string, n: number) => counts.set(k, (counts.get(k) ?? 0) + n);
  if (format === 'llama2c') return 'float32';
  if (format === 'gguf') {
    const header = await readGgufHeader(await ggufSource(files));
    for (const t of header.tensors) add(ggmlTypeName(t.type), t.elements);
    return dominant(counts);
  }
  const shards = files.has('model.safetensors.index.json')
    ? [...new Set(Object.values((JSON.parse(new TextDecoder().decode(await files.read('model.safetensors.index.json'))) as { weight_map: Record<string, string> }).weight_map))]
    : ['model.safetensors'];
  for (const shard of shards) {
    for (const [name, t] of Object.entries(await safetensorsHeader(files, shard))) {
      if (name === '__metadata__' || !t.dtype) continue;
      add(SAFETENSORS_NAMES[t.dtype] ?? t.dtype, (t.shape ?? []).reduce((a, b) => a * b, 1));
    }
  }
  return dominant(counts);
}
