// safetensors reading: every malformed case gives a ModelFormatError naming the file and the problem,
// fp16/bf16 widen exactly, and writing then reading is bit-exact. BERT-level checks (a tensor whose shape
// does not fit config.json) are at the end.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../src/errors.ts';
import { halfToFloat, readSafetensors, writeSafetensors } from '../../src/model/safetensors.ts';
import { bertWeightsFromSafetensors } from '../../src/encoder/bert-weights.ts';
import { parseBertConfig } from '../../src/encoder/config.ts';

const TINY_BERT = resolve(import.meta.dirname, '../reference/fixtures/tiny-bert');

/** A safetensors file from a header object and the raw data bytes. */
function file(header: Record<string, unknown>, data: Uint8Array = new Uint8Array(0), headerLength?: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength ?? json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function expectFormatError(f: () => unknown, pattern: RegExp): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ModelFormatError);
    expect((e as Error).message).toMatch(/^model\.safetensors: /);
    expect((e as Error).message).toMatch(pattern);
    return;
  }
  throw new Error('expected a ModelFormatError');
}

describe('malformed safetensors', () => {
  it('rejects a file shorter than the 8-byte length', () => {
    expectFormatError(() => readSafetensors(new Uint8Array(5)), /only 5 bytes/);
  });

  it('rejects a header length past the end of the file', () => {
    expectFormatError(() => readSafetensors(file({}, new Uint8Array(0), 4096)), /header length 4096 runs past the end/);
  });

  it('rejects an implausibly large header length', () => {
    expectFormatError(() => readSafetensors(file({}, new Uint8Array(0), 2 ** 40)), /implausible/);
  });

  it('rejects a header that is not JSON', () => {
    const bytes = file({ a: 1 });
    bytes[8] = 0x7a; // '{' → 'z'
    expectFormatError(() => readSafetensors(bytes), /not valid JSON/);
  });

  it('rejects data offsets past the end of the data', () => {
    expectFormatError(() => readSafetensors(file({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, new Uint8Array(8))), /"w" data_offsets \[0,16\] run past the end/);
  });

  it('rejects reversed or non-integer offsets', () => {
    expectFormatError(() => readSafetensors(file({ w: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, new Uint8Array(8))), /invalid data_offsets/);
    expectFormatError(() => readSafetensors(file({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 'x'] } }, new Uint8Array(8))), /invalid data_offsets/);
  });

  it('rejects an unknown dtype, naming the known ones', () => {
    expectFormatError(() => readSafetensors(file({ w: { dtype: 'F8_E4M3', shape: [2], data_offsets: [0, 2] } }, new Uint8Array(2))), /"w" has unknown dtype "F8_E4M3" \(known: F64, F32, F16, BF16/);
  });

  it('rejects a byte range that does not match dtype × shape', () => {
    expectFormatError(() => readSafetensors(file({ w: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 20] } }, new Uint8Array(24))), /holds 20 bytes but F32 \[2,3\] needs 24/);
  });

  it('rejects an invalid shape', () => {
    expectFormatError(() => readSafetensors(file({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4))), /invalid shape/);
  });

  it('names a missing tensor', () => {
    expectFormatError(() => readSafetensors(file({})).getFloat32('nope'), /no tensor named "nope"/);
  });
});

describe('fp16 and bf16 widen to float32 exactly', () => {
  // (bits, value): normal, negative, subnormal, largest, infinity, zero.
  const F16: [number, number][] = [[0x3c00, 1], [0xc000, -2], [0x3555, 0.333251953125], [0x0001, 2 ** -24], [0x7bff, 65504], [0x7c00, Infinity], [0x8000, -0]];
  const BF16: [number, number][] = [[0x3f80, 1], [0xc040, -3], [0x3eab, 0.333984375], [0x7f80, Infinity], [0x0000, 0]];

  const encode = (dtype: string, pairs: [number, number][]) => {
    const raw = new Uint16Array(pairs.map(([bits]) => bits));
    return readSafetensors(file({ x: { dtype, shape: [pairs.length], data_offsets: [0, raw.byteLength] } }, new Uint8Array(raw.buffer))).getFloat32('x');
  };

  it('F16', () => {
    expect(Array.from(encode('F16', F16))).toEqual(F16.map(([, v]) => v));
    expect(Number.isNaN(halfToFloat(0x7e00))).toBe(true);
  });

  it('BF16', () => {
    expect(Array.from(encode('BF16', BF16))).toEqual(BF16.map(([, v]) => v));
  });

  it('unaligned tensor data (odd header padding) still reads', () => {
    const raw = new Uint16Array([0x3c00, 0x4000]);
    const header = { pad: { dtype: 'U8', shape: [1], data_offsets: [0, 1] }, x: { dtype: 'F16', shape: [2], data_offsets: [1, 5] } };
    const data = new Uint8Array(5);
    data.set(new Uint8Array(raw.buffer), 1);
    expect(Array.from(readSafetensors(file(header, data)).getFloat32('x'))).toEqual([1, 2]);
  });
});

