// GGUF tensor data → float32, bit for bit what the `gguf` Python package's dequantize gives (gguf/quants.py,
// 0.19; the block layouts are ggml-quants.c's dequantize_row_*). Each numpy step is one float32 operation,
// so each is one Math.fround here: for +, −, × of float32 inputs the double result rounded to float32 equals
// the float32 result (53 ≥ 2·24 + 2 bits), and the steps run in numpy's order ((d·q) + m, not d·q + m fused).
// float16 scales become float32 exactly (a table of all 65536 patterns, numpy's npy_halfbits_to_floatbits).
// The K-quants (256-weight super-blocks) are in dequant-k.ts. Output: the blocks' weights in file order,
// which is numpy's row-major order with the innermost (ne[0]) dimension last.
import { ModelFormatError } from '../../errors.ts';
import { GGML_BLOCK, GgmlType, ggmlTypeName } from './ggml-types.ts';
import { dequantQ2K, dequantQ3K, dequantQ4K, dequantQ5K, dequantQ6K } from './dequant-k.ts';
import { f16ToF32Table } from './f16-table.ts';

const fr = Math.fround;

/** Writes `blocks` blocks of `bytes` into `out` (weights per block given by the type). */
export type BlockDequantizer = (bytes: Uint8Array, out: Float32Array, blocks: number) => void;

const DEQUANTIZERS: Partial<Record<GgmlType, BlockDequantizer>> = {
  [GgmlType.F32]: dequantF32,
  [GgmlType.F16]: dequantF16,
  [GgmlType.BF16]: dequantBF16,
  [GgmlType.Q8_0]: dequantQ8_0,
  [GgmlType.Q4_0]: dequantQ4_0,
  [GgmlType.Q4_1]: dequantQ4_1,
  [GgmlType.Q5_0]: dequantQ5_0,
  [GgmlType.Q5_1]: dequantQ5_1,
  [GgmlType.Q2_K]: dequantQ2K,
  [GgmlType.Q3_K]: dequantQ3K,
  [GgmlType.Q4_K]: dequantQ4K,
  [GgmlType.Q5_K]: dequantQ5K,
  [GgmlType.Q6_K]: dequantQ6K,
};

/** The types dequantize() reads. */
export const DEQUANTIZABLE_TYPES: readonly GgmlType[] = Object.keys(DEQUANTIZERS).map(Number) as GgmlType[];

export function canDequantize(type: number): boolean {
  return Object.prototype.hasOwnProperty.call(DEQUANTIZERS, type);
}

/** `elements` weights of `type` from `bytes` as float32. `where` names the file and tensor in errors. */
export function dequantize(type: GgmlType, bytes: Uint8Array, elements: number, where: string): Float32Array {
  const fn = DEQUANTIZERS[type];
  if (!fn) {
    const names = DEQUANTIZABLE_TYPES.map(ggmlTypeName).join(', ');
    throw new ModelFormatError(where, `${ggmlTypeName(type)} tensors cannot be read (supported: ${names})`, 'Use a file quantized to one of those types (Q4_K_M, Q8_0 and F16 files are the common ones)');
  }
  const { weights, bytes: per } = GGML_BLOCK[type];
  const blocks = elements / weights;
  if (!Number.isInteger(blocks) || bytes.length !== blocks * per) {
    throw new ModelFormatError(where, `${bytes.length} bytes do not hold ${elements} ${ggmlTypeName(type)} weights (${per} bytes per ${weights})`, 'The file is damaged: fetch it again');
  }
  const out = new Float32Array(elements);
  fn(bytes, out, blocks);
  return out;
}

/** A little-endian float16 at byte `at`, as float32. */
const half = (t: Float32Array, b: Uint8Array, at: number): number => t[b[at] | (b[at + 1] << 8)];

function dequantF32(bytes: Uint8Array, out: Float32Array): void {
  new Uint8Array(out.buffer).set(bytes); // bytes copied as they are (NaN payloads too)
}

