// Seeded PRNG: reproducible, in range, roughly uniform; shuffle is a permutation.

import { describe, expect, it } from 'vitest';
import { createRng, deriveSeed, shuffleInPlace } from '../../src/util/random.ts';

/** Loose statistical bounds: these draws are deterministic, so the tests cannot flake. */
const N = 100_000;

describe('createRng', () => {
  it('gives the same stream for the same seed and another for another seed', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const sa = Array.from({ length: 8 }, () => a.uint32());
    expect(Array.from({ length: 8 }, () => b.uint32())).toEqual(sa);
    expect(Array.from({ length: 8 }, () => c.uint32())).not.toEqual(sa);
  });

  it('matches the widely copied mulberry32 one-liner, output for output', () => {
    // Reference: the usual JS one-liner, `t = a += 0x6D2B79F5; ...; ((t ^ t >>> 14) >>> 0)`.
    const ref = (seed: number) => {
      let a = seed;
      return () => {
        let t = (a += 0x6d2b79f5);
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return (t ^ (t >>> 14)) >>> 0;
      };
    };
    const r = ref(1);
    const ours = createRng(1);
    for (let i = 0; i < 1000; i++) expect(ours.uint32()).toBe(r());
  });

  it('keeps float() in [0, 1) with mean ≈ 1/2 and int(n) in range and unbiased', () => {
    const rng = createRng(7);
    let sum = 0;
    let inRange = true;
    const counts = new Array(6).fill(0);
    for (let i = 0; i < N; i++) {
      const f = rng.float();
      inRange &&= f >= 0 && f < 1;
      sum += f;
      counts[rng.int(6)]++;
    }
    expect(inRange).toBe(true);
    expect(Math.abs(sum / N - 0.5)).toBeLessThan(0.01);
    for (const c of counts) expect(Math.abs(c / N - 1 / 6)).toBeLessThan(0.01);
    expect(() => rng.int(0)).toThrow(RangeError);
    expect(() => rng.int(2.5)).toThrow(RangeError);
  });

  it('draws normal() with mean ≈ 0 and variance ≈ 1', () => {
    const rng = createRng(8);
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < N; i++) {
      const x = rng.normal();
      s += x;
      s2 += x * x;
    }
    expect(Math.abs(s / N)).toBeLessThan(0.02);
    expect(Math.abs(s2 / N - 1)).toBeLessThan(0.02);
  });

  it('accepts any finite seed (negative, fractional, above 2^32) and rejects NaN', () => {
    expect(createRng(-1).uint32()).toBe(createRng(-1).uint32());
    expect(createRng(2 ** 40 + 5).uint32()).not.toBe(createRng(5).uint32());
    expect(() => createRng(NaN)).toThrow(RangeError);
  });
});

describe('helpers', () => {
  it('shuffleInPlace returns a permutation, reproducibly', () => {
    const items = Array.from({ length: 100 }, (_, i) => i);
    const a = shuffleInPlace(items.slice(), createRng(1));
    expect([...a].sort((x, y) => x - y)).toEqual(items);
    expect(a).not.toEqual(items);
    expect(shuffleInPlace(items.slice(), createRng(1))).toEqual(a);
  });

  it('deriveSeed separates streams of one parent seed', () => {
    const seeds = new Set(Array.from({ length: 1000 }, (_, i) => deriveSeed(42, i)));
    expect(seeds.size).toBe(1000);
    expect(deriveSeed(42, 0)).toBe(deriveSeed(42, 0));
  });
});
