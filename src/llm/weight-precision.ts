// The precision of a decoder's weights as stored, read from file headers only. The tfjs decoder computes
// in float32 whatever the file holds, so its precision is that of the stored weights: a GGUF's dominant
// tensor type or a safetensors checkpoint's dominant dtype. Dequantized Q4_1 weights are still Q4_1 values.
import { ggufSource, detectFormat } from './load.ts';
import type { ModelFiles } from './files.ts';
import { readGgufHeader } from './gguf/reader.ts';
import { ggmlTypeName } from './gguf/ggml-types.ts';
import { ModelFormatError } from '../errors.ts';

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
