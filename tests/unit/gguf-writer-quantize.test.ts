// The GGUF writer's quantizers against the `gguf` Python package: the bytes gguf.quantize wrote for fixed
// float32 rows (tests/reference/gen/gguf_quantize.py → fixtures/gguf-quantize.json) must come out bit for bit.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { GgmlType } from '../../src/llm/gguf/ggml-types.ts';
import { quantizeTensor } from '../../src/llm/gguf/quantize.ts';
import { ModelFormatError } from '../../src/errors.ts';

interface Case {
  name: string;
  row: number;
  input: string;
  bytes: Record<string, string>;
}
const fixture = JSON.parse(readFileSync(new URL('../reference/fixtures/gguf-quantize.json', import.meta.url), 'utf8')) as { gguf_version: string; cases: Case[] };

const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
const floats = (s: string) => {
  const b = b64(s);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};

/** The first differing byte, for a readable failure instead of a 20 KiB array diff. */
function firstDiff(a: Uint8Array, b: Uint8Array): string | null {
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `byte ${i}: ${a[i]} vs ${b[i]}`;
  return null;
}

const rows = fixture.cases.flatMap((c) => Object.keys(c.bytes).map((type) => ({ c, type })));

describe(`quantizers equal gguf ${fixture.gguf_version}`, () => {
  test.each(rows.map(({ c, type }) => [c.name, type, c] as const))('%s as %s', (_name, type, c) => {
    const got = quantizeTensor(floats(c.input), c.row, GgmlType[type as keyof typeof GgmlType], c.name);
    expect(firstDiff(got, b64(c.bytes[type]))).toBeNull();
  });

  test('every block type is covered by a case whose scales are not all zero', () => {
    const types = new Set(rows.map((r) => r.type));
    expect([...types].sort()).toEqual(['BF16', 'F16', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q8_0']);
  });

  test('K-quants and rows that do not split into blocks are refused with the fix', () => {
    expect(() => quantizeTensor(new Float32Array(256), 256, 12 /* Q4_K */, 'blk.0.attn_q.weight')).toThrow(ModelFormatError);
    expect(() => quantizeTensor(new Float32Array(48), 48, GgmlType.Q8_0, 'x')).toThrow(/--type f16/);
  });

  test('F32 is the little-endian float32 bytes', () => {
    const x = new Float32Array([1, -2.5, 3e-39]);
    expect([...quantizeTensor(x, 3, GgmlType.F32, 'x')]).toEqual([...new Uint8Array(x.buffer)]);
  });
});
