// float16 conversion and the q4f16_1 quantiser against the format (mlc-llm group_quantization.py):
// corner cases of float16, the nibble packing order on a hand example, the scale layout, padding of
// rows whose length is not a multiple of 32, zero groups, and round-trip error bounds.
import { describe, expect, test } from 'vitest';
import { f16Bits, f16Decode, f16Round, f16Value, fromF16Array, toF16Array } from '../../src/llm/quant/f16.ts';
import { dequantizeQ4f16, q4At, q4ErrorBound, q4Groups, q4Words, quantizeQ4f16 } from '../../src/llm/quant/q4f16.ts';
import { createRng } from '../../src/util/random.ts';

describe('float16', () => {
  test('exact values, limits and specials', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.5, 0x3800],
      [65504, 0x7bff], // largest finite
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [1023 * 2 ** -24, 0x03ff], // largest subnormal
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
    ];
    for (const [x, bits] of cases) {
      expect(f16Bits(x), String(x)).toBe(bits);
      expect(Object.is(f16Value(bits), x), `decode ${bits.toString(16)}`).toBe(true);
    }
    expect(f16Bits(NaN) & 0x7c00).toBe(0x7c00);
    expect(f16Bits(NaN) & 0x3ff).not.toBe(0);
    expect(f16Value(f16Bits(NaN))).toBeNaN();
  });

  test('round to nearest, ties to even (normal, subnormal, overflow)', () => {
    const ulp1 = 2 ** -10; // spacing in [1, 2)
    expect(f16Round(1 + ulp1 / 2)).toBe(1); // tie → even mantissa 0
    expect(f16Round(1 + 1.5 * ulp1)).toBe(1 + 2 * ulp1); // tie → even mantissa 2
    expect(f16Round(1 + ulp1 / 2 + 2 ** -20)).toBe(1 + ulp1); // just above the tie
    expect(f16Round(2 ** -25)).toBe(0); // half the smallest subnormal → 0 (even)
    expect(f16Round(1.5 * 2 ** -24)).toBe(2 * 2 ** -24); // subnormal tie → even
    expect(f16Round(2 ** -25 + 2 ** -40)).toBe(2 ** -24);
    expect(f16Round(1023.5 * 2 ** -24)).toBe(2 ** -14); // rounds up into the smallest normal
    expect(f16Round(65519)).toBe(65504); // below the midpoint to 2^16
    expect(f16Round(65520)).toBe(Infinity); // the midpoint rounds to even = overflow
    expect(f16Round(-1e6)).toBe(-Infinity);
    expect(Object.is(f16Round(-1e-10), -0)).toBe(true);
  });

  test('every bit pattern decodes and re-encodes to itself (table = formula)', () => {
    const bad: number[] = [];
    for (let h = 0; h < 65536; h++) {
      const v = f16Decode(h);
      const same = f16Value(h) === v || (Number.isNaN(v) && Number.isNaN(f16Value(h)));
      if (!same || (!Number.isNaN(v) && f16Bits(v) !== h)) bad.push(h);
    }
    expect(bad).toEqual([]);
    expect(Array.from(fromF16Array(toF16Array([1, -0.25, 3e-5])))).toEqual([1, -0.25, f16Round(3e-5)]);
  });
});

