// The GGUF writer against the `gguf` package's GGUFWriter: the same metadata (every value type, nested arrays)
// and tensors (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 from the same float32 values) must give the same
// file byte for byte (tests/reference/gen/gguf_writer_tiny.py → fixtures/gguf-writer-tiny.json). Also: a file
// read by reader.ts and written back is unchanged; streaming writes one tensor at a time; sinks and errors.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { ModelFormatError } from '../../src/errors.ts';
import { GgmlType } from '../../src/llm/gguf/ggml-types.ts';
import { quantizeTensor } from '../../src/llm/gguf/quantize.ts';
import { GgufValueType, readGgufHeader, readTensorBytes, type GgufMetadataEntry, type GgufValue } from '../../src/llm/gguf/reader.ts';
import { ggufSourceFromBytes } from '../../src/llm/gguf/source.ts';
import { blobSink, writeGguf, type GgufTensorOut } from '../../src/llm/gguf/writer.ts';

interface FixtureEntry {
  key: string;
  type: keyof typeof GgufValueType;
  itemType?: keyof typeof GgufValueType;
  value: unknown;
}
const fixture = JSON.parse(readFileSync(new URL('../reference/fixtures/gguf-writer-tiny.json', import.meta.url), 'utf8')) as {
  gguf_version: string;
  metadata: FixtureEntry[];
  tensors: { name: string; type: keyof typeof GgmlType; shape: number[]; input: string }[];
  file: string;
};
const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
const expected = b64(fixture.file);

/** JSON values as the reader represents them: typed arrays for numeric arrays, bigints for 64-bit integers. */
function entry(e: FixtureEntry): GgufMetadataEntry {
  const type = GgufValueType[e.type];
  if (type === GgufValueType.UINT64 || type === GgufValueType.INT64) return { key: e.key, type, value: BigInt(e.value as string) };
  if (type !== GgufValueType.ARRAY) return { key: e.key, type, value: e.value as GgufValue };
  const itemType = GgufValueType[e.itemType!];
  const typed: Partial<Record<number, (v: number[]) => GgufValue>> = { 0: (v) => Uint8Array.from(v), 5: (v) => Int32Array.from(v), 6: (v) => Float32Array.from(v) };
  const value = itemType === GgufValueType.ARRAY ? (e.value as number[][]).map((v) => Int32Array.from(v)) : typed[itemType]?.(e.value as number[]) ?? (e.value as GgufValue);
  return { key: e.key, type, itemType, value: value as GgufValue };
}

function tensorsOut(): GgufTensorOut[] {
  return fixture.tensors.map((t) => {
    const b = b64(t.input);
    const values = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
    const bytes = quantizeTensor(values, t.shape[t.shape.length - 1], GgmlType[t.type], t.name);
    return { name: t.name, dims: [...t.shape].reverse(), type: GgmlType[t.type], byteLength: bytes.length, data: async () => bytes };
  });
}

/** A sink that keeps every chunk (and checks that no single write is the whole file). */
function collect() {
  const chunks: Uint8Array[] = [];
  return {
    chunks,
    write: (c: Uint8Array) => void chunks.push(c.slice()),
    bytes: () => {
      const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let at = 0;
      for (const c of chunks) (out.set(c, at), (at += c.length));
      return out;
    },
  };
}

function firstDiff(a: Uint8Array, b: Uint8Array): string | null {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return `byte ${i}: ${a[i]} vs ${b[i]}`;
  return a.length === b.length ? null : `length ${a.length} vs ${b.length}`;
}

describe(`GGUF writer equals gguf ${fixture.gguf_version}'s GGUFWriter`, () => {
  test('same metadata and tensors → the same bytes', async () => {
    const sink = collect();
    const n = await writeGguf(sink, { metadata: fixture.metadata.map(entry), tensors: tensorsOut() });
    expect(firstDiff(sink.bytes(), expected)).toBeNull();
    expect(n).toBe(expected.length);
    expect(sink.chunks.length).toBeGreaterThan(fixture.tensors.length); // header, then tensor by tensor (+ padding)
  });

  test('a file read by reader.ts and written back is byte-identical (types kept, tensors copied)', async () => {
    const src = ggufSourceFromBytes(expected, 'tiny.gguf');
    const file = await readGgufHeader(src);
    const tensors: GgufTensorOut[] = file.tensors.map((t) => ({ name: t.name, dims: t.dims, type: t.type, byteLength: t.byteLength, data: () => readTensorBytes(src, t) }));
    const sink = blobSink();
    await writeGguf(sink, { metadata: file.metadataEntries, tensors, alignment: file.alignment });
    expect(firstDiff(new Uint8Array(await sink.blob().arrayBuffer()), expected)).toBeNull();
  });

  test('a header larger than the first buffer (a 30k-token vocabulary, 500 KB) reads back equal', async () => {
    const tokens = Array.from({ length: 30_000 }, (_, i) => `token ${i} · ü`);
    const metadata: GgufMetadataEntry[] = [
      { key: 'general.architecture', type: GgufValueType.STRING, value: 'llama' },
      { key: 'tokenizer.ggml.tokens', type: GgufValueType.ARRAY, itemType: GgufValueType.STRING, value: tokens },
      { key: 'tokenizer.ggml.token_type', type: GgufValueType.ARRAY, itemType: GgufValueType.INT32, value: Int32Array.from(tokens, (_, i) => i % 7) },
      { key: 'test.after', type: GgufValueType.UINT64, value: 2n ** 60n },
    ];
    const sink = collect();
    await writeGguf(sink, { metadata, tensors: tensorsOut() });
    const bytes = sink.bytes();
    expect(bytes.length).toBeGreaterThan(1 << 19);
    const file = await readGgufHeader(ggufSourceFromBytes(bytes, 'big.gguf'));
    expect(file.metadataEntries).toEqual(metadata);
    expect(file.tensors.map((t) => t.name)).toEqual(fixture.tensors.map((t) => t.name));
  });

  test('progress is monotone and ends at the data size; a cancelled write stops', async () => {
    const seen: number[] = [];
    await writeGguf(collect(), { metadata: fixture.metadata.map(entry), tensors: tensorsOut() }, { onProgress: (p) => seen.push(p.done / p.total) });
    expect(seen.every((v, i) => i === 0 || v >= seen[i - 1])).toBe(true);
    expect(seen.at(-1)).toBe(1);
    const controller = new AbortController();
    controller.abort();
    await expect(writeGguf(collect(), { metadata: [], tensors: tensorsOut() }, { signal: controller.signal })).rejects.toThrow(/cancel/i);
  });

  test('refuses a tensor whose bytes do not match its table entry, a duplicate key and a value of the wrong type', async () => {
    const [t] = tensorsOut();
    await expect(writeGguf(collect(), { metadata: [], tensors: [{ ...t, byteLength: t.byteLength + 4 }] })).rejects.toThrow(ModelFormatError);
    const dup: GgufMetadataEntry = { key: 'a', type: GgufValueType.UINT32, value: 1 };
    await expect(writeGguf(collect(), { metadata: [dup, dup], tensors: [] })).rejects.toThrow(/twice/);
    await expect(writeGguf(collect(), { metadata: [{ key: 'b', type: GgufValueType.UINT32, value: 'x' }], tensors: [] })).rejects.toThrow(/not a number/);
  });
});
