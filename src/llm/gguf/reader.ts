// GGUF reader (llama.cpp's model file, ggml/docs/gguf.md; versions 2 and 3, little-endian): the header —
// magic, version, counts, metadata key/values, tensor table — read by growing byte ranges from a GgufSource,
// and each tensor read by its own range and dequantized (dequant.ts), so a 1-5 GB file is never held whole.
//
// Why not @huggingface/gguf: its `gguf(url)` reads by URL with Range requests (a Blob would need a fake
// `fetch` that answers Range headers, a local path only in Node) and stops at the tensor table: it reads no
// tensor data and dequantizes nothing, which is most of the work here. The header itself is ~150 lines below
// over the same range source that the tensors use, with the file-naming errors the app needs.
import { ModelFormatError } from '../../errors.ts';
import { GGML_BLOCK, GgmlType, ggmlTypeName, isGgmlType } from './ggml-types.ts';
import { dequantize } from './dequant.ts';
import type { GgufSource } from './source.ts';

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_SUPPORTED_VERSIONS: readonly number[] = [2, 3];
/** general.alignment when a file has none (GGUF_DEFAULT_ALIGNMENT). */
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** Header bytes asked of the source per read; grown when one value is larger (a long chat template). */
const HEADER_CHUNK = 1 << 20;
/** ggml's GGML_MAX_DIMS. */
const MAX_DIMS = 4;

/** gguf_type: metadata value types. */
export const GgufValueType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;
export type GgufValueType = (typeof GgufValueType)[keyof typeof GgufValueType];

/**
 * A metadata value: 8-32-bit integers and floats as numbers, 64-bit integers as bigints (exact), bools,
 * strings; arrays of numbers as typed arrays (Int32Array for i32 …, BigInt64Array for i64), of bools,
 * strings or arrays as plain arrays.
 */
export type GgufValue =
  | number
  | bigint
  | boolean
  | string
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array
  | BigUint64Array
  | BigInt64Array
  | boolean[]
  | string[]
  | GgufValue[];

/** One metadata key/value with its stored type, so that a file read can be written back with the same types. */
export interface GgufMetadataEntry {
  key: string;
  type: GgufValueType;
  /** For arrays: the element type (ARRAY for nested arrays, whose inner types are not recorded). */
  itemType?: GgufValueType;
  value: GgufValue;
}

export interface GgufTensorInfo {
  name: string;
  /** GGUF order: dims[0] is the innermost (contiguous) dimension, the row length. */
  dims: number[];
  type: GgmlType;
  /** Absolute byte offset in the file. */
  offset: number;
  byteLength: number;
  elements: number;
}

export interface GgufFile {
  version: number;
  alignment: number;
  /** Absolute offset of the tensor data section. */
  dataOffset: number;
  metadata: Map<string, GgufValue>;
  /** The same key/values in file order, with their stored types. */
  metadataEntries: GgufMetadataEntry[];
  tensors: GgufTensorInfo[];
}

const SCALAR_BYTES: Partial<Record<GgufValueType, number>> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

