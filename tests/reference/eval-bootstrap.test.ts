// The paired bootstrap interval (src/eval/bootstrap.ts) against scipy.stats.bootstrap(method='percentile')
// on the same differences (tests/reference/gen/bootstrap_fixtures.py → fixtures/eval-bootstrap.json). Both
// are Monte Carlo with different generators, so the endpoints agree within their sampling error: scipy's
// from 200,000 resamples, ours from the default 10,000.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_BOOTSTRAP_ROUNDS, pairedBootstrapInterval } from '../../src/eval/bootstrap.ts';

/**
 * |ours − scipy| per endpoint, as a share of the mean difference's standard error sd(d)/√n: a 2.5 % quantile
 * of 10,000 bootstrap means has a Monte Carlo error of about 0.03 standard errors, so 0.15 is five of them.
 */
const ENDPOINT_TOL_SE = 0.15;

interface Case {
  name: string;
  description: string;
  a: number[];
  b: number[];
  lo: number;
  hi: number;
}
const fixture = JSON.parse(readFileSync(resolve(import.meta.dirname, 'fixtures/eval-bootstrap.json'), 'utf8')) as { level: number; cases: Case[] };

const standardError = (a: number[], b: number[]) => {
  const d = a.map((x, i) => x - b[i]);
  const m = d.reduce((s, x) => s + x, 0) / d.length;
  return Math.sqrt(d.reduce((s, x) => s + (x - m) ** 2, 0) / (d.length - 1) / d.length);
};

describe('paired percentile bootstrap vs scipy.stats.bootstrap', () => {
  for (const c of fixture.cases) {
    it(`${c.name}: ${c.description}`, () => {
      const ci = pairedBootstrapInterval(c.a, c.b, { level: fixture.level });
      const tol = ENDPOINT_TOL_SE * standardError(c.a, c.b);
      expect(Math.abs(ci.lo - c.lo)).toBeLessThanOrEqual(tol);
      expect(Math.abs(ci.hi - c.hi)).toBeLessThanOrEqual(tol);
      expect(ci.level).toBe(fixture.level);
    });
  }

  it('is reproducible from its seed and moves with another seed by no more than its Monte Carlo error', () => {
    const c = fixture.cases[0];
    expect(pairedBootstrapInterval(c.a, c.b)).toEqual(pairedBootstrapInterval(c.a, c.b));
    const other = pairedBootstrapInterval(c.a, c.b, { seed: 7, rounds: DEFAULT_BOOTSTRAP_ROUNDS });
    expect(other).not.toEqual(pairedBootstrapInterval(c.a, c.b));
    expect(Math.abs(other.lo - c.lo)).toBeLessThanOrEqual(ENDPOINT_TOL_SE * standardError(c.a, c.b));
  });
});
