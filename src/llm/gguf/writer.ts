// GGUF v3 writer (llama.cpp's file format, ggml/docs/gguf.md; byte layout as the `gguf` package's GGUFWriter
// writes it): little-endian header — magic "GGUF", version 3, tensor count u64, metadata count u64 — then the
// metadata (key string, value type u32, value), the tensor table (name, n_dims u32, dims u64 innermost first,
// ggml type u32, data offset u64), zero padding to `alignment`, and the tensor data, each tensor starting at
// a multiple of `alignment` (padding after every tensor, the last one included, as GGUFWriter does).
//
// The data is streamed: the header is built first (a few MB at most: it holds the vocabulary), then every
// tensor is produced by its own callback and handed to the sink, so a 1-5 GB model is never one buffer.
// Sinks: a Node file handle (src/cli), or Blob parts in the page (`blobSink`). Metadata comes as the reader
// gives it (GgufMetadataEntry: key, stored type, value), so a file read is written back with the same types. Why not
// @huggingface/gguf: it serializes headers but not a streamed data section.
import { ModelFormatError, throwIfAborted } from '../../errors.ts';
import type { WorkOptions } from '../../util/progress.ts';
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GgufValueType, type GgufMetadataEntry } from './reader.ts';

export const GGUF_VERSION = 3;

/** One tensor to write: its table entry, and a callback that produces exactly `byteLength` bytes when its turn comes. */
export interface GgufTensorOut {
  name: string;
  /** ggml order: dims[0] is the row length (innermost), as in the file. */
  dims: number[];
  /** ggml_type id. */
  type: number;
  byteLength: number;
  data: () => Promise<Uint8Array>;
}

/** Where the bytes go, in order. */
export interface GgufSink {
  write(chunk: Uint8Array): Promise<void> | void;
}

const utf8 = new TextEncoder();

/** A growable little-endian byte buffer for the header. */
class HeaderBytes {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private room(n: number): number {
    if (this.length + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    const at = this.length;
    this.length += n;
    return at;
  }
  // room() first, then this.view: room() may replace the buffer (and the view) when it grows.
  u8(v: number) { const at = this.room(1); this.view.setUint8(at, v); }
  i8(v: number) { const at = this.room(1); this.view.setInt8(at, v); }
  u16(v: number) { const at = this.room(2); this.view.setUint16(at, v, true); }
  i16(v: number) { const at = this.room(2); this.view.setInt16(at, v, true); }
  u32(v: number) { const at = this.room(4); this.view.setUint32(at, v, true); }
  i32(v: number) { const at = this.room(4); this.view.setInt32(at, v, true); }
  f32(v: number) { const at = this.room(4); this.view.setFloat32(at, v, true); }
  f64(v: number) { const at = this.room(8); this.view.setFloat64(at, v, true); }
  u64(v: number | bigint) { const at = this.room(8); this.view.setBigUint64(at, BigInt(v), true); }
  i64(v: number | bigint) { const at = this.room(8); this.view.setBigInt64(at, BigInt(v), true); }
  str(s: string) {
    const b = utf8.encode(s);
    this.u64(b.length);
    const at = this.room(b.length);
    this.buf.set(b, at);
  }
  zeros(n: number) { this.room(n); } // the buffer is zero-filled and never reused
  bytes(): Uint8Array { return this.buf.subarray(0, this.length); }
}

function writeScalar(h: HeaderBytes, type: GgufValueType, v: unknown, key: string): void {
  const num = (): number => {
    if (typeof v !== 'number') throw new ModelFormatError(key, `value ${String(v)} is not a number`, 'Give numbers for numeric GGUF types');
    return v;
  };
  const big = (): number | bigint => (typeof v === 'bigint' ? v : num());
  switch (type) {
    case GgufValueType.UINT8: return h.u8(num());
    case GgufValueType.INT8: return h.i8(num());
    case GgufValueType.UINT16: return h.u16(num());
    case GgufValueType.INT16: return h.i16(num());
    case GgufValueType.UINT32: return h.u32(num());
    case GgufValueType.INT32: return h.i32(num());
    case GgufValueType.FLOAT32: return h.f32(num());
    case GgufValueType.FLOAT64: return h.f64(num());
    case GgufValueType.UINT64: return h.u64(big());
    case GgufValueType.INT64: return h.i64(big());
    case GgufValueType.BOOL: return h.u8(v ? 1 : 0);
    case GgufValueType.STRING:
      if (typeof v !== 'string') throw new ModelFormatError(key, `value ${String(v)} is not a string`, 'Give a string for a STRING value');
      return h.str(v);
    default: throw new ModelFormatError(key, `value type ${type} is not a scalar type`, 'Use one of the gguf_type values 0-8, 10-12');
  }
}

/** The stored type of an array's items where the reader did not record it (arrays nested in arrays). */
function itemTypeOf(v: ArrayLike<unknown>, key: string): GgufValueType {
  const typed: [new (...a: never[]) => unknown, GgufValueType][] = [
    [Uint8Array, GgufValueType.UINT8], [Int8Array, GgufValueType.INT8], [Uint16Array, GgufValueType.UINT16], [Int16Array, GgufValueType.INT16],
    [Uint32Array, GgufValueType.UINT32], [Int32Array, GgufValueType.INT32], [Float32Array, GgufValueType.FLOAT32], [Float64Array, GgufValueType.FLOAT64],
    [BigUint64Array, GgufValueType.UINT64], [BigInt64Array, GgufValueType.INT64],
  ];
  for (const [ctor, t] of typed) if (v instanceof ctor) return t;
  const first = v[0];
  if (v.length === 0 || typeof first === 'string') return GgufValueType.STRING;
  if (typeof first === 'boolean') return GgufValueType.BOOL;
  if (Array.isArray(first) || ArrayBuffer.isView(first)) return GgufValueType.ARRAY;
  throw new ModelFormatError(key, 'an array nested in an array holds plain numbers, whose GGUF type is unknown', 'Give numeric arrays as typed arrays (Int32Array, Float32Array, ...)');
}

function writeArray(h: HeaderBytes, itemType: GgufValueType, v: unknown, key: string): void {
  if (!Array.isArray(v) && !ArrayBuffer.isView(v)) throw new ModelFormatError(key, 'an ARRAY value is not an array', 'Give an array');
  const items = v as unknown as ArrayLike<unknown>;
  h.u32(itemType);
  h.u64(items.length);
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (itemType === GgufValueType.ARRAY) writeArray(h, itemTypeOf(item as ArrayLike<unknown>, key), item, key);
    else writeScalar(h, itemType, item, key);
  }
}

