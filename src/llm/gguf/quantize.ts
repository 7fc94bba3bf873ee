// GGML block quantizers for writing GGUF tensors, bit for bit what the `gguf` Python package (0.19,
// gguf/quants.py; Q8_0 there equals ggml-quants.c's reference) writes for the same float32 rows
// (tests/unit/gguf-writer-quantize.test.ts checks bytes against tests/reference/fixtures/gguf-quantize.json).
//
// Every step is a float32 operation in numpy, so each is Math.fround here: for +, −, ×, ÷ the double result
// rounded to float32 equals the float32 result (53 ≥ 2·24 + 2 bits). Scales go to float16 by round-to-nearest-
// even (src/llm/quant/f16.ts, what numpy's astype(float16) does). Blocks are 32 weights along a row, so a row
// length must be a multiple of 32. The K-quants (Q2_K–Q6_K) have no quantizer in the `gguf` package and none
// here: a source tensor of such a type is copied as it is, or written as F16 when it changed.
import { ModelFormatError } from '../../errors.ts';
import { f16Bits } from '../quant/f16.ts';
import { GGML_BLOCK, GgmlType, ggmlTypeName } from './ggml-types.ts';

/** The types we can write from float32 values (the `gguf` package's quantizers, less the IQ/ternary ones). */
export const QUANTIZABLE_TYPES = [GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q8_0] as const;
export type QuantizableType = (typeof QUANTIZABLE_TYPES)[number];

const QK = 32;
const fr = Math.fround;

/** Whether we can write `type` from float32 values. */
export function canQuantize(type: number): type is QuantizableType {
  return (QUANTIZABLE_TYPES as readonly number[]).includes(type);
}

/** 1/d as numpy's np.where(d == 0, 0, 1 / d) in float32. */
const inverse = (d: number) => (d === 0 ? 0 : fr(1 / d));

/** gguf's np_roundf: round half away from zero, in float32 steps. */
function roundf(n: number): number {
  const a = Math.abs(n);
  const floored = Math.floor(a);
  const b = floored + Math.floor(fr(2 * fr(a - floored)));
  return Math.sign(n) * b;
}

function putF16(out: DataView, at: number, x: number): void {
  out.setUint16(at, f16Bits(x), true);
}

/** Low nibbles from q[0..15], high nibbles from q[16..31] (ggml's layout for 4- and 5-bit blocks). */
function packNibbles(q: Uint8Array, out: Uint8Array, at: number): void {
  for (let j = 0; j < QK / 2; j++) out[at + j] = (q[j] & 0x0f) | ((q[j + QK / 2] & 0x0f) << 4);
}

/** The 5th bit of each q as a little-endian uint32 (np.packbits(..., bitorder="little")). */
function packHighBits(q: Uint8Array, out: DataView, at: number): void {
  let qh = 0;
  for (let j = 0; j < QK; j++) qh |= ((q[j] >> 4) & 1) << j;
  out.setUint32(at, qh >>> 0, true);
}

/** float32 → uint8 as numpy's astype(uint8).clip(0, hi) does for the non-negative values these produce. */
const clipU8 = (x: number, hi: number) => Math.min(Math.max(Math.trunc(x), 0), hi);

type BlockQuantizer = (x: Float32Array, at: number, view: DataView, bytes: Uint8Array, o: number, q: Uint8Array) => void;

/** Symmetric (Q4_0 / Q5_0): d = (signed value of largest magnitude) / −half, q = trunc(x/d + half + 0.5). */
function symmetric(levels: number): BlockQuantizer {
  const half = levels / 2;
  return (x, at, view, bytes, o, q) => {
    let imax = at;
    for (let j = at + 1; j < at + QK; j++) if (Math.abs(x[j]) > Math.abs(x[imax])) imax = j; // first maximum, as argmax
    const d = fr(x[imax] / -half);
    const id = inverse(d);
    for (let j = 0; j < QK; j++) q[j] = clipU8(fr(fr(x[at + j] * id) + (half + 0.5)), levels - 1);
    putF16(view, o, d);
    if (levels === 16) packNibbles(q, bytes, o + 2);
    else {
      packHighBits(q, view, o + 2);
      packNibbles(q, bytes, o + 6);
    }
  };
}