/** Reads the header and tensor table. Throws ModelFormatError naming src.label on anything malformed. */
export async function readGgufHeader(src: GgufSource): Promise<GgufFile> {
  const c = new Cursor(src);
  const fail = (problem: string, fix = 'The file is damaged or not a GGUF model: download or convert it again') => new ModelFormatError(src.label, problem, fix);
  await c.need(8, 'the magic and version');
  const head = c.peek(4);
  const magic = c.u32();
  if (magic !== GGUF_MAGIC) {
    const text = String.fromCharCode(...Array.from(head, (b) => (b >= 32 && b < 127 ? b : 0x3f)));
    throw fail(`not a GGUF file (starts with "${text}", not "GGUF")`, 'Give a .gguf model file (llama.cpp, Ollama and LM Studio use them)');
  }
  const version = c.u32();
  if (!GGUF_SUPPORTED_VERSIONS.includes(version)) {
    const swapped = ((version & 0xff) << 24) | ((version & 0xff00) << 8) | ((version >>> 8) & 0xff00) | (version >>> 24);
    const why = GGUF_SUPPORTED_VERSIONS.includes(swapped) ? ' (a big-endian file)' : '';
    throw fail(`GGUF version ${version}${why} is not supported (this reader reads versions ${GGUF_SUPPORTED_VERSIONS.join(' and ')}, little-endian)`, 'Convert the model again with a current llama.cpp (convert_hf_to_gguf.py writes version 3)');
  }
  await c.need(16, 'the tensor and metadata counts');
  // A tensor entry takes at least 8 (name length) + 4 (n_dims) + 4 (type) + 8 (offset) bytes, a key/value 8 + 4 + 1.
  const nTensors = c.count(24, 'tensor count', fail);
  const nKv = c.count(13, 'metadata count', fail);

  const metadata = new Map<string, GgufValue>();
  const metadataEntries: GgufMetadataEntry[] = [];
  for (let i = 0; i < nKv; i++) {
    const key = await c.string(fail, `metadata key ${i}`);
    await c.need(4, `the type of ${key}`);
    const type = c.u32();
    if (!(type in SCALAR_BYTES) && type !== GgufValueType.STRING && type !== GgufValueType.ARRAY) throw fail(`metadata ${key} has unknown value type ${type}`);
    let itemType: GgufValueType | undefined;
    if (type === GgufValueType.ARRAY) {
      await c.need(4, `the element type of ${key}`);
      itemType = c.u32() as GgufValueType;
      c.back(4);
    }
    const value = await c.value(type as GgufValueType, key, fail);
    if (metadata.has(key)) throw fail(`metadata key ${key} appears twice`);
    metadata.set(key, value);
    metadataEntries.push(itemType === undefined ? { key, type: type as GgufValueType, value } : { key, type: type as GgufValueType, itemType, value });
  }

  const alignment = alignmentOf(metadata, fail);
  const tensors: GgufTensorInfo[] = [];
  const relOffsets: number[] = [];
  for (let i = 0; i < nTensors; i++) {
    const name = await c.string(fail, `tensor name ${i}`);
    await c.need(4, `the dimensions of ${name}`);
    const nDims = c.u32();
    if (nDims < 1 || nDims > MAX_DIMS) throw fail(`tensor ${name} has ${nDims} dimensions (1 to ${MAX_DIMS} allowed)`);
    await c.need(8 * nDims + 12, `the table entry of ${name}`);
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) dims.push(c.u64(`dimension ${d} of ${name}`, fail));
    const type = c.u32();
    if (!isGgmlType(type)) throw fail(`tensor ${name} has unknown tensor type id ${type}`, 'The file uses a ggml type newer than this reader, or is damaged: use a file quantized to a common type (Q4_K_M, Q8_0, F16)');
    const rel = c.u64(`the offset of ${name}`, fail);
    const elements = dims.reduce((a, b) => a * b, 1);
    const block = GGML_BLOCK[type];
    if (dims[0] % block.weights !== 0) throw fail(`tensor ${name} (${ggmlTypeName(type)}) has rows of ${dims[0]} weights, not a multiple of the block size ${block.weights}`);
    const byteLength = (elements / block.weights) * block.bytes;
    if (!Number.isSafeInteger(byteLength) || byteLength > src.size) throw fail(`tensor ${name} [${dims.join(', ')}] would take ${byteLength} bytes, more than the whole file (${src.size})`);
    tensors.push({ name, dims, type, offset: 0, byteLength, elements });
    relOffsets.push(rel);
  }
  const dataOffset = alignUp(c.pos, alignment);
  for (let i = 0; i < tensors.length; i++) {
    const t = tensors[i];
    t.offset = dataOffset + relOffsets[i];
    if (relOffsets[i] % alignment !== 0) throw fail(`tensor ${t.name} starts at data offset ${relOffsets[i]}, not a multiple of the alignment ${alignment}`);
    if (t.offset + t.byteLength > src.size) {
      throw fail(`truncated: tensor ${t.name} ends at byte ${t.offset + t.byteLength} but the file has ${src.size} bytes`, 'The download or copy was cut short: fetch the file again');
    }
  }
  return { version, alignment, dataOffset, metadata, metadataEntries, tensors };
}

