// The results table (paper Tables 2–3): one row per setting with the four standard metrics, paired
// permutation tests of nDCG@10 and Recall@100 against Raw and FT read as marks (src/eval/significance-marks.ts:
// † / ‡ a significant improvement over Raw / FT, ▼Raw / ▼FT a significant loss), and exports as JSON, CSV
// and markdown. Each row also says how it was made (scoring function, encoding length, the engine and
// precision of its expansions, failed expansions) and which of the rows it is read against it cannot be
// compared with (comparability in src/eval/significance-marks.ts): flagged ≠NAME, with the reason in the legend.
import { STANDARD_METRICS } from '../eval/metrics.ts';
import {
  comparability,
  NOT_COMPARABLE_MARK,
  significanceLegend,
  SIGNIFICANCE_METRICS,
  SIGNIFICANCE_TEST,
  testAgainst,
  type Comparison,
  type MarkedTest,
  type RowScoring,
} from '../eval/significance-marks.ts';
import { provenanceText, type GenerationProvenance } from './generation-provenance.ts';
import { sourcesNote, type DevMetrics, type ExperimentSources } from './train-sources.ts';
import { SETTING_NAMES, type ExperimentResults, type ResultRow, type RoundRow, type SettingName, type VariantRow, type PlainRow } from './types.ts';
import { differencesMarkdown, fmt, marksOf, metricCell, plainRowsMarkdown, roundRowsMarkdown, seedTableMarkdown, variantRowsMarkdown } from './results-sections.ts';

export { marksOf };
import type { ExperimentConfig } from './config.ts';
import { defaultNotesMarkdown } from './config-notes.ts';
import { seedsLegend, type SeedStats } from './seeds.ts';

