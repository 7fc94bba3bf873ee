// Our metrics and permutation test against the outside references: pytrec_eval (trec_eval 9, as BEIR
// runs it) and scipy.stats.permutation_test. Fixture: tests/reference/gen/eval_fixtures.py.

import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Qrels } from '../../src/data/types.ts';
import { evaluate } from '../../src/eval/metrics.ts';
import { pairedPermutationTest } from '../../src/eval/significance.ts';
import type { Run } from '../../src/eval/types.ts';

/** pytrec_eval computes in C doubles in the same order as we do: differences are a few ulps at most. */
const METRIC_TOLERANCE = 1e-12;
/** Exact permutation p-values are counts / 2^n on both sides. */
const EXACT_P_TOLERANCE = 1e-12;
/**
 * Monte Carlo p-values: 4 standard errors of the difference, plus one count of slack each. Ours counts
 * |T*| ≥ |T| (variance p(1 − p)/R); scipy doubles a one-sided count (variance 4 · p/2 · (1 − p/2)/S).
 */
const mcTolerance = (p: number, oursRounds: number, scipyRounds: number) =>
  4 * Math.sqrt((p * (1 - p)) / oursRounds + (p * (2 - p)) / scipyRounds) + 1 / oursRounds + 1 / scipyRounds;

type Values = Record<string, number>;
interface Case {
  name: string;
  description: string;
  ignoreIdenticalIds: boolean;
  qrels: Record<string, Record<string, number>>;
  run: Record<string, [string, number][]>;
  expected: { perQuery: Record<string, Values>; mean: Record<string, number | null>; queries: number };
  beirMrr10: { perQuery: Record<string, number>; mean: number; qrelsQueries: number; tieFree: string[] };
}
interface PermutationCase {
  name: string;
  a: number[];
  b: number[];
  exact: boolean;
  scipyResamples: number | null;
  pValue: number;
}
interface Fixture {
  metrics: string[];
  cases: Case[];
  scifact: { queries: number; mean: Values; perQuery: Record<string, Values> };
  permutation: PermutationCase[];
}

const fixture = JSON.parse(readFileSync(new URL('./fixtures/eval-pytrec.json', import.meta.url), 'utf8')) as Fixture;

const toQrels = (q: Case['qrels']): Qrels => new Map(Object.entries(q).map(([qid, docs]) => [qid, new Map(Object.entries(docs))]));
const toRun = (r: Case['run']): Run =>
  new Map(Object.entries(r).map(([qid, hits]) => [qid, hits.map(([docId, score]) => ({ docId, score }))]));

function expectClose(actual: Values, expected: Values, where: string): void {
  expect(Object.keys(actual).sort(), where).toEqual(Object.keys(expected).sort());
  for (const [k, v] of Object.entries(expected)) {
    expect(Math.abs(actual[k] - v), `${where} ${k}: ours ${actual[k]}, pytrec_eval ${v}`).toBeLessThanOrEqual(METRIC_TOLERANCE);
  }
}

describe('metrics vs pytrec_eval', () => {
  for (const c of fixture.cases) {
    it(`${c.name}: ${c.description}`, () => {
      const res = evaluate(toQrels(c.qrels), toRun(c.run), { metrics: fixture.metrics, ignoreIdenticalIds: c.ignoreIdenticalIds });
      // Same set of evaluated queries as pytrec_eval returns.
      expect([...res.perQuery.keys()].sort()).toEqual(Object.keys(c.expected.perQuery).sort());
      expect(res.queries).toBe(c.expected.queries);
      for (const [qid, values] of res.perQuery) expectClose(values, c.expected.perQuery[qid], `${c.name} query ${qid}`);
      expectClose(res.mean, c.expected.mean as Values, `${c.name} mean`);
    });
  }

  it("MRR@10 equals BEIR's per query where BEIR's tie order cannot differ; BEIR's mean divides by all qrels queries", () => {
    let compared = 0;
    for (const c of fixture.cases) {
      const res = evaluate(toQrels(c.qrels), toRun(c.run), { metrics: ['mrr@10'], ignoreIdenticalIds: c.ignoreIdenticalIds });
      for (const qid of c.beirMrr10.tieFree) {
        expect(res.perQuery.get(qid)?.['mrr@10'], `${c.name} ${qid}`).toBe(c.beirMrr10.perQuery[qid]);
        compared++;
      }
      if (c.beirMrr10.tieFree.length === Object.keys(c.beirMrr10.perQuery).length) {
        const sum = [...res.perQuery.values()].reduce((s, v) => s + v['mrr@10'], 0);
        expect(sum / c.beirMrr10.qrelsQueries).toBeCloseTo(c.beirMrr10.mean, 12);
      }
    }
    expect(compared).toBeGreaterThan(10);
  });
});

// The SciFact run recipe, as in eval_fixtures.py scifact_case().
function scifactRun(qrels: Qrels): Run {
  const run: Run = new Map();
  [...qrels.keys()].forEach((qid, i) => {
    const slots = Array.from({ length: 130 }, (_, s) => `f${i}_${s}`);
    const placed = new Set<string>();
    [...qrels.get(qid)!.keys()].forEach((did, j) => {
      let s = ((((7 * i) % 23) * (1 + (i % 6))) + 11 * j) % 130;
      while (placed.has(slots[s])) s = (s + 1) % 130;
      slots[s] = did;
      placed.add(did);
    });
    if (i % 5 === 0 && !placed.has(slots[2])) slots[2] = qid;
    run.set(qid, slots.slice(0, 120).map((docId, s) => ({ docId, score: Math.floor((130 - s) / 2) })));
  });
  return run;
}

const SCIFACT_QRELS = new URL('../../../shared/data/beir/scifact/qrels/test.tsv', import.meta.url);

describe.skipIf(!existsSync(SCIFACT_QRELS))('real SciFact test qrels + synthetic run vs pytrec_eval', () => {
  it('matches per query and on the mean (300 queries)', () => {
    const qrels: Qrels = new Map();
    const lines = readFileSync(SCIFACT_QRELS, 'utf8').split('\n').slice(1); // header: query-id corpus-id score
    for (const line of lines) {
      if (line.trim() === '') continue;
      const [qid, did, rel] = line.split('\t');
      if (!qrels.has(qid)) qrels.set(qid, new Map());
      qrels.get(qid)!.set(did, Number(rel));
    }
    const res = evaluate(qrels, scifactRun(qrels), { metrics: fixture.metrics });
    expect(res.queries).toBe(fixture.scifact.queries);
    for (const [qid, values] of res.perQuery) expectClose(values, fixture.scifact.perQuery[qid], `scifact ${qid}`);
    expectClose(res.mean, fixture.scifact.mean, 'scifact mean');
  });
});

describe('paired permutation test vs scipy.stats.permutation_test', () => {
  for (const p of fixture.permutation) {
    it(`${p.name} (scipy p = ${p.pValue.toPrecision(4)})`, () => {
      const rounds = 10_000;
      const ours = pairedPermutationTest(p.a, p.b, { rounds, seed: 1 });
      expect(ours.exact).toBe(p.exact);
      if (p.exact) {
        expect(Math.abs(ours.pValue - p.pValue)).toBeLessThanOrEqual(EXACT_P_TOLERANCE);
      } else if (p.pValue < 1 / rounds) {
        // Nothing as extreme in either sample: ours bottoms out at 1 / (rounds + 1).
        expect(ours.pValue).toBe(1 / (rounds + 1));
      } else {
        expect(Math.abs(ours.pValue - p.pValue)).toBeLessThanOrEqual(mcTolerance(p.pValue, rounds, p.scipyResamples!));
      }
    });
  }
});
