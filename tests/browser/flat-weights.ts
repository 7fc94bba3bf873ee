// All weights of a safetensors file as one vector (tensors in name order), to compare two trainings'
// models or take their update.
import { readSafetensors } from '../../src/model/safetensors.ts';

export function flatWeights(bytes: Uint8Array): Float64Array {
  const st = readSafetensors(bytes);
  const parts = [...st.tensors.keys()].sort().map((n) => st.getFloat32(n));
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, (o += p.length) - p.length);
  return out;
}