/** What the loop keeps per evaluated setting (JSON: stored in the run state). */
export interface SettingEval {
  setting: SettingName;
  /** Means over the split's judged queries, keys as STANDARD_METRICS. */
  metrics: Record<string, number>;
  /** qid → metric → value. */
  perQuery: Record<string, Record<string, number>>;
  /** Several seeds (seeds.ts combineSeeds): metrics and perQuery are then means over them. */
  seedStats?: SeedStats;
  /** How it was scored and encoded, and for expanded rows what generated the expansions (ResultRow's fields of the same names). */
  scoring?: RowScoring;
  maxLength?: number;
  generation?: GenerationProvenance;
  failedExpansions?: number;
  encoderScoring?: ResultRow['encoderScoring'];
  encoding?: ResultRow['encoding'];
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

/** An evaluation's four table metrics and its query count: what a row's `dev` (and a variant's, a plain row's) holds. */
export function devMetricsOf(e: SettingEval): DevMetrics {
  return { 'ndcg@10': e.metrics['ndcg@10'], 'recall@100': e.metrics['recall@100'], 'mrr@10': e.metrics['mrr@10'], 'map@100': e.metrics['map@100'], queries: Object.keys(e.perQuery).length };
}

/** Rows in SETTING_NAMES order, each with p-values against Raw and FT when those rows exist. */
export function buildResults(dataset: string, split: string, evals: readonly SettingEval[], opts: ResultsOptions = {}): ExperimentResults {
  const by = new Map(evals.map((e) => [e.setting, e]));
  const rows: ResultRow[] = [];
  for (const name of SETTING_NAMES) {
    const e = by.get(name);
    if (e) rows.push(buildRow(e, by, opts));
  }
  for (const row of rows) {
    const others = rows.filter((o) => o !== row && ((BASELINES as readonly string[]).includes(o.setting) || (row.generation && o.generation)));
    if (row.setting !== 'BM25' && others.length) row.comparisons = Object.fromEntries(others.map((o) => [o.setting, comparability(row, o)]));
  }
  return { dataset, split, rows };
}

/**
 * One row of the table: the setting's metrics and how it was made, with paired tests against each of the
 * baselines in `by` (the row's own setting excepted). No comparisons (they need the whole table).
 */
export function buildRow(e: SettingEval, by: ReadonlyMap<string, SettingEval>, opts: ResultsOptions = {}): ResultRow {
  const asMap = (x: SettingEval) => new Map(Object.entries(x.perQuery));
  const row: ResultRow = {
    setting: e.setting,
    'ndcg@10': e.metrics['ndcg@10'],
    'recall@100': e.metrics['recall@100'],
    'mrr@10': e.metrics['mrr@10'],
    'map@100': e.metrics['map@100'],
    perQuery: Object.fromEntries(Object.entries(e.perQuery).map(([q, m]) => [q, m['ndcg@10']])),
    ...(e.seedStats ? { seeds: e.seedStats.seeds, mean: e.seedStats.mean, sd: e.seedStats.sd, perSeed: e.seedStats.perSeed } : {}),
    ...making(e),
  };
  for (const base of BASELINES) {
    const b = by.get(base);
    if (!b || base === e.setting) continue;
    const tests = testAgainst(asMap(e), asMap(b), base, TESTED_METRICS, { rounds: opts.rounds ?? SIGNIFICANCE_TEST.rounds, seed: opts.seed ?? SIGNIFICANCE_TEST.seed }) as Record<
      (typeof TESTED_METRICS)[number],
      MarkedTest
    >;
    // pValues stays as it was (older readers of results.json); significance adds direction and mark.
    row.pValues = { ...row.pValues, [base]: { 'ndcg@10': tests['ndcg@10'].pValue, 'recall@100': tests['recall@100'].pValue } };
    row.significance = { ...row.significance, [base]: tests };
  }
  if (row.significance) row.marks = { 'ndcg@10': marksOf(row, 'ndcg@10'), 'recall@100': marksOf(row, 'recall@100') };
  return row;
}

/** The fields of a SettingEval that say how it was made, without undefined ones (results.json stays lean). */
function making(e: SettingEval): Partial<ResultRow> {
  const out: Partial<ResultRow> = {};
  if (e.scoring) out.scoring = e.scoring;
  if (e.maxLength !== undefined) out.maxLength = e.maxLength;
  if (e.generation) out.generation = e.generation;
  if (e.failedExpansions) out.failedExpansions = e.failedExpansions;
  if (e.encoderScoring) out.encoderScoring = e.encoderScoring;
  if (e.encoding) out.encoding = e.encoding;
  return out;
}

/** The rows `row` cannot be compared with, in table order. */
export function notComparableWith(row: ResultRow): string[] {
  return Object.entries(row.comparisons ?? {}).filter(([, c]) => !c.comparable).map(([name]) => name);
}

/** '≠Raw≠FT' for a row not comparable with Raw and FT; '' when it is comparable with every row it is read against. */
export function comparabilityMarks(row: ResultRow): string {
  return notComparableWith(row).map((n) => NOT_COMPARABLE_MARK + n).join('');
}

/** One line per pair of rows that is not comparable ('FT vs Raw: scored by cosine vs dot'), each pair once. */
export function comparabilityNotes(results: ExperimentResults): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const row of results.rows) {
    for (const [other, c] of Object.entries(row.comparisons ?? {}) as [string, Comparison][]) {
      const key = [row.setting, other].sort().join('\u0000');
      if (c.comparable || seen.has(key)) continue;
      seen.add(key);
      out.push(`${row.setting} vs ${other}: ${(c.reasons ?? []).join('; ')}`);
    }
  }
  return out;
}

/** The legend line of the ≠ marks, or '' when every compared pair is comparable. */
export function comparabilityLegend(results: ExperimentResults): string {
  const notes = comparabilityNotes(results);
  if (!notes.length) return '';
  return `${NOT_COMPARABLE_MARK}NAME: not comparable with row NAME, so a difference (and its marks) measures this too: ${notes.join('; ')}.`;
}

