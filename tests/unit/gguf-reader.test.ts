// The GGUF reader on files built byte by byte here (the layout of ggml/docs/gguf.md): malformed input gets a
// ModelFormatError naming the file and the problem; version 2 reads as 3; the header is read by bounded
// ranges and a tensor by exactly its own range; a long string array across read windows comes back whole.
// Agreement with the `gguf` package on real files is tests/reference/gguf-dequant.test.ts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelFormatError, NotFoundError } from '../../src/errors.ts';
import { GgmlType } from '../../src/llm/gguf/ggml-types.ts';
import { ggufSourceFromFile } from '../../src/llm/gguf/node-source.ts';
import { GgufValueType as V, readGgufHeader, readTensorFloat32 } from '../../src/llm/gguf/reader.ts';
import { ggufSourceFromBytes, type GgufSource } from '../../src/llm/gguf/source.ts';

const LABEL = 'model.gguf';

/** Little-endian byte writer. */
class Bytes {
  private parts: number[] = [];
  u8(...xs: number[]) {
    this.parts.push(...xs.map((x) => x & 0xff));
    return this;
  }
  u32(x: number) {
    return this.u8(x, x >>> 8, x >>> 16, x >>> 24);
  }
  u64(x: number | bigint) {
    const b = BigInt(x);
    for (let i = 0n; i < 8n; i++) this.u8(Number((b >> (8n * i)) & 0xffn));
    return this;
  }
  f32(x: number) {
    const a = new Uint8Array(new Float32Array([x]).buffer);
    return this.u8(...a);
  }
  raw(xs: ArrayLike<number>) {
    for (let i = 0; i < xs.length; i++) this.parts.push(xs[i] & 0xff);
    return this;
  }
  str(s: string) {
    const a = new TextEncoder().encode(s);
    this.u64(a.length);
    for (const b of a) this.parts.push(b);
    return this;
  }
  pad(alignment: number) {
    while (this.parts.length % alignment) this.parts.push(0);
    return this;
  }
  get length() {
    return this.parts.length;
  }
  bytes() {
    return new Uint8Array(this.parts);
  }
}

interface TensorSpec {
  name: string;
  dims: number[];
  type: number;
  data: number[];
}

/** A GGUF v3 file: metadata from `kv` (a callback writing key/values), then tensors, alignment 32. */
function gguf(opts: { version?: number; kvCount?: number; kv?: (b: Bytes) => void; tensors?: TensorSpec[] } = {}): Uint8Array {
  const tensors = opts.tensors ?? [{ name: 'w', dims: [4, 2], type: GgmlType.F32, data: [...new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]).buffer)] }];
  const b = new Bytes().u8(0x47, 0x47, 0x55, 0x46).u32(opts.version ?? 3).u64(tensors.length).u64(opts.kvCount ?? 1);
  if (opts.kv) opts.kv(b);
  else b.str('general.architecture').u32(V.STRING).str('llama');
  let offset = 0;
  for (const t of tensors) {
    b.str(t.name).u32(t.dims.length);
    for (const d of t.dims) b.u64(d);
    b.u32(t.type).u64(offset);
    offset += Math.ceil(t.data.length / 32) * 32;
  }
  b.pad(32);
  for (const t of tensors) b.raw(t.data).pad(32);
  return b.bytes();
}

const read = (bytes: Uint8Array) => readGgufHeader(ggufSourceFromBytes(bytes, LABEL));

async function formatError(p: Promise<unknown>): Promise<string> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(ModelFormatError);
  const msg = (e as Error).message;
  expect(msg.startsWith(`${LABEL}: `)).toBe(true);
  return msg;
}

