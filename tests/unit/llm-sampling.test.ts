// Next-token choice on hand-made distributions: argmax ties, the nucleus set, inverse-CDF draws, and
// sampled frequencies matching the truncated, renormalised distribution.
import { describe, expect, test } from 'vitest';
import { argmax, nucleus, sampleFromProbs, sampleToken, softmax } from '../../src/llm/sampling.ts';
import { createRng } from '../../src/util/random.ts';

const P = [0.05, 0.5, 0.15, 0.3]; // sorted: 1 (0.5), 3 (0.3), 2 (0.15), 0 (0.05)
const logitsOf = (p: number[]) => p.map(Math.log);

describe('argmax and softmax', () => {
  test('first index wins ties (run.c sample_argmax)', () => {
    expect(argmax([1, 3, 3, 2])).toBe(1);
    expect(argmax([-Infinity, -5])).toBe(1);
  });
  test('softmax with temperature', () => {
    const p = softmax([0, Math.log(3)]);
    expect(p[0]).toBeCloseTo(0.25, 12);
    const hot = softmax([0, Math.log(3)], 2); // 1 : √3
    expect(hot[1] / hot[0]).toBeCloseTo(Math.sqrt(3), 12);
  });
});

describe('nucleus (top-p)', () => {
  test.each([
    [0.4, [1]], // 0.5 > 0.4 already
    [0.6, [1, 3]], // 0.5 ≤ 0.6 < 0.8
    [0.79, [1, 3]],
    [0.85, [1, 3, 2]], // 0.8 ≤ 0.85 < 0.95
    [0.99, [1, 3, 2, 0]],
  ])('p = %f keeps %j (the token that crosses p included)', (p, ids) => {
    expect(nucleus(P, p).ids).toEqual(ids);
  });

  test('ties sort by id; the mass is the kept probability', () => {
    const { ids, mass } = nucleus([0.25, 0.25, 0.25, 0.25], 0.6);
    expect(ids).toEqual([0, 1, 2]);
    expect(mass).toBeCloseTo(0.75, 12);
  });
});

describe('sampleFromProbs / sampleToken', () => {
  test('inverse CDF on a hand distribution', () => {
    expect(sampleFromProbs(P, 0)).toBe(0);
    expect(sampleFromProbs(P, 0.049)).toBe(0);
    expect(sampleFromProbs(P, 0.051)).toBe(1);
    expect(sampleFromProbs(P, 0.999999)).toBe(3);
    // Within a nucleus the coin scales to its mass: 1 (0.5) then 3 (0.3) of 0.8.
    expect(sampleFromProbs(P, 0.6, [1, 3], 0.8)).toBe(1); // 0.48 < 0.5
    expect(sampleFromProbs(P, 0.65, [1, 3], 0.8)).toBe(3); // 0.52 ≥ 0.5
  });

  test('greedy and temperature 0 ignore the coin', () => {
    expect(sampleToken(logitsOf(P), { greedy: true, temperature: 5 }, 0.999)).toBe(1);
    expect(sampleToken(logitsOf(P), { temperature: 0 }, 0.001)).toBe(1);
  });

  test('top-p never picks outside the nucleus; frequencies follow the renormalised distribution', () => {
    const rng = createRng(7);
    const counts = [0, 0, 0, 0];
    const N = 20_000;
    for (let i = 0; i < N; i++) counts[sampleToken(logitsOf(P), { temperature: 1, topP: 0.6 }, rng.float())]++;
    expect(counts[0]).toBe(0);
    expect(counts[2]).toBe(0);
    // 0.5/0.8 and 0.3/0.8, with 5 standard errors of slack.
    const se = Math.sqrt((0.625 * 0.375) / N);
    expect(Math.abs(counts[1] / N - 0.625)).toBeLessThan(5 * se);
    expect(Math.abs(counts[3] / N - 0.375)).toBeLessThan(5 * se);
  });

  test('no top-p (p = 1): plain sampling reaches every token', () => {
    const rng = createRng(3);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) seen.add(sampleToken(logitsOf(P), { temperature: 1, topP: 1 }, rng.float()));
    expect([...seen].sort()).toEqual([0, 1, 2, 3]);
  });

  test('negative temperature is an error', () => {
    expect(() => sampleToken([0, 1], { temperature: -1 }, 0.5)).toThrow(RangeError);
  });
});