describe('q4f16_1', () => {
  test('hand example: scale = max|w|/7, q = round(w/scale + 7), nibble r of word j holds element 8j + r', () => {
    // One row of 32: w = (i − 7)·0.5 for i < 15 covers every level once; the rest are 0. max|w| = 3.5 → scale 0.5.
    const w = Float32Array.from({ length: 32 }, (_, i) => (i < 15 ? (i - 7) * 0.5 : 0));
    const t = quantizeQ4f16(w, 1, 32);
    expect(t.qScale.length).toBe(1);
    expect(f16Value(t.qScale[0])).toBe(0.5);
    expect(t.qWeight.length).toBe(4);
    // Elements 0..7 hold q = 0..7 → low nibble first: 0x76543210; 8..14 hold 8..14, 15 holds 7 (w = 0).
    expect(t.qWeight[0]).toBe(0x76543210);
    expect(t.qWeight[1]).toBe(0x7edcba98);
    expect(t.qWeight[2]).toBe(0x77777777);
    expect(t.qWeight[3]).toBe(0x77777777);
    expect(Array.from(dequantizeQ4f16(t))).toEqual(Array.from(w));
  });

  test('ties round to even (llvm.nearbyint), and clamp to 0..14', () => {
    // scale = 7/7 = 1: w = 0.5 → 7.5 → 8 (even); w = 1.5 → 8.5 → 8; w = −0.5 → 6.5 → 6; w = 7 → 14.
    const w = new Float32Array(32);
    w.set([0.5, 1.5, -0.5, 7, -7, 2.5]);
    const t = quantizeQ4f16(w, 1, 32);
    expect([0, 1, 2, 3, 4, 5].map((c) => q4At(t, 0, c))).toEqual([8, 8, 6, 14, 0, 10]);
  });

  test('layout: q_weight [out, ceil(in/32)·4] uint32, q_scale [out, ceil(in/32)] float16, one scale per row and group', () => {
    const rows = 3;
    const cols = 64;
    // Row r, group g has max |w| = (r + 1)(g + 1): the scale table must read back as that / 7.
    const w = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) w[r * cols + c] = c % 32 === 5 ? (r + 1) * (Math.floor(c / 32) + 1) : 0.01;
    const t = quantizeQ4f16(w, rows, cols);
    expect([t.qWeight.length, t.qScale.length]).toEqual([rows * q4Words(cols), rows * q4Groups(cols)]);
    for (let r = 0; r < rows; r++) for (let g = 0; g < 2; g++) expect(f16Value(t.qScale[r * 2 + g])).toBe(f16Round(((r + 1) * (g + 1)) / 7));
  });

  test('rows not a multiple of 32: padding packs as 0 and stays out of the max', () => {
    const w = Float32Array.from({ length: 2 * 40 }, (_, i) => ((i % 40) - 20) / 20);
    const t = quantizeQ4f16(w, 2, 40);
    expect(q4Words(40)).toBe(8);
    expect(q4Groups(40)).toBe(2);
    for (let r = 0; r < 2; r++) {
      for (let c = 40; c < 64; c++) expect(q4At(t, r, c)).toBe(0);
      expect(f16Value(t.qScale[r * 2 + 1])).toBe(f16Round(19 / 20 / 7)); // group 1: elements 32..39 only
    }
    const back = dequantizeQ4f16(t);
    expect(back.length).toBe(80);
  });

  test('a zero group packs q = 0 (tvm: NaN fails the max select) and dequantises to 0', () => {
    const t = quantizeQ4f16(new Float32Array(32), 1, 32);
    expect(t.qScale[0]).toBe(0);
    expect(Array.from(t.qWeight)).toEqual([0, 0, 0, 0]);
    expect(Array.from(dequantizeQ4f16(t)).every((v) => v === 0)).toBe(true);
  });

  test('round trip within half a step (plus float16 slack) on random weights of many scales', () => {
    const rng = createRng(11);
    const rows = 16;
    const cols = 96;
    const w = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      const s = 10 ** (-4 + (r % 6)); // 1e-4 … 10
      for (let c = 0; c < cols; c++) w[r * cols + c] = rng.normal() * s;
    }
    const back = dequantizeQ4f16(quantizeQ4f16(w, rows, cols));
    let tightest = 0; // largest error / bound seen: the bound should not be loose
    for (let r = 0; r < rows; r++) {
      for (let g = 0; g < 3; g++) {
        let maxAbs = 0;
        for (let i = 0; i < 32; i++) maxAbs = Math.max(maxAbs, Math.abs(w[r * cols + g * 32 + i]));
        const bound = q4ErrorBound(maxAbs);
        for (let i = 0; i < 32; i++) {
          const k = r * cols + g * 32 + i;
          expect(Math.abs(back[k] - w[k])).toBeLessThanOrEqual(bound);
          tightest = Math.max(tightest, Math.abs(back[k] - w[k]) / bound);
        }
      }
    }
    expect(tightest).toBeGreaterThan(0.8); // errors of nearly half a step do occur
  });
});
