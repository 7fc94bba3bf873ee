// The results table (paper Tables 2–3): one row per setting with the four standard metrics, paired
// permutation tests of nDCG@10 and Recall@100 against Raw and FT read as marks (src/eval/significance-marks.ts:
// † / ‡ a significant improvement over Raw / FT, ▼Raw / ▼FT a significant loss), and exports as JSON, CSV
// and markdown.
import { STANDARD_METRICS } from '../eval/metrics.ts';
import { marksText, significanceLegend, SIGNIFICANCE_METRICS, SIGNIFICANCE_TEST, testAgainst, type MarkedTest } from '../eval/significance-marks.ts';
import { SETTING_NAMES, type ExperimentResults, type ResultRow, type SettingName } from './types.ts';
import type { ExperimentConfig } from './config.ts';
import { defaultNotesMarkdown } from './config-notes.ts';
import { meanSdText, seedsLegend, type SeedStats } from './seeds.ts';

/** What the loop keeps per evaluated setting (JSON: stored in the run state). */
export interface SettingEval {
  setting: SettingName;
  /** Means over the split's judged queries, keys as STANDARD_METRICS. */
  metrics: Record<string, number>;
  /** qid → metric → value. */
  perQuery: Record<string, Record<string, number>>;
  /** Several seeds (seeds.ts combineSeeds): metrics and perQuery are then means over them. */
  seedStats?: SeedStats;
}

export const TESTED_METRICS = SIGNIFICANCE_METRICS;
/** The rows every other row is tested against (the paper's marks). */
export const BASELINES = ['Raw', 'FT'] as const;
/** The legend under every results table (markdown, page). */
export const RESULTS_LEGEND = significanceLegend(BASELINES);

export interface ResultsOptions {
  rounds?: number;
  seed?: number;
}

/** Rows in SETTING_NAMES order, each with p-values against Raw and FT when those rows exist. */
export function buildResults(dataset: string, split: string, evals: readonly SettingEval[], opts: ResultsOptions = {}): ExperimentResults {
  const by = new Map(evals.map((e) => [e.setting, e]));
  const asMap = (e: SettingEval) => new Map(Object.entries(e.perQuery));
  const rows: ResultRow[] = [];
  for (const name of SETTING_NAMES) {
    const e = by.get(name);
    if (!e) continue;
    const row: ResultRow = {
      setting: name,
      'ndcg@10': e.metrics['ndcg@10'],
      'recall@100': e.metrics['recall@100'],
      'mrr@10': e.metrics['mrr@10'],
      'map@100': e.metrics['map@100'],
      perQuery: Object.fromEntries(Object.entries(e.perQuery).map(([q, m]) => [q, m['ndcg@10']])),
      ...(e.seedStats ? { seeds: e.seedStats.seeds, mean: e.seedStats.mean, sd: e.seedStats.sd, perSeed: e.seedStats.perSeed } : {}),
    };
    for (const base of BASELINES) {
      const b = by.get(base);
      if (!b || base === name) continue;
      const tests = testAgainst(asMap(e), asMap(b), base, TESTED_METRICS, { rounds: opts.rounds ?? SIGNIFICANCE_TEST.rounds, seed: opts.seed ?? SIGNIFICANCE_TEST.seed }) as Record<
        (typeof TESTED_METRICS)[number],
        MarkedTest
      >;
      // pValues stays as it was (older readers of results.json); significance adds direction and mark.
      row.pValues = { ...row.pValues, [base]: { 'ndcg@10': tests['ndcg@10'].pValue, 'recall@100': tests['recall@100'].pValue } };
      row.significance = { ...row.significance, [base]: tests };
    }
    if (row.significance) row.marks = { 'ndcg@10': marksOf(row, 'ndcg@10'), 'recall@100': marksOf(row, 'recall@100') };
    rows.push(row);
  }
  return { dataset, split, rows };
}

/** results.json as DESIGN.md §5 fixes it: {"dataset", "rows": [{"setting", "ndcg@10", …}]}; per-query values go elsewhere. */
export function resultsJson(results: ExperimentResults): { dataset: string; rows: Omit<ResultRow, 'perQuery'>[] } {
  return { dataset: results.dataset, rows: results.rows.map(({ perQuery: _pq, ...rest }) => rest) };
}

/** Per-query nDCG@10 by setting: {setting: {qid: value}}. */
export function perQueryJson(results: ExperimentResults): Record<string, Record<string, number>> {
  return Object.fromEntries(results.rows.map((row) => [row.setting, row.perQuery ?? {}]));
}

/** The marks of one metric of a row (src/eval/significance-marks.ts); '' for rows stored without directions. */
export function marksOf(row: ResultRow, metric: (typeof TESTED_METRICS)[number]): string {
  return marksText(row.significance ?? {}, metric);
}

const fmt = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '' : x.toFixed(4));
/** A metric cell of the markdown table: mean ± sd for a row with several seeds. */
const cell = (row: ResultRow, m: (typeof STANDARD_METRICS)[number]) => meanSdText(row[m], row.sd?.[m]);
const csvCell = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

export function resultsCsv(results: ExperimentResults): string {
  const pairs = BASELINES.flatMap((b) => TESTED_METRICS.map((m) => [b, m] as const));
  // The mean-difference columns come last, so that readers of the older columns by position still work.
  const head = ['setting', ...STANDARD_METRICS, ...pairs.map(([b, m]) => `p_${b}_${m}`), 'marks_ndcg@10', 'marks_recall@100', ...pairs.map(([b, m]) => `diff_${b}_${m}`)];
  const lines = results.rows.map((row) => {
    const ps = pairs.map(([b, m]) => (row.pValues?.[b] ? String(row.pValues[b]![m]) : ''));
    const diffs = pairs.map(([b, m]) => (row.significance?.[b] ? String(row.significance[b]![m].meanDiff) : ''));
    return [row.setting, ...STANDARD_METRICS.map((m) => String(row[m])), ...ps, marksOf(row, 'ndcg@10'), marksOf(row, 'recall@100'), ...diffs].map(csvCell).join(',');
  });
  return [head.join(','), ...lines].join('\n') + '\n';
}

export function resultsMarkdown(results: ExperimentResults, opts: { queries?: number; note?: string; config?: ExperimentConfig } = {}): string {
  const out = [
    `# ${results.dataset} · ${results.split}${opts.queries ? ` · ${opts.queries} queries` : ''}`,
    '',
    '| setting | nDCG@10 | Recall@100 | MRR@10 | MAP@100 | p nDCG@10 vs Raw / FT |',
    '|---|---:|---:|---:|---:|---|',
  ];
  for (const row of results.rows) {
    const p = BASELINES.map((b) => (row.pValues?.[b] ? row.pValues[b]!['ndcg@10'].toPrecision(2) : '—')).join(' / ');
    out.push(
      `| ${row.setting} | ${cell(row, 'ndcg@10')}${marksOf(row, 'ndcg@10')} | ${cell(row, 'recall@100')}${marksOf(row, 'recall@100')} | ${cell(row, 'mrr@10')} | ${cell(row, 'map@100')} | ${p} |`,
    );
  }
  out.push('', RESULTS_LEGEND);
  const seeded = seedsLegend(results.rows);
  if (seeded) out.push('', seeded);
  if (opts.note) out.push('', opts.note);
  // Under the results: every default of this run that differs from the paper or the reference code, and why.
  if (opts.config) out.push('', defaultNotesMarkdown(opts.config));
  return out.join('\n') + '\n';
}