describe('round trip', () => {
  it('write then read is bit-exact, metadata kept', () => {
    const w = new Float32Array([1.5, -0, Math.PI, 1e-40, -3.4e38, 7]);
    const bytes = writeSafetensors({ b: { shape: [2, 3], data: w }, a: { shape: [1], data: new Float32Array([42]) } }, { format: 'pt' });
    const st = readSafetensors(bytes);
    expect([...st.tensors.keys()]).toEqual(['a', 'b']);
    expect(st.metadata).toEqual({ format: 'pt' });
    expect(new Uint8Array(st.getFloat32('b').buffer)).toEqual(new Uint8Array(w.buffer));
    // Tensor data starts 8-byte aligned: the header is space-padded.
    expect(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8).toBe(0);
  });
});

describe('BERT weights from safetensors', () => {
  const config = parseBertConfig(readFileSync(resolve(TINY_BERT, 'config.json'), 'utf8'));
  const real = readSafetensors(new Uint8Array(readFileSync(resolve(TINY_BERT, 'model.safetensors'))));

  /** The fixture's tensors, renamed or replaced, written back as a file. */
  const variant = (edit: (name: string, t: { shape: number[]; data: Float32Array }) => [string, { shape: number[]; data: Float32Array }] | null) => {
    const out = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, info] of real.tensors) {
      const r = edit(name, { shape: info.shape, data: real.getFloat32(name) });
      if (r) out.set(r[0], r[1]);
    }
    return readSafetensors(writeSafetensors(out));
  };

  it('loads HF names with or without the "bert." prefix, pooler kept aside', () => {
    const plain = bertWeightsFromSafetensors(config, [real]);
    const prefixed = bertWeightsFromSafetensors(config, [variant((n, t) => [`bert.${n}`, t])]);
    expect([...prefixed.params.keys()]).toEqual([...plain.params.keys()]);
    expect(prefixed.params.get('encoder.layer.1.output.dense.weight')!.data).toEqual(plain.params.get('encoder.layer.1.output.dense.weight')!.data);
    expect([...plain.extras.keys()]).toEqual(['pooler.dense.weight', 'pooler.dense.bias']);
  });

  it('names the tensor, the expected and the actual shape on a mismatch', () => {
    const bad = variant((n, t) => (n === 'encoder.layer.0.attention.self.key.weight' ? [n, { shape: [16, 64], data: t.data }] : [n, t]));
    expect(() => bertWeightsFromSafetensors(config, [bad])).toThrow(
      /model\.safetensors: tensor "encoder\.layer\.0\.attention\.self\.key\.weight" has shape \[16, 64\] but config\.json implies \[32, 32\]/,
    );
  });

  it('names a missing tensor', () => {
    const missing = variant((n, t) => (n === 'encoder.layer.1.intermediate.dense.bias' ? null : [n, t]));
    expect(() => bertWeightsFromSafetensors(config, [missing])).toThrow(/missing tensor "encoder\.layer\.1\.intermediate\.dense\.bias" of shape \[64\]/);
  });

  it('says what it found when the file holds no BERT at all', () => {
    const other = readSafetensors(writeSafetensors({ 'model.embed_tokens.weight': { shape: [1], data: new Float32Array(1) } }));
    expect(() => bertWeightsFromSafetensors(config, [other])).toThrow(/no BERT tensors found .*model\.embed_tokens\.weight/);
  });

  it('reads TensorFlow-era LayerNorm gamma/beta names', () => {
    const tfNames = variant((n, t) => [n.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta'), t]);
    const w = bertWeightsFromSafetensors(config, [tfNames]);
    expect(w.params.get('embeddings.LayerNorm.weight')!.data).toEqual(real.getFloat32('embeddings.LayerNorm.weight'));
  });
});