const alignUp = (n: number, alignment: number) => Math.ceil(n / alignment) * alignment;

/** The header (everything before the data section, padded) and each tensor's offset in the data section. */
export function ggufHeader(metadata: readonly GgufMetadataEntry[], tensors: readonly Omit<GgufTensorOut, 'data'>[], alignment: number): { header: Uint8Array; offsets: number[]; dataBytes: number } {
  if (!Number.isInteger(alignment) || alignment <= 0 || alignment % 8 !== 0) {
    throw new ModelFormatError('general.alignment', `alignment ${alignment} is not a positive multiple of 8`, 'GGUF requires it; use 32');
  }
  const h = new HeaderBytes();
  h.u32(GGUF_MAGIC);
  h.u32(GGUF_VERSION);
  h.u64(tensors.length);
  h.u64(metadata.length);
  const keys = new Set<string>();
  for (const { key, type, itemType, value } of metadata) {
    if (keys.has(key)) throw new ModelFormatError(key, 'metadata key given twice', 'Each GGUF key occurs once');
    keys.add(key);
    h.str(key);
    h.u32(type);
    if (type === GgufValueType.ARRAY) writeArray(h, itemType ?? itemTypeOf(value as ArrayLike<unknown>, key), value, key);
    else writeScalar(h, type, value, key);
  }
  const offsets: number[] = [];
  let offset = 0;
  for (const t of tensors) {
    h.str(t.name);
    h.u32(t.dims.length);
    for (const d of t.dims) h.u64(d);
    h.u32(t.type);
    h.u64(offset);
    offsets.push(offset);
    offset = alignUp(offset + t.byteLength, alignment);
  }
  h.zeros(alignUp(h.length, alignment) - h.length);
  return { header: h.bytes(), offsets, dataBytes: offset };
}

/**
 * Writes a GGUF file to `sink`: header, then each tensor's bytes as its callback produces them (one tensor in
 * memory at a time), zero-padded to `alignment`. Returns the bytes written.
 */
export async function writeGguf(
  sink: GgufSink,
  file: { metadata: readonly GgufMetadataEntry[]; tensors: readonly GgufTensorOut[]; alignment?: number },
  work: WorkOptions = {},
): Promise<number> {
  const alignment = file.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  const { header, dataBytes } = ggufHeader(file.metadata, file.tensors, alignment);
  await sink.write(header);
  const padding = new Uint8Array(alignment);
  let done = 0;
  for (const t of file.tensors) {
    throwIfAborted(work.signal, 'Writing the GGUF file');
    work.onProgress?.({ stage: 'gguf:write', done, total: dataBytes, unit: 'bytes', text: t.name });
    const bytes = await t.data();
    if (bytes.byteLength !== t.byteLength) {
      throw new ModelFormatError(t.name, `produced ${bytes.byteLength} bytes, the tensor table says ${t.byteLength}`, 'This is a bug in the exporter; please report it');
    }
    await sink.write(bytes);
    const pad = alignUp(bytes.byteLength, alignment) - bytes.byteLength;
    if (pad) await sink.write(padding.subarray(0, pad));
    done += bytes.byteLength + pad;
  }
  work.onProgress?.({ stage: 'gguf:write', done: dataBytes, total: dataBytes, unit: 'bytes' });
  return header.byteLength + dataBytes;
}

/**
 * A sink for the page's download: every piece becomes a Blob part at once. The Blob constructor copies the
 * bytes (a producer may reuse its buffer) and the browser may keep parts outside the JS heap; the final Blob
 * references the parts, no concatenation.
 */
export function blobSink(): GgufSink & { blob(): Blob } {
  const parts: Blob[] = [];
  return {
    write: (chunk) => void parts.push(new Blob([chunk as Uint8Array<ArrayBuffer>])),
    blob: () => new Blob(parts, { type: 'application/octet-stream' }),
  };
}
