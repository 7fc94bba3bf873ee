// Weights and AdamW moments as safetensors entries (w.i, m.i, v.i), shared by the retriever and the
// DPO checkpoints. A variable that never got a gradient has no moments (torch's lazy state).
import type { SafetensorsFile, TensorToWrite } from '../model/safetensors.ts';

export interface WeightsAndMoments {
  weights: { shape: number[]; data: Float32Array }[];
  m: (Float32Array | null)[];
  v: (Float32Array | null)[];
}

export function packStateTensors(state: WeightsAndMoments): Map<string, TensorToWrite> {
  const tensors = new Map<string, TensorToWrite>();
  state.weights.forEach((w, i) => {
    tensors.set(`w.${i}`, w);
    const m = state.m[i];
    const v = state.v[i];
    if (m) tensors.set(`m.${i}`, { shape: w.shape, data: m });
    if (v) tensors.set(`v.${i}`, { shape: w.shape, data: v });
  });
  return tensors;
}

export function unpackStateTensors(st: SafetensorsFile, shapes: number[][]): WeightsAndMoments {
  const opt = (p: string, i: number) => (st.tensors.has(`${p}.${i}`) ? st.getFloat32(`${p}.${i}`) : null);
  return {
    weights: shapes.map((shape, i) => ({ shape, data: st.getFloat32(`w.${i}`) })),
    m: shapes.map((_, i) => opt('m', i)),
    v: shapes.map((_, i) => opt('v', i)),
  };
}
