// Two settings of two runs (or of one) side by side: paired on the query ids both evaluated, the paired
// permutation test of B against A, the per-query differences sorted by how far each query moved, and
// the rows of a case view for the queries that moved most. The runner (`runs compare`) and the page
// (src/app/run-list.ts) call this one implementation; they only differ in where the values come from.
import { MetricError } from '../errors.ts';
import { pairedBootstrapInterval, type DiffInterval } from './bootstrap.ts';
import { pairByQuery, pairedPermutationTest, type PermutationResult } from './significance.ts';
import { directionOf, SIGNIFICANCE_TEST, type Direction } from './significance-marks.ts';

/** One side of a comparison: a setting of a run, with what it stored per query. */
export interface CompareSide {
  /** How the side is named in output, e.g. 'scifact-minilm:Raw'. */
  label: string;
  /** qid → metric → value. */
  perQuery: ReadonlyMap<string, Readonly<Record<string, number>>>;
  /** qid → expansion, for settings evaluated with one. */
  expansions?: ReadonlyMap<string, string>;
}

export interface QueryDiff {
  qid: string;
  a: number;
  b: number;
  /** b − a. */
  diff: number;
}

export interface RunComparison {
  metric: string;
  a: string;
  b: string;
  /** Queries both sides evaluated (the test's pairs). */
  shared: number;
  /** Queries only one side evaluated (left out). */
  onlyA: number;
  onlyB: number;
  /** Means over the shared queries. */
  meanA: number;
  meanB: number;
  /** B against A: meanDiff = meanB − meanA. */
  test: PermutationResult;
  /** 95 % percentile bootstrap interval of meanB − meanA over the shared queries (src/eval/bootstrap.ts). */
  ci95: DiffInterval;
  /** 'improvement' / 'loss' of B over A at SIGNIFICANCE_ALPHA, else 'none'. */
  direction: Direction;
  /** Every shared query, by |b − a| descending (ties: larger b first, then qid). */
  diffs: QueryDiff[];
  /** Shared queries where B is higher / lower / equal. */
  moved: { up: number; down: number; same: number };
}

/** Pairs the sides on `metric` and tests B against A (the seed and rounds of the results tables). */
export function compareSides(a: CompareSide, b: CompareSide, metric: string, opts: { rounds?: number; seed?: number } = {}): RunComparison {
  const known = (s: CompareSide) => {
    for (const v of s.perQuery.values()) return metric in v;
    return true;
  };
  for (const s of [a, b]) {
    if (!known(s)) {
      const have = Object.keys(s.perQuery.values().next().value ?? {}).join(', ');
      throw new MetricError(`${s.label} has no per-query "${metric}" values (it has: ${have || 'none'}): compare on one of those with --metric.`);
    }
  }
  const p = pairByQuery(a.perQuery, b.perQuery, metric);
  const aIds = new Set(a.perQuery.keys());
  const onlyA = p.unpaired.filter((q) => aIds.has(q)).length;
  const seed = opts.seed ?? SIGNIFICANCE_TEST.seed;
  const test = pairedPermutationTest(p.b, p.a, { rounds: opts.rounds ?? SIGNIFICANCE_TEST.rounds, seed });
  const ci95 = pairedBootstrapInterval(p.b, p.a, { seed });
  const diffs = p.queryIds.map((qid, i) => ({ qid, a: p.a[i], b: p.b[i], diff: p.b[i] - p.a[i] }));
  diffs.sort((x, y) => Math.abs(y.diff) - Math.abs(x.diff) || y.diff - x.diff || (x.qid < y.qid ? -1 : x.qid > y.qid ? 1 : 0));
  const mean = (xs: number[]) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : 0);
  return {
    metric,
    a: a.label,
    b: b.label,
    shared: p.queryIds.length,
    onlyA,
    onlyB: p.unpaired.length - onlyA,
    meanA: mean(p.a),
    meanB: mean(p.b),
    test,
    ci95,
    direction: directionOf(test),
    diffs,
    moved: { up: diffs.filter((d) => d.diff > 0).length, down: diffs.filter((d) => d.diff < 0).length, same: diffs.filter((d) => d.diff === 0).length },
  };
}

/** What a case row shows of one query beyond its values: text and gold passage, where known. */
export interface CaseLookup {
  query?(qid: string): string | undefined;
  gold?(qid: string): { docId: string; text: string } | undefined;
}

export interface CaseRow extends QueryDiff {
  query?: string;
  gold?: { docId: string; text: string };
  expansionA?: string;
  expansionB?: string;
}

/** The `top` queries that moved most (skipping those that did not move), with text, gold passage and both expansions. */
export function caseRows(c: RunComparison, a: CompareSide, b: CompareSide, top: number, look: CaseLookup = {}): CaseRow[] {
  return c.diffs
    .filter((d) => d.diff !== 0)
    .slice(0, top)
    .map((d) => ({
      ...d,
      query: look.query?.(d.qid),
      gold: look.gold?.(d.qid),
      expansionA: a.expansions?.get(d.qid),
      expansionB: b.expansions?.get(d.qid),
    }));
}
