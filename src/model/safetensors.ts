// The safetensors format (huggingface/safetensors): 8-byte little-endian header length N, N bytes of
// JSON header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {str: str}}, then the
// tensor bytes (offsets relative to the end of the header). Read into float32 (tfjs has no fp16), write
// float32. Every malformed case throws ModelFormatError naming the file and the fix.
import { ModelFormatError } from '../errors.ts';

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';
const DTYPE_BYTES: Record<SafetensorsDtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
/** A header larger than this is not a real checkpoint (the reference implementation caps it at 100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

export interface TensorInfo {
  dtype: SafetensorsDtype;
  shape: number[];
  /** Absolute byte range in the file. */
  begin: number;
  end: number;
}

export interface SafetensorsFile {
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
  /** The tensor as float32 (F16/BF16/ints widened; F64 narrowed). */
  getFloat32(name: string): Float32Array;
  /** The raw bytes of a tensor, as stored. */
  raw(name: string): Uint8Array;
}

/** Parses a whole safetensors file held in memory. `file` names it in errors. */
export function readSafetensors(bytes: Uint8Array, file = 'model.safetensors'): SafetensorsFile {
  const fail = (problem: string, fix = 'Re-export or re-download the checkpoint.') => new ModelFormatError(file, problem, fix);
  if (bytes.byteLength < 8) throw fail(`only ${bytes.byteLength} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n > MAX_HEADER_BYTES) throw fail(`header length ${n} is implausible (limit ${MAX_HEADER_BYTES}); this is not a safetensors file`);
  if (8 + n > bytes.byteLength) throw fail(`header length ${n} runs past the end of the file (${bytes.byteLength} bytes): the file is truncated`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw fail(`the header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw fail('the header is not a JSON object');
  const dataStart = 8 + n;
  const dataLength = bytes.byteLength - dataStart;
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = value as Record<string, string>;
      continue;
    }
    const v = value as { dtype?: string; shape?: unknown; data_offsets?: unknown };
    if (!v || typeof v.dtype !== 'string' || !(v.dtype in DTYPE_BYTES)) {
      throw fail(`tensor "${name}" has unknown dtype ${JSON.stringify(v?.dtype)} (known: ${Object.keys(DTYPE_BYTES).join(', ')})`);
    }
    const shape = v.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw fail(`tensor "${name}" has an invalid shape`);
    const off = v.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isInteger(o) && o >= 0) || off[0] > off[1]) {
      throw fail(`tensor "${name}" has invalid data_offsets ${JSON.stringify(off)}`);
    }
    if (off[1] > dataLength) throw fail(`tensor "${name}" data_offsets [${off}] run past the end of the data (${dataLength} bytes): the file is truncated`);
    const dtype = v.dtype as SafetensorsDtype;
    const expected = (shape as number[]).reduce((a, d) => a * d, 1) * DTYPE_BYTES[dtype];
    if (off[1] - off[0] !== expected) {
      throw fail(`tensor "${name}" holds ${off[1] - off[0]} bytes but ${dtype} ${JSON.stringify(shape)} needs ${expected}`);
    }
    tensors.set(name, { dtype, shape: shape as number[], begin: dataStart + off[0], end: dataStart + off[1] });
  }
  const info = (name: string) => {
    const t = tensors.get(name);
    if (!t) throw fail(`no tensor named "${name}"`, 'Check that the checkpoint matches the model architecture in config.json.');
    return t;
  };
  return {
    tensors,
    metadata,
    raw: (name) => {
      const t = info(name);
      return bytes.subarray(t.begin, t.end);
    },
    getFloat32: (name) => toFloat32(info(name), bytes),
  };
}

function toFloat32(t: TensorInfo, bytes: Uint8Array): Float32Array {
  const count = (t.end - t.begin) / DTYPE_BYTES[t.dtype];
  // Copy to an aligned buffer first: tensor data in a safetensors file need not be aligned.
  const src = bytes.slice(t.begin, t.end);
  const b = src.buffer;
  switch (t.dtype) {
    case 'F32':
      return new Float32Array(b, 0, count);
    case 'F64':
      return Float32Array.from(new Float64Array(b, 0, count));
    case 'F16': {
      const h = new Uint16Array(b, 0, count);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(h[i]);
      return out;
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const h = new Uint16Array(b, 0, count);
      const u = new Uint32Array(count);
      for (let i = 0; i < count; i++) u[i] = h[i] << 16;
      return new Float32Array(u.buffer);
    }
    case 'I64':
      return Float32Array.from(new BigInt64Array(b, 0, count), (x) => Number(x));
    case 'I32':
      return Float32Array.from(new Int32Array(b, 0, count));
    case 'I16':
      return Float32Array.from(new Int16Array(b, 0, count));
    case 'I8':
      return Float32Array.from(new Int8Array(b, 0, count));
    case 'U8':
    case 'BOOL':
      return Float32Array.from(new Uint8Array(b, 0, count));
  }
}

/** IEEE 754 binary16 → number (subnormals, infinities and NaN included). */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

export interface TensorToWrite {
  dtype?: 'F32';
  shape: number[];
  data: Float32Array;
}

/**
 * Serialises float32 tensors. Deterministic: tensors in name order, header padded with spaces to a
 * multiple of 8 bytes (as the reference writer does) so tensor data stays aligned.
 */
export function writeSafetensors(tensors: Map<string, TensorToWrite> | Record<string, TensorToWrite>, metadata?: Record<string, string>): Uint8Array {
  const entries = [...(tensors instanceof Map ? tensors.entries() : Object.entries(tensors))].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of entries) {
    const count = t.shape.reduce((a, d) => a * d, 1);
    if (count !== t.data.length) throw new Error(`writeSafetensors: "${name}" has ${t.data.length} values for shape [${t.shape}]`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + count * 4] };
    offset += count * 4;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const [, t] of entries) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}