/** One tensor's bytes, by its own range read. */
export async function readTensorBytes(src: GgufSource, info: GgufTensorInfo): Promise<Uint8Array> {
  const bytes = await src.read(info.offset, info.byteLength);
  if (bytes.length !== info.byteLength) {
    throw new ModelFormatError(src.label, `truncated: tensor ${info.name} needs bytes ${info.offset}..${info.offset + info.byteLength} but the file has ${src.size}`, 'The download or copy was cut short: fetch the file again');
  }
  return bytes;
}

/**
 * One tensor as float32, dequantized exactly as the `gguf` package's dequantize does; row-major with the
 * innermost dim last (numpy's shape is dims reversed). `file` is unused today but keeps the call stable.
 */
export async function readTensorFloat32(src: GgufSource, file: GgufFile, info: GgufTensorInfo): Promise<Float32Array> {
  void file;
  return dequantize(info.type, await readTensorBytes(src, info), info.elements, `${src.label}: tensor ${info.name}`);
}

function alignmentOf(metadata: Map<string, GgufValue>, fail: (p: string) => ModelFormatError): number {
  const v = metadata.get('general.alignment');
  if (v === undefined) return GGUF_DEFAULT_ALIGNMENT;
  const a = Number(v);
  if (!Number.isInteger(a) || a <= 0 || (a & (a - 1)) !== 0) throw fail(`general.alignment ${String(v)} is not a power of two`);
  return a;
}

const alignUp = (x: number, a: number): number => Math.ceil(x / a) * a;

/** Typed-array constructors for numeric array items, by value type. */
const ARRAY_OF: Partial<Record<GgufValueType, { new (buf: ArrayBuffer): GgufValue & ArrayBufferView }>> = {
  0: Uint8Array,
  1: Int8Array,
  2: Uint16Array,
  3: Int16Array,
  4: Uint32Array,
  5: Int32Array,
  6: Float32Array,
  10: BigUint64Array,
  11: BigInt64Array,
  12: Float64Array,
};

// Typed arrays over the file's bytes assume a little-endian host, as every JS engine in use is.
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('GGUF reader: a big-endian host is not supported');

/**
 * A window of the file's bytes with a read position. `need(n)` makes the next n bytes available (reading a
 * new range only when the window runs out), after which the sync getters read them.
 */
class Cursor {
  pos = 0;
  private buf: Uint8Array = new Uint8Array(0);
  private view: DataView = new DataView(new ArrayBuffer(0));
  private start = 0; // file offset of buf[0]
  private readonly utf8 = new TextDecoder('utf-8');

  constructor(private readonly src: GgufSource) {}

  async need(n: number, what: string): Promise<void> {
    if (this.pos + n <= this.start + this.buf.length) return;
    if (this.pos + n > this.src.size) {
      throw new ModelFormatError(this.src.label, `truncated: the header ends at byte ${this.src.size} while reading ${what} (${n} bytes at ${this.pos})`, 'The download or copy was cut short: fetch the file again');
    }
    const len = Math.min(Math.max(n, HEADER_CHUNK), this.src.size - this.pos);
    const got = await this.src.read(this.pos, len);
    if (got.length < n) throw new ModelFormatError(this.src.label, `truncated: could read only ${got.length} of ${n} bytes at ${this.pos} (${what})`, 'The download or copy was cut short: fetch the file again');
    this.buf = got;
    this.view = new DataView(got.buffer, got.byteOffset, got.byteLength);
    this.start = this.pos;
  }

  private at(): number {
    return this.pos - this.start;
  }
  u32(): number {
    const v = this.view.getUint32(this.at(), true);
    this.pos += 4;
    return v;
  }
  back(n: number): void {
    this.pos -= n;
  }
  peek(n: number): Uint8Array {
    return this.buf.subarray(this.at(), this.at() + n);
  }
  /** A u64 that must be a safe integer (an offset). */
  u64(what: string, fail: (p: string) => ModelFormatError): number {
    const v = this.view.getBigUint64(this.at(), true);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw fail(`${what} is ${v}, beyond any file`);
    return Number(v);
  }
  /** A u64 count of things each at least `minBytes` long: refused when they could not fit in the file. */
  count(minBytes: number, what: string, fail: (p: string) => ModelFormatError): number {
    const v = this.view.getBigUint64(this.at(), true);
    this.pos += 8;
    if (v * BigInt(minBytes) > BigInt(this.src.size)) throw fail(`${what} ${v} is larger than the file (${this.src.size} bytes) can hold`);
    return Number(v);
  }

