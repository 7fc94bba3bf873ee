// The paired bootstrap interval's edge cases (its values against scipy: tests/reference/eval-bootstrap.test.ts).
import { describe, expect, it } from 'vitest';
import { intervalText, pairedBootstrapInterval } from '../../src/eval/bootstrap.ts';

describe('pairedBootstrapInterval', () => {
  it('is the difference itself when every query differs by the same amount, and 0 with no queries', () => {
    expect(pairedBootstrapInterval([0.5, 0.75, 1], [0.25, 0.5, 0.75])).toEqual({ lo: 0.25, hi: 0.25, level: 0.95 });
    expect(pairedBootstrapInterval([], [])).toEqual({ lo: 0, hi: 0, level: 0.95 });
  });

  it('holds the mean difference, and a wider level gives a wider interval', () => {
    const a = Array.from({ length: 50 }, (_, i) => (i * 37) % 11 / 10);
    const b = Array.from({ length: 50 }, (_, i) => (i * 17) % 7 / 10);
    const mean = a.reduce((s, x, i) => s + x - b[i], 0) / a.length;
    const ci95 = pairedBootstrapInterval(a, b);
    const ci99 = pairedBootstrapInterval(a, b, { level: 0.99 });
    expect(ci95.lo).toBeLessThan(mean);
    expect(ci95.hi).toBeGreaterThan(mean);
    expect(ci99.lo).toBeLessThan(ci95.lo);
    expect(ci99.hi).toBeGreaterThan(ci95.hi);
  });

  it('refuses unpaired values, non-finite values and bad settings with a message that says which', () => {
    expect(() => pairedBootstrapInterval([1], [1, 2])).toThrow(/got 1 and 2/);
    expect(() => pairedBootstrapInterval([1, NaN], [1, 2])).toThrow(/Query #1/);
    expect(() => pairedBootstrapInterval([1], [1], { rounds: 0 })).toThrow(/rounds must be a positive integer/);
    expect(() => pairedBootstrapInterval([1], [1], { level: 1 })).toThrow(/level must lie in \(0, 1\)/);
  });

  it('prints signed, as the tables print their differences', () => {
    expect(intervalText({ lo: -0.06834, hi: 0.0012, level: 0.95 })).toBe('[-0.0683, +0.0012]');
    expect(intervalText({ lo: 0, hi: 0, level: 0.95 })).toBe('[0.0000, 0.0000]');
  });
});