/** How a row was made, in a few words: 'cosine · 512 tokens · tfjs Q4_1 · 3 failed'. */
export function makingText(row: ResultRow): string {
  const parts: string[] = [];
  if (row.scoring) parts.push(row.scoring);
  if (row.maxLength !== undefined) parts.push(`${row.maxLength} tokens`);
  if (row.encoding) parts.push(`encoder ${row.encoding.engine} ${row.encoding.precision}`);
  if (row.generation) parts.push(provenanceText(row.generation));
  if (row.failedExpansions) parts.push(`${row.failedExpansions} expansion${row.failedExpansions === 1 ? '' : 's'} failed`);
  return parts.join(' · ');
}

/** The note under a table whose Raw row was also scored by the encoder's own similarity ('' otherwise). */
export function encoderScoringNote(results: ExperimentResults): string {
  const raw = results.rows.find((r) => r.setting === 'Raw');
  const own = raw?.encoderScoring;
  if (!raw || !own) return '';
  return (
    `Raw is scored by ${raw.scoring}, as every dense row of this table (the Eq. 8 normalisation's); ` +
    `by the encoder's own ${own.scoring} it scores nDCG@10 ${fmt(own['ndcg@10'])}, Recall@100 ${fmt(own['recall@100'])} (encoderScoring in results.json).`
  );
}

/** results.json as DESIGN.md §5 fixes it: {"dataset", "rows": [{"setting", "ndcg@10", …}]}; per-query values go elsewhere. */
export function resultsJson(results: ExperimentResults): { dataset: string; rows: Omit<ResultRow, 'perQuery'>[]; roundRows?: Omit<RoundRow, 'perQuery'>[]; variants?: VariantRow[]; plainRows?: PlainRow[]; sources?: ExperimentSources } {
  return {
    dataset: results.dataset,
    rows: results.rows.map(({ perQuery: _pq, ...rest }) => rest),
    ...(results.roundRows?.length && { roundRows: results.roundRows.map(({ perQuery: _pq, ...rest }) => rest) }),
    ...(results.variants?.length && { variants: results.variants }),
    ...(results.plainRows?.length && { plainRows: results.plainRows }),
    ...(results.sources && { sources: results.sources }),
  };
}

/** Per-query nDCG@10 by setting: {setting: {qid: value}}. */
export function perQueryJson(results: ExperimentResults): Record<string, Record<string, number>> {
  return Object.fromEntries(results.rows.map((row) => [row.setting, row.perQuery ?? {}]));
}


const csvCell = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

export function resultsCsv(results: ExperimentResults): string {
  const pairs = BASELINES.flatMap((b) => TESTED_METRICS.map((m) => [b, m] as const));
  // The mean-difference columns come last, so that readers of the older columns by position still work.
  const withDev = results.rows.some((r) => r.dev);
  const making = ['scoring', 'max_length', 'gen_engine', 'gen_precision', 'gen_model', 'failed_expansions', 'not_comparable'];
  // The encoder's engine and precision came later still: last, after the dev column.
  const withEncoding = results.rows.some((r) => r.encoding);
  const head = ['setting', ...STANDARD_METRICS, ...pairs.map(([b, m]) => `p_${b}_${m}`), 'marks_ndcg@10', 'marks_recall@100', ...pairs.map(([b, m]) => `diff_${b}_${m}`), ...making, ...(withDev ? ['dev_ndcg@10'] : []), ...(withEncoding ? ['enc_engine', 'enc_precision'] : [])];
  const lines = results.rows.map((row) => {
    const ps = pairs.map(([b, m]) => (row.pValues?.[b] ? String(row.pValues[b]![m]) : ''));
    const diffs = pairs.map(([b, m]) => (row.significance?.[b] ? String(row.significance[b]![m].meanDiff) : ''));
    const g = row.generation;
    const not = Object.entries(row.comparisons ?? {}).filter(([, c]) => !c.comparable).map(([n, c]) => `${n}: ${(c.reasons ?? []).join('; ')}`).join(' | ');
    const made = [row.scoring ?? '', row.maxLength === undefined ? '' : String(row.maxLength), g?.engine ?? '', g?.precision ?? '', g?.model ?? '', row.failedExpansions ? String(row.failedExpansions) : '', not];
    const dev = withDev ? [row.dev ? String(row.dev['ndcg@10']) : ''] : [];
    const enc = withEncoding ? [row.encoding?.engine ?? '', row.encoding?.precision ?? ''] : [];
    return [row.setting, ...STANDARD_METRICS.map((m) => String(row[m])), ...ps, marksOf(row, 'ndcg@10'), marksOf(row, 'recall@100'), ...diffs, ...made, ...dev, ...enc].map(csvCell).join(',');
  });
  return [head.join(','), ...lines].join('\n') + '\n';
}

