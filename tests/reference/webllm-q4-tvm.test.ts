// Our q4f16_1 quantiser and tensor-cache writer against the real toolchain, bit for bit: the fixture was
// written by tests/reference/gen/q4f16_tvm.py, which runs mlc-llm's GroupQuantize._quantize compiled by
// Apache TVM 0.27 for CPU, and tvm.contrib.tvmjs.dump_tensor_cache itself.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { fromF16Array } from '../../src/llm/quant/f16.ts';
import { quantizeQ4f16 } from '../../src/llm/quant/q4f16.ts';
import { TensorCacheWriter, type ShardFile, type TensorDtype } from '../../src/llm/webllm/tensor-cache.ts';

interface Fixture {
  cases: { name: string; shape: [number, number]; w16_bits: number[]; q_weight: number[]; q_weight_shape: number[]; q_scale_bits: number[]; q_scale_shape: number[] }[];
  tensor_cache: {
    cap_bytes: number;
    tensors: { name: string; shape: number[]; dtype: TensorDtype; bytes_hex: string }[];
    manifest: { records: unknown[] };
  };
}
const FX = JSON.parse(readFileSync(new URL('./fixtures/q4f16-tvm.json', import.meta.url), 'utf8')) as Fixture;

describe('q4f16_1 vs mlc-llm GroupQuantize on TVM (CPU)', () => {
  for (const c of FX.cases) {
    test(`${c.name} [${c.shape}]: identical q_weight and q_scale`, () => {
      const [rows, cols] = c.shape;
      const w = fromF16Array(Uint16Array.from(c.w16_bits)); // the float16 weights TVM was given
      const t = quantizeQ4f16(w, rows, cols);
      expect([rows, t.qWeight.length / rows]).toEqual(c.q_weight_shape);
      expect([rows, t.qScale.length / rows]).toEqual(c.q_scale_shape);
      expect(Array.from(t.qScale)).toEqual(c.q_scale_bits);
      expect(Array.from(t.qWeight)).toEqual(c.q_weight);
    });
  }
});

describe('TensorCacheWriter vs tvmjs.dump_tensor_cache', () => {
  test('same shards, records, offsets and md5 sums (out-of-band shards included)', () => {
    const { cap_bytes, tensors, manifest } = FX.tensor_cache;
    const w = new TensorCacheWriter(cap_bytes);
    const files: ShardFile[] = [];
    for (const t of tensors) files.push(...w.add({ name: t.name, shape: t.shape, dtype: t.dtype, bytes: Uint8Array.from(Buffer.from(t.bytes_hex, 'hex')) }));
    const { last, manifest: ours } = w.finish(1);
    if (last) files.push(last);
    expect(ours.records).toEqual(manifest.records);
    expect(files.map((f) => f.record.dataPath)).toEqual(ours.records.map((r) => r.dataPath));
  });
});
