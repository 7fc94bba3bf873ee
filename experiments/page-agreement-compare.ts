// Runner and page side by side: per setting, each metric of the runner's row and the page's, |Δ|, and the
// verdict against AGREEMENT_TOLERANCE; the same for the dev split where both have it. Beside the means, both
// TREC runs are scored per query with the same qrels (src/eval/metrics.ts), to say how many queries move
// and by how much (a reported figure: a near-tie swapped in the last float bits moves one query, not the mean).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluate, STANDARD_METRICS } from '../src/eval/metrics.ts';
import { readTrecRun } from '../src/eval/trec-run.ts';
import type { Qrels } from '../src/data/types.ts';
import type { Metrics, RunnerRow } from './page-agreement-runner.ts';

/**
 * Largest |runner − page| of a mean metric that counts as the same result. The page and the runner run the
 * same code on tfjs-wasm (Chromium vs Node), the page with its own thread count and, for imported
 * expansions, its own encode batches: the same sums in another order, ~1e-7 on unit vectors. 1e-4 is far
 * below any difference between settings (4 decimals are printed) and above what that order can move.
 */
export const AGREEMENT_TOLERANCE = 1e-4;

export interface MetricDiff {
  metric: string;
  runner: number;
  page: number;
  absDiff: number;
}

export interface SettingAgreement {
  setting: string;
  /** How the page got the row: its own Run all, or the runner's expansions imported. */
  pageHow: string;
  runnerFrom: string;
  test: MetricDiff[];
  dev?: MetricDiff[];
  /** Per-query nDCG@10 of both TREC runs: queries scored, how many differ by more than the tolerance, the largest |Δ|. */
  perQuery?: { queries: number; differing: number; maxAbsDiff: number; onlyInOne: number };
  maxAbsDiff: number;
  agrees: boolean;
}

export function metricDiffs(runner: Metrics, page: Record<string, unknown>): MetricDiff[] {
  return STANDARD_METRICS.map((metric) => {
    const p = page[metric];
    if (typeof p !== 'number') throw new Error(`The page's row has no number for ${metric}: ${JSON.stringify(page).slice(0, 200)}`);
    return { metric, runner: runner[metric], page: p, absDiff: Math.abs(runner[metric] - p) };
  });
}

/** A BEIR qrels TSV (header line, then query-id, corpus-id, score). */
export function readBeirQrels(dataDir: string, split: string): Qrels {
  const qrels: Qrels = new Map();
  const lines = readFileSync(join(dataDir, 'qrels', `${split}.tsv`), 'utf8').split(/\r?\n/).slice(1);
  for (const line of lines) {
    const [q, d, s] = line.split('\t');
    if (!q || !d) continue;
    if (!qrels.has(q)) qrels.set(q, new Map());
    qrels.get(q)!.set(d, Number(s));
  }
  return qrels;
}

/** Per-query nDCG@10 of two TREC runs (text) against the same qrels. */
export function perQueryDiff(qrels: Qrels, runnerTrec: string, pageTrec: string, tolerance = AGREEMENT_TOLERANCE): NonNullable<SettingAgreement['perQuery']> {
  const score = (text: string, name: string) => evaluate(qrels, readTrecRun(text, name), { metrics: ['ndcg@10'], source: name }).perQuery;
  const a = score(runnerTrec, 'runner run.trec');
  const b = score(pageTrec, 'page run.trec');
  let differing = 0;
  let maxAbsDiff = 0;
  let both = 0;
  for (const [q, m] of a) {
    const other = b.get(q);
    if (!other) continue;
    both += 1;
    const d = Math.abs(m['ndcg@10'] - other['ndcg@10']);
    if (d > tolerance) differing += 1;
    maxAbsDiff = Math.max(maxAbsDiff, d);
  }
  return { queries: both, differing, maxAbsDiff, onlyInOne: a.size + b.size - 2 * both };
}

/** One setting's verdict: every test metric (and dev metric, where both have dev) within `tolerance`. */
export function agreementOf(
  runner: RunnerRow,
  pageRow: Record<string, unknown>,
  pageHow: string,
  opts: { tolerance?: number; perQuery?: SettingAgreement['perQuery'] } = {},
): SettingAgreement {
  const tolerance = opts.tolerance ?? AGREEMENT_TOLERANCE;
  const test = metricDiffs(runner.metrics, pageRow);
  const pageDev = pageRow.dev as Record<string, unknown> | undefined;
  const dev = runner.dev && pageDev ? metricDiffs(runner.dev, pageDev) : undefined;
  const maxAbsDiff = Math.max(...[...test, ...(dev ?? [])].map((d) => d.absDiff));
  return { setting: runner.setting, pageHow, runnerFrom: runner.from, test, ...(dev && { dev }), ...(opts.perQuery && { perQuery: opts.perQuery }), maxAbsDiff, agrees: maxAbsDiff <= tolerance };
}