/**
 * results.md. `figures`: the interval plots' files written beside it (results-figures.ts), shown under their
 * tables; the page's download has none.
 */
export function resultsMarkdown(results: ExperimentResults, opts: { queries?: number; note?: string; config?: ExperimentConfig; figures?: { vsFt?: string; variants?: string } } = {}): string {
  const out = [
    `# ${results.dataset} · ${results.split}${opts.queries ? ` · ${opts.queries} queries` : ''}`,
    '',
    '| setting | nDCG@10 | Recall@100 | MRR@10 | MAP@100 | p nDCG@10 vs Raw / FT | made by |',
    '|---|---:|---:|---:|---:|---|---|',
  ];
  // The dev column (train-sources.ts) last: what choices read, apart from the reported test numbers.
  const dev = results.rows.some((r) => r.dev);
  if (dev) {
    out[2] += ' dev nDCG@10 (choose on this) |';
    out[3] += '---:|';
  }
  for (const row of results.rows) {
    const p = BASELINES.map((b) => (row.pValues?.[b] ? row.pValues[b]!['ndcg@10'].toPrecision(2) : '—')).join(' / ');
    const name = `${row.setting}${comparabilityMarks(row) ? ` ${comparabilityMarks(row)}` : ''}`;
    out.push(
      `| ${name} | ${metricCell(row, 'ndcg@10')}${marksOf(row, 'ndcg@10')} | ${metricCell(row, 'recall@100')}${marksOf(row, 'recall@100')} | ${metricCell(row, 'mrr@10')} | ${metricCell(row, 'map@100')} | ${p} | ${makingText(row)} |${dev ? ` ${fmt(row.dev?.['ndcg@10'])} |` : ''}`,
    );
  }
  out.push('', RESULTS_LEGEND);
  const differences = differencesMarkdown(results);
  if (differences) out.push('', differences);
  if (differences && opts.figures?.vsFt) out.push('', `![nDCG@10 minus FT's per row, with 95 % bootstrap intervals](${opts.figures.vsFt})`);
  const rounds = roundRowsMarkdown(results);
  if (rounds) out.push('', rounds);
  const plain = plainRowsMarkdown(results);
  if (plain) out.push('', plain);
  const perSeed = seedTableMarkdown(results);
  if (perSeed) out.push('', perSeed);
  const variants = variantRowsMarkdown(results.variants);
  if (variants) out.push('', variants);
  if (variants && opts.figures?.variants) out.push('', `![Dev nDCG@10 of each variant minus ExpandR after round 1's, with 95 % bootstrap intervals](${opts.figures.variants})`);
  const seeded = seedsLegend(results.rows);
  if (seeded) out.push('', seeded);
  for (const line of [comparabilityLegend(results), encoderScoringNote(results)]) if (line) out.push('', line);
  if (results.sources) out.push('', sourcesNote(results.sources));
  if (opts.note) out.push('', opts.note);
  // Under the results: every default of this run that differs from the paper or the reference code, and why.
  if (opts.config) out.push('', defaultNotesMarkdown(opts.config));
  return out.join('\n') + '\n';
}