describe('readGgufHeader', () => {
  it('reads a minimal file and its F32 tensor', async () => {
    const bytes = gguf();
    const src = ggufSourceFromBytes(bytes, LABEL);
    const file = await readGgufHeader(src);
    expect(file).toMatchObject({ version: 3, alignment: 32, metadata: new Map([['general.architecture', 'llama']]) });
    expect(file.tensors).toEqual([{ name: 'w', dims: [4, 2], type: GgmlType.F32, offset: file.dataOffset, byteLength: 32, elements: 8 }]);
    expect(file.dataOffset % 32).toBe(0);
    expect(Array.from(await readTensorFloat32(src, file, file.tensors[0]))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('reads version 2 (same layout as 3)', async () => {
    expect((await read(gguf({ version: 2 }))).version).toBe(2);
  });

  it('refuses a bad magic, an unsupported version, and says when the file is big-endian', async () => {
    const bytes = gguf();
    bytes.set([0x50, 0x4b, 0x03, 0x04]); // a zip
    expect(await formatError(read(bytes))).toMatch(/not a GGUF file \(starts with "PK\?\?", not "GGUF"\)/);
    expect(await formatError(read(gguf({ version: 1 })))).toMatch(/GGUF version 1 is not supported/);
    expect(await formatError(read(gguf({ version: 4 })))).toMatch(/GGUF version 4 is not supported .*convert_hf_to_gguf/);
    expect(await formatError(read(gguf({ version: 0x03000000 })))).toMatch(/version 50331648 \(a big-endian file\)/);
  });

  it('refuses a truncated header and a tensor past the end of the file', async () => {
    const bytes = gguf();
    expect(await formatError(read(bytes.subarray(0, 6)))).toMatch(/truncated: .*magic and version/);
    expect(await formatError(read(bytes.subarray(0, 40)))).toMatch(/truncated: the header ends at byte 40 while reading metadata key 0 .*fetch the file again/);
    expect(await formatError(read(bytes.subarray(0, bytes.length - 1)))).toMatch(/truncated: tensor w ends at byte \d+ but the file has \d+ bytes/);
  });

  it('refuses an unknown tensor type id, and reads but will not dequantize a type it does not implement', async () => {
    const t = (type: number): TensorSpec => ({ name: 'w', dims: [256], type, data: new Array(66).fill(0) });
    expect(await formatError(read(gguf({ tensors: [t(99)] })))).toMatch(/tensor w has unknown tensor type id 99/);
    const bytes = gguf({ tensors: [t(GgmlType.IQ2_XXS)] });
    const src = ggufSourceFromBytes(bytes, LABEL);
    const file = await readGgufHeader(src);
    expect(file.tensors[0]).toMatchObject({ type: GgmlType.IQ2_XXS, byteLength: 66 });
    const e = await readTensorFloat32(src, file, file.tensors[0]).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ModelFormatError);
    expect((e as Error).message).toMatch(/model\.gguf: tensor w: IQ2_XXS tensors cannot be read \(supported: F32, F16, .*Q6_K.*\)/);
  });

  it('refuses absurd counts and lengths before allocating anything', async () => {
    const huge = (b: Bytes) => b.str('general.architecture').u32(V.STRING).u64(2n ** 62n);
    expect(await formatError(read(gguf({ kv: huge })))).toMatch(/string length of general\.architecture \d+ is larger than the file/);
    const b = new Bytes().u8(0x47, 0x47, 0x55, 0x46).u32(3).u64(2n ** 40n).u64(0).bytes();
    expect(await formatError(read(b))).toMatch(/tensor count 1099511627776 is larger than the file/);
    const arr = (x: Bytes) => x.str('a').u32(V.ARRAY).u32(V.UINT32).u64(1e9);
    expect(await formatError(read(gguf({ kv: arr })))).toMatch(/array length of a 1000000000 is larger than the file/);
    const bad = (x: Bytes) => x.str('a').u32(13).u32(0);
    expect(await formatError(read(gguf({ kv: bad })))).toMatch(/metadata a has unknown value type 13/);
    const dims: TensorSpec = { name: 'w', dims: [1 << 20, 1 << 20], type: GgmlType.F32, data: [] };
    expect(await formatError(read(gguf({ tensors: [dims] })))).toMatch(/tensor w \[1048576, 1048576\] would take \d+ bytes, more than the whole file/);
    const ragged: TensorSpec = { name: 'w', dims: [33], type: GgmlType.Q8_0, data: [] };
    expect(await formatError(read(gguf({ tensors: [ragged] })))).toMatch(/rows of 33 weights, not a multiple of the block size 32/);
  });

  it('reads every metadata value type, nested arrays included', async () => {
    const kv = (b: Bytes) => {
      b.str('u8').u32(V.UINT8).u8(250);
      b.str('i16').u32(V.INT16).u8(0x18, 0xfc); // -1000
      b.str('f32').u32(V.FLOAT32).f32(0.5);
      b.str('b').u32(V.BOOL).u8(1);
      b.str('i64').u32(V.INT64).u64(-5n & 0xffffffffffffffffn);
      b.str('nested').u32(V.ARRAY).u32(V.ARRAY).u64(2);
      b.u32(V.STRING).u64(2).str('x').str('y');
      b.u32(V.BOOL).u64(1).u8(0);
    };
    const file = await read(gguf({ kvCount: 6, kv }));
    expect(Object.fromEntries(file.metadata)).toEqual({ u8: 250, i16: -1000, f32: 0.5, b: true, i64: -5n, nested: [['x', 'y'], [false]] });
    expect(file.metadataEntries.map((e) => [e.key, e.type, e.itemType])).toEqual([
      ['u8', V.UINT8, undefined],
      ['i16', V.INT16, undefined],
      ['f32', V.FLOAT32, undefined],
      ['b', V.BOOL, undefined],
      ['i64', V.INT64, undefined],
      ['nested', V.ARRAY, V.ARRAY],
    ]);
  });

  it('reads the header by bounded ranges, a tensor by its own range, and strings across read windows', async () => {
    const words = Array.from({ length: 120_000 }, (_, i) => `tok${i}`); // ~1.3 MB of strings: over one window
    const kv = (b: Bytes) => {
      b.str('tokens').u32(V.ARRAY).u32(V.STRING).u64(words.length);
      for (const w of words) b.str(w);
    };
    const big: TensorSpec = { name: 'big', dims: [1 << 18], type: GgmlType.F32, data: new Array(1 << 20).fill(0) };
    const bytes = gguf({ kv, tensors: [big] });
    const reads: [number, number][] = [];
    const inner = ggufSourceFromBytes(bytes, LABEL);
    const src: GgufSource = { ...inner, read: (o, n) => (reads.push([o, n]), inner.read(o, n)) };
    const file = await readGgufHeader(src);
    expect(file.metadata.get('tokens')).toEqual(words);
    expect(reads.length).toBeGreaterThan(1);
    expect(reads.reduce((s, [, n]) => s + n, 0)).toBeLessThan(file.dataOffset + (1 << 20)); // never the whole 2.4 MB twice
    reads.length = 0;
    await readTensorFloat32(src, file, file.tensors[0]);
    expect(reads).toEqual([[file.tensors[0].offset, 1 << 20]]);
  });
});

describe('ggufSourceFromFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gguf-reader-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a file on disk by positioned reads and names it in errors', async () => {
    const path = join(dir, 'm.gguf');
    const bytes = gguf();
    writeFileSync(path, bytes);
    const src = await ggufSourceFromFile(path);
    try {
      const file = await readGgufHeader(src);
      expect(Array.from(await readTensorFloat32(src, file, file.tensors[0]))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    } finally {
      await src.close();
    }
    writeFileSync(path, bytes.subarray(0, bytes.length - 4));
    const cut = await ggufSourceFromFile(path);
    await expect(readGgufHeader(cut)).rejects.toThrow(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: truncated: tensor w`));
    await cut.close();
    await expect(ggufSourceFromFile(join(dir, 'none.gguf'))).rejects.toBeInstanceOf(NotFoundError);
  });
});