/** With a minimum (Q4_1 / Q5_1): d = (max − min)/(levels − 1), m = min, q = trunc((x − min)/d + 0.5). */
function affine(levels: number): BlockQuantizer {
  return (x, at, view, bytes, o, q) => {
    let max = x[at];
    let min = x[at];
    for (let j = at + 1; j < at + QK; j++) {
      if (x[j] > max) max = x[j];
      if (x[j] < min) min = x[j];
    }
    const d = fr(fr(max - min) / (levels - 1));
    const id = inverse(d);
    for (let j = 0; j < QK; j++) q[j] = clipU8(fr(fr(fr(x[at + j] - min) * id) + 0.5), levels - 1);
    putF16(view, o, d);
    putF16(view, o + 2, min);
    if (levels === 16) packNibbles(q, bytes, o + 4);
    else {
      packHighBits(q, view, o + 4);
      packNibbles(q, bytes, o + 8);
    }
  };
}

/** Q8_0: d = max|x|/127, q = roundf(x/d) as int8. */
const q8_0: BlockQuantizer = (x, at, view, _bytes, o) => {
  let amax = 0;
  for (let j = at; j < at + QK; j++) amax = Math.max(amax, Math.abs(x[j]));
  const d = fr(amax / 127);
  const id = inverse(d);
  putF16(view, o, d);
  for (let j = 0; j < QK; j++) view.setInt8(o + 2 + j, roundf(fr(x[at + j] * id)));
};

const BLOCK_QUANTIZERS: Partial<Record<QuantizableType, BlockQuantizer>> = {
  [GgmlType.Q4_0]: symmetric(16),
  [GgmlType.Q5_0]: symmetric(32),
  [GgmlType.Q4_1]: affine(16),
  [GgmlType.Q5_1]: affine(32),
  [GgmlType.Q8_0]: q8_0,
};

/** bfloat16 as gguf's BF16.quantize_blocks (ggml_compute_fp32_to_bf16): NaN made quiet, round to nearest even. */
function bf16Bits(u: number): number {
  if ((u & 0x7fffffff) >>> 0 > 0x7f800000) return ((u >>> 16) & 0xffff) | 64;
  return ((u + 0x7fff + ((u >>> 16) & 1)) / 65536) & 0xffff; // u + … may pass 2^32: divide, not shift
}

/**
 * `values` (row-major, rows of `rowLength`) encoded as `type`; `name` labels errors. Returns the tensor's bytes
 * as they go into the GGUF data section.
 */
export function quantizeTensor(values: Float32Array, rowLength: number, type: number, name: string): Uint8Array {
  if (!canQuantize(type)) {
    throw new ModelFormatError(name, `cannot write ${ggmlTypeName(type)} (quantizers: ${QUANTIZABLE_TYPES.map(ggmlTypeName).join(', ')})`, 'Export with --type f16');
  }
  const { weights, bytes: size } = GGML_BLOCK[type];
  if (rowLength % weights !== 0 || values.length % rowLength !== 0) {
    throw new ModelFormatError(name, `rows of ${rowLength} values do not split into blocks of ${weights}`, 'Export with --type f16');
  }
  const out = new Uint8Array((values.length / weights) * size);
  const view = new DataView(out.buffer);
  if (type === GgmlType.F32) {
    for (let i = 0; i < values.length; i++) view.setFloat32(4 * i, values[i], true);
  } else if (type === GgmlType.F16) {
    for (let i = 0; i < values.length; i++) view.setUint16(2 * i, f16Bits(values[i]), true);
  } else if (type === GgmlType.BF16) {
    const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
    for (let i = 0; i < values.length; i++) view.setUint16(2 * i, bf16Bits(bits[i]), true);
  } else {
    const block = BLOCK_QUANTIZERS[type]!;
    const q = new Uint8Array(QK);
    for (let b = 0, o = 0; b < values.length; b += QK, o += size) block(values, b, view, out, o, q);
  }
  return out;
}
