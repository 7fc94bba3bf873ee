// q4f16_1: MLC LLM's 4-bit group quantisation, bit for bit as `mlc_llm convert_weight` does it on CPU.
//
// Source (mlc-ai/mlc-llm): python/mlc_llm/quantization/quantization.py registers q4f16_1 as
// GroupQuantize(group_size=32, quantize_dtype="int4", storage_dtype="uint32", model_dtype="float16",
// linear_weight_layout="NK", quantize_embedding=True, quantize_final_fc=True);
// python/mlc_llm/quantization/group_quantization.py `_quantize` / `_dequantize`; utils.py `pack_weight`.
// For a weight [out, in] (PyTorch layout, "NK"), groups of 32 run along `in`:
//   max_int   = 2^(4−1) − 1 = 7
//   scale     = max|w| over the group / 7                       q_scale  [out, ceil(in/32)] float16
//   q         = min(max(round(w / scale + 7), 0), 14)           (round = llvm.nearbyint: ties to even)
//   q_weight  [out, ceil(in/32)·4] uint32, element 8j + r in bits 4r..4r+3 (low nibble first);
//             positions past `in` (when in % 32 ≠ 0) pack as 0 and are left out of the max
//   w'        = (q − 7) · scale
// Every step runs in float16: the loader casts weights to float16 first (standard_loader.py,
// `x.astype(dtype)`), and each float16 operation rounds (LLVM promotes to float32 and truncates, which
// equals one correct float16 rounding). min/max are tvm's selects (`a > b ? a : b`), so a zero group
// (0/0 = NaN) packs q = 0 and dequantises to 0, like any q would.
import { f16Bits, f16Round, f16Value } from './f16.ts';

export const Q4F16 = Object.freeze({
  groupSize: 32, // elements per scale (quantization.py)
  bits: 4, // int4 values
  perWord: 8, // 32 / 4 elements per uint32
  maxInt: 7, // 2^(bits−1) − 1: values are stored offset by 7 in 0..14
});

export interface Q4Tensor {
  /** [rows, wordsPerRow] uint32, row-major. */
  qWeight: Uint32Array;
  /** [rows, groupsPerRow] float16 bits, row-major. */
  qScale: Uint16Array;
  rows: number;
  cols: number;
}

/** Groups per row: ceil(cols / 32). */
export const q4Groups = (cols: number) => Math.ceil(cols / Q4F16.groupSize);
/** uint32 words per row: 4 per group. */
export const q4Words = (cols: number) => q4Groups(cols) * (Q4F16.groupSize / Q4F16.perWord);

/** Round half to even, as llvm.nearbyint in the default rounding mode; NaN and ±inf pass through. */
function nearbyint(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Quantises a row-major [rows, cols] float weight (cols = the input dimension). */
export function quantizeQ4f16(weight: Float32Array, rows: number, cols: number): Q4Tensor {
  if (weight.length !== rows * cols) throw new Error(`quantizeQ4f16: ${weight.length} values for [${rows}, ${cols}]`);
  const { groupSize, perWord, maxInt } = Q4F16;
  const groups = q4Groups(cols);
  const words = q4Words(cols);
  const qWeight = new Uint32Array(rows * words);
  const qScale = new Uint16Array(rows * groups);
  const w16 = new Float64Array(groupSize); // one group, already cast to float16
  for (let r = 0; r < rows; r++) {
    const row = r * cols;
    for (let g = 0; g < groups; g++) {
      const start = g * groupSize;
      const n = Math.min(groupSize, cols - start);
      let maxAbs = 0;
      for (let i = 0; i < n; i++) {
        const v = f16Round(weight[row + start + i]);
        w16[i] = v;
        const a = Math.abs(v);
        if (a > maxAbs) maxAbs = a;
      }
      const scaleBits = f16Bits(maxAbs / maxInt); // float16 division
      qScale[r * groups + g] = scaleBits;
      const scale = f16Value(scaleBits);
      const wordBase = r * words + g * (groupSize / perWord);
      for (let i = 0; i < n; i++) {
        let q = nearbyint(f16Round(f16Round(w16[i] / scale) + maxInt)); // two float16 operations, then round
        q = q > 0 ? q : 0; // tvm Max: select(a > b, a, b) — NaN → 0
        q = q < 2 * maxInt ? q : 2 * maxInt; // tvm Min: select(a < b, a, b)
        qWeight[wordBase + (i >> 3)] |= q << (4 * (i & 7));
      }
    }
  }
  return { qWeight, qScale, rows, cols };
}

/** The 4-bit value of element (row, col). */
export function q4At(tensor: Q4Tensor, row: number, col: number): number {
  return (tensor.qWeight[row * q4Words(tensor.cols) + (col >> 3)] >>> (4 * (col & 7))) & 0xf;
}

/** w' = (q − 7) · scale, one float16 multiply (MLC `_dequantize`), as float32 [rows, cols]. */
export function dequantizeQ4f16(tensor: Q4Tensor): Float32Array {
  const { rows, cols } = tensor;
  const groups = q4Groups(cols);
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const scale = f16Value(tensor.qScale[r * groups + Math.floor(c / Q4F16.groupSize)]);
      out[r * cols + c] = f16Round((q4At(tensor, r, c) - Q4F16.maxInt) * scale);
    }
  }
  return out;
}

/**
 * A bound on |w − w'| in a group whose largest |w| is maxAbs: half a quantisation step, plus slack for
 * the float16 roundings (the input cast, w/scale and +7 before rounding — which can push a value across
 * a .5 boundary — the scale itself and the output multiply; together well under maxAbs · 2^-7).
 */
export function q4ErrorBound(maxAbs: number): number {
  return maxAbs / Q4F16.maxInt / 2 + maxAbs * 2 ** -7;
}
