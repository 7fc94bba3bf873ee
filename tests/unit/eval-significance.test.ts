// Paired permutation test: hand-enumerated cases, edge cases, Monte Carlo vs exact, pairing by query id;
// and what the marks mean: an improvement mark only for p < 0.05 and a higher mean, a loss mark otherwise.
// (Agreement with scipy.stats.permutation_test: tests/reference/eval-pytrec.test.ts.)

import { describe, expect, it } from 'vitest';
import { MetricError } from '../../src/errors.ts';
import { compareByQuery, pairByQuery, pairedPermutationTest } from '../../src/eval/significance.ts';
import { directionOf, IMPROVEMENT_MARKS, LOSS_MARKS, markOf, marksText, significanceLegend, testAgainst } from '../../src/eval/significance-marks.ts';
import { createRng } from '../../src/util/random.ts';

describe('exact enumeration', () => {
  it('d = [1, 2, 3]: 2 of 8 sign assignments reach |T| = 6', () => {
    // ±1 ±2 ±3 → 6, 4, 2, 0, 0, −2, −4, −6: |T| ≥ 6 for (+,+,+) and (−,−,−) → p = 2/8.
    const r = pairedPermutationTest([1, 2, 3], [0, 0, 0]);
    expect(r).toEqual({ pValue: 0.25, meanDiff: 2, n: 3, exact: true });
  });

  it('d = [1, 1, 1, −1]: |T| = 2 is reached by 10 of 16 assignments', () => {
    // T = Σ s_i d_i with three +1 and one −1; |T| ≥ 2 unless T = 0. T = 0 needs exactly two of the
    // four products s_i d_i positive: C(4, 2) = 6 assignments → p = (16 − 6) / 16 = 0.625.
    expect(pairedPermutationTest([1, 1, 1, 0], [0, 0, 0, 1]).pValue).toBe(10 / 16);
  });

  it('counts sums equal to the observed one in exact arithmetic but not in floating point', () => {
    // d = 0.1 · [1, 1, 1, −1]: as above p should be 10/16. In doubles the observed 0.1 + 0.1 + 0.1 − 0.1 is
    // 0.20000000000000004 while e.g. 0.1 − 0.1 + 0.1 + 0.1 is 0.2: a strict ≥ would count 4 of 16.
    expect(pairedPermutationTest([0.1, 0.1, 0.1, 0], [0, 0, 0, 0.1]).pValue).toBe(10 / 16);
  });
});

describe('edge cases', () => {
  it('identical runs give p = 1 (exact and Monte Carlo)', () => {
    const a = Array.from({ length: 50 }, (_, i) => (i % 7) / 7);
    expect(pairedPermutationTest(a.slice(0, 10), a.slice(0, 10)).pValue).toBe(1);
    expect(pairedPermutationTest(a, a).pValue).toBe(1);
  });

  it('a consistent large difference gives the smallest possible p', () => {
    const rng = createRng(3);
    const b = Array.from({ length: 300 }, () => rng.float() * 0.5);
    const a = b.map((x) => x + 0.2 + 0.01 * rng.float());
    const r = pairedPermutationTest(a, b, { rounds: 10_000 });
    expect(r.exact).toBe(false);
    expect(r.pValue).toBe(1 / 10_001); // +1 correction: never 0
    expect(r.meanDiff).toBeGreaterThan(0.2);
    // Exact on 16 queries: only the observed assignment and its mirror are as extreme.
    expect(pairedPermutationTest(a.slice(0, 16), b.slice(0, 16)).pValue).toBe(2 / 2 ** 16);
  });

  it('is two-sided and antisymmetric in meanDiff', () => {
    const rng = createRng(5);
    const a = Array.from({ length: 40 }, () => rng.float());
    const b = a.map((x) => x + 0.05 * rng.normal());
    const ab = pairedPermutationTest(a, b, { seed: 9 });
    const ba = pairedPermutationTest(b, a, { seed: 9 });
    expect(ab.pValue).toBe(ba.pValue);
    expect(ab.meanDiff).toBeCloseTo(-ba.meanDiff, 15);
  });

  it('is reproducible from the seed and varies with it', () => {
    const rng = createRng(1);
    const a = Array.from({ length: 60 }, () => rng.float());
    const b = a.map((x) => x + 0.1 * rng.normal());
    expect(pairedPermutationTest(a, b, { seed: 4 })).toEqual(pairedPermutationTest(a, b, { seed: 4 }));
    expect(pairedPermutationTest(a, b, { seed: 4 }).pValue).not.toBe(pairedPermutationTest(a, b, { seed: 5 }).pValue);
  });

  it('handles n = 0 and refuses mismatched or non-finite input', () => {
    expect(pairedPermutationTest([], [])).toEqual({ pValue: 1, meanDiff: 0, n: 0, exact: true });
    expect(() => pairedPermutationTest([1, 2], [1])).toThrow(MetricError);
    expect(() => pairedPermutationTest([NaN], [1])).toThrow(MetricError);
    expect(() => pairedPermutationTest([1], [1], { rounds: 0 })).toThrow(MetricError);
  });
});