function dequantF16(bytes: Uint8Array, out: Float32Array, n: number): void {
  const bits = new Uint32Array(f16ToF32Table().buffer);
  const o = new Uint32Array(out.buffer);
  for (let i = 0; i < n; i++) o[i] = bits[bytes[2 * i] | (bytes[2 * i + 1] << 8)];
}

function dequantBF16(bytes: Uint8Array, out: Float32Array, n: number): void {
  const o = new Uint32Array(out.buffer);
  for (let i = 0; i < n; i++) o[i] = ((bytes[2 * i] | (bytes[2 * i + 1] << 8)) << 16) >>> 0;
}

// Q8_0: d f16, 32 int8 q; w = q·d.
function dequantQ8_0(b: Uint8Array, out: Float32Array, blocks: number): void {
  const t = f16ToF32Table();
  for (let k = 0; k < blocks; k++) {
    const at = k * 34;
    const d = half(t, b, at);
    for (let j = 0; j < 32; j++) out[k * 32 + j] = fr(((b[at + 2 + j] << 24) >> 24) * d);
  }
}

// Q4_0: d f16, 16 bytes: weight j < 16 is the low nibble of byte j, weight j + 16 its high nibble; w = d·(q − 8).
function dequantQ4_0(b: Uint8Array, out: Float32Array, blocks: number): void {
  const t = f16ToF32Table();
  for (let k = 0; k < blocks; k++) {
    const at = k * 18;
    const d = half(t, b, at);
    const o = k * 32;
    for (let j = 0; j < 16; j++) {
      const q = b[at + 2 + j];
      out[o + j] = fr(d * ((q & 0x0f) - 8));
      out[o + j + 16] = fr(d * ((q >> 4) - 8));
    }
  }
}

// Q4_1: d f16, m f16, nibbles as Q4_0; w = (d·q) + m.
function dequantQ4_1(b: Uint8Array, out: Float32Array, blocks: number): void {
  const t = f16ToF32Table();
  for (let k = 0; k < blocks; k++) {
    const at = k * 20;
    const d = half(t, b, at);
    const m = half(t, b, at + 2);
    const o = k * 32;
    for (let j = 0; j < 16; j++) {
      const q = b[at + 4 + j];
      out[o + j] = fr(fr(d * (q & 0x0f)) + m);
      out[o + j + 16] = fr(fr(d * (q >> 4)) + m);
    }
  }
}

/** The u32 of 5th bits (bit j for weight j) at byte `at`. */
const u32le = (b: Uint8Array, at: number): number => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;

// Q5_0: d f16, qh u32, 16 bytes of nibbles; q = nibble | (bit j of qh) << 4; w = d·(q − 16).
function dequantQ5_0(b: Uint8Array, out: Float32Array, blocks: number): void {
  const t = f16ToF32Table();
  for (let k = 0; k < blocks; k++) {
    const at = k * 22;
    const d = half(t, b, at);
    const qh = u32le(b, at + 2);
    const o = k * 32;
    for (let j = 0; j < 16; j++) {
      const q = b[at + 6 + j];
      out[o + j] = fr(d * (((q & 0x0f) | (((qh >>> j) & 1) << 4)) - 16));
      out[o + j + 16] = fr(d * (((q >> 4) | (((qh >>> (j + 16)) & 1) << 4)) - 16));
    }
  }
}

// Q5_1: d f16, m f16, qh u32, 16 bytes of nibbles; w = (d·q) + m.
function dequantQ5_1(b: Uint8Array, out: Float32Array, blocks: number): void {
  const t = f16ToF32Table();
  for (let k = 0; k < blocks; k++) {
    const at = k * 24;
    const d = half(t, b, at);
    const m = half(t, b, at + 2);
    const qh = u32le(b, at + 4);
    const o = k * 32;
    for (let j = 0; j < 16; j++) {
      const q = b[at + 8 + j];
      out[o + j] = fr(fr(d * ((q & 0x0f) | (((qh >>> j) & 1) << 4))) + m);
      out[o + j + 16] = fr(fr(d * ((q >> 4) | (((qh >>> (j + 16)) & 1) << 4))) + m);
    }
  }
}