  /** The next string when its bytes are already in the window (no await: arrays of 100k tokens), else null. */
  stringInWindow(): string | null {
    const end = this.start + this.buf.length;
    if (this.pos + 8 > end) return null;
    const len = this.view.getBigUint64(this.at(), true);
    if (BigInt(this.pos + 8) + len > BigInt(end)) return null;
    this.pos += 8;
    const n = Number(len);
    const s = this.utf8.decode(this.buf.subarray(this.at(), this.at() + n));
    this.pos += n;
    return s;
  }

  async string(fail: (p: string) => ModelFormatError, what: string): Promise<string> {
    await this.need(8, `the length of ${what}`);
    const len = this.count(1, `string length of ${what}`, fail);
    await this.need(len, what);
    const s = this.utf8.decode(this.buf.subarray(this.at(), this.at() + len));
    this.pos += len;
    return s;
  }

  async value(type: GgufValueType, key: string, fail: (p: string) => ModelFormatError): Promise<GgufValue> {
    if (type === GgufValueType.STRING) return this.string(fail, key);
    if (type === GgufValueType.ARRAY) return this.array(key, fail);
    await this.need(SCALAR_BYTES[type]!, key);
    return this.scalar(type);
  }

  private scalar(type: GgufValueType): number | bigint | boolean {
    const v = this.view;
    const at = this.at();
    this.pos += SCALAR_BYTES[type]!;
    switch (type) {
      case GgufValueType.UINT8: return v.getUint8(at);
      case GgufValueType.INT8: return v.getInt8(at);
      case GgufValueType.UINT16: return v.getUint16(at, true);
      case GgufValueType.INT16: return v.getInt16(at, true);
      case GgufValueType.UINT32: return v.getUint32(at, true);
      case GgufValueType.INT32: return v.getInt32(at, true);
      case GgufValueType.FLOAT32: return v.getFloat32(at, true);
      case GgufValueType.BOOL: return v.getUint8(at) !== 0;
      case GgufValueType.UINT64: return v.getBigUint64(at, true);
      case GgufValueType.INT64: return v.getBigInt64(at, true);
      case GgufValueType.FLOAT64: return v.getFloat64(at, true);
      default: throw new Error(`unreachable: scalar type ${type}`);
    }
  }

  private async array(key: string, fail: (p: string) => ModelFormatError): Promise<GgufValue> {
    await this.need(12, `the array header of ${key}`);
    const itemType = this.u32() as GgufValueType;
    const size = SCALAR_BYTES[itemType];
    const minBytes = size ?? (itemType === GgufValueType.STRING ? 8 : itemType === GgufValueType.ARRAY ? 12 : 0);
    if (minBytes === 0) throw fail(`metadata ${key} is an array of unknown value type ${itemType}`);
    const n = this.count(minBytes, `array length of ${key}`, fail);
    const Typed = ARRAY_OF[itemType];
    if (Typed && size) {
      await this.need(n * size, key);
      const copy = new Uint8Array(n * size); // copied: the window is unaligned and reused
      copy.set(this.buf.subarray(this.at(), this.at() + n * size));
      this.pos += n * size;
      return new Typed(copy.buffer);
    }
    if (itemType === GgufValueType.BOOL) {
      await this.need(n, key);
      const out = Array.from(this.buf.subarray(this.at(), this.at() + n), (b) => b !== 0);
      this.pos += n;
      return out;
    }
    const out: GgufValue[] = new Array(n);
    for (let i = 0; i < n; i++) {
      if (itemType === GgufValueType.STRING) out[i] = this.stringInWindow() ?? (await this.string(fail, `${key}[${i}]`));
      else out[i] = await this.array(`${key}[${i}]`, fail);
    }
    return out as GgufValue;
  }
}

export { GgmlType };