describe('Monte Carlo agrees with exact enumeration', () => {
  it('n = 14, forced Monte Carlo with 20k rounds, within 4 standard errors', () => {
    const rng = createRng(11);
    const b = Array.from({ length: 14 }, () => rng.float());
    const a = b.map((x) => x + 0.04 + 0.1 * rng.normal());
    const exact = pairedPermutationTest(a, b);
    const rounds = 20_000;
    const mc = pairedPermutationTest(a, b, { rounds, exactMaxN: 0, seed: 2 });
    expect(exact.exact && !mc.exact).toBe(true);
    const se = Math.sqrt((exact.pValue * (1 - exact.pValue)) / rounds);
    expect(Math.abs(mc.pValue - exact.pValue)).toBeLessThan(4 * se + 1 / rounds);
  });
});

describe('pairing by query id', () => {
  const a = new Map([
    ['q1', { 'ndcg@10': 0.5 }],
    ['q2', { 'ndcg@10': 0.7 }],
    ['q3', { 'ndcg@10': 0.1 }],
  ]);
  const b = new Map([
    ['q3', { 'ndcg@10': 0.2 }],
    ['q1', { 'ndcg@10': 0.4 }],
    ['q9', { 'ndcg@10': 1 }],
  ]);

  it('pairs in the order of the first map and lists the unpaired ids', () => {
    expect(pairByQuery(a, b, 'ndcg@10')).toEqual({ queryIds: ['q1', 'q3'], a: [0.5, 0.1], b: [0.4, 0.2], unpaired: ['q2', 'q9'] });
  });

  it('compareByQuery tests the paired values', () => {
    const r = compareByQuery(a, b, 'ndcg@10');
    expect(r.n).toBe(2);
    expect(r.meanDiff).toBeCloseTo(0, 15); // (0.1 − 0.1) / 2
    expect(r.unpaired).toEqual(['q2', 'q9']);
  });

  it('refuses a metric one side does not have', () => {
    expect(() => pairByQuery(a, b, 'recall@100')).toThrow(/Metric "recall@100" is missing for query "q1"/);
  });
});

describe('marks', () => {
  // 8 queries, the row below the baseline on every one: exact p = 2/2^8 < 0.05.
  const base = new Map(Array.from({ length: 8 }, (_, i) => [`q${i}`, { 'ndcg@10': 0.5 + 0.01 * i, 'recall@100': 0.9 }] as const));
  const worse = new Map([...base].map(([q, m]) => [q, { 'ndcg@10': m['ndcg@10'] - 0.2, 'recall@100': 0.9 }] as const));

  it('a significantly worse row gets the loss mark, the reverse comparison the improvement mark', () => {
    const down = testAgainst(worse, base, 'Raw');
    expect(down['ndcg@10']).toMatchObject({ pValue: 2 / 256, direction: 'loss', mark: '▼Raw', n: 8 });
    expect(down['ndcg@10'].meanDiff).toBeCloseTo(-0.2, 12);
    expect(down['recall@100']).toMatchObject({ pValue: 1, direction: 'none', mark: '' });
    const up = testAgainst(base, worse, 'FT');
    expect(up['ndcg@10']).toMatchObject({ pValue: 2 / 256, direction: 'improvement', mark: '‡' });
  });

  it('reads direction from p and the sign of the mean difference', () => {
    expect(directionOf({ pValue: 0.049, meanDiff: 0.01, n: 9 })).toBe('improvement');
    expect(directionOf({ pValue: 0.049, meanDiff: -0.01, n: 9 })).toBe('loss');
    expect(directionOf({ pValue: 0.05, meanDiff: 0.3, n: 9 })).toBe('none'); // p < 0.05, strictly
    expect(directionOf({ pValue: 0.01, meanDiff: 0, n: 9 })).toBe('none');
    expect(markOf('run', { pValue: 0.01, meanDiff: 1, n: 9 })).toBe('▲');
    expect(markOf('run', { pValue: 0.01, meanDiff: -1, n: 9 })).toBe('▼');
  });

  it('never shares a character between an improvement mark and a loss mark', () => {
    const up = Object.values(IMPROVEMENT_MARKS).join('');
    for (const loss of Object.values(LOSS_MARKS)) for (const ch of loss) expect(up).not.toContain(ch);
    expect(new Set(Object.values(IMPROVEMENT_MARKS)).size).toBe(4);
  });

  it('writes a cell improvements first, in baseline order, then losses', () => {
    const t = (pValue: number, meanDiff: number) => ({ 'ndcg@10': { pValue, meanDiff, n: 9 } });
    expect(marksText({ Raw: t(0.01, 0.1), FT: t(0.01, 0.1) }, 'ndcg@10')).toBe('†‡');
    expect(marksText({ Raw: t(0.01, -0.1), FT: t(0.01, 0.1) }, 'ndcg@10')).toBe('‡▼Raw');
    expect(marksText({ Raw: t(0.01, -0.1), FT: t(0.3, 0.1) }, 'ndcg@10')).toBe('▼Raw');
    expect(marksText({ Raw: t(0.01, -0.1) }, 'recall@100')).toBe('');
  });

  it('has one legend that names both kinds of mark for the baselines it is given', () => {
    expect(significanceLegend(['FT', 'Raw'])).toBe(
      '† / ‡: significantly better than Raw / FT; ▼Raw / ▼FT: significantly worse ' +
        '(p < 0.05, two-sided paired permutation test over queries: exact up to 16 queries, else 10,000 rounds; better or worse by the mean difference).',
    );
  });
});
