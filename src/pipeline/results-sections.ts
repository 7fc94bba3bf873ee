// The tables under the results table, as cells that results.md (results.ts resultsMarkdown) and the page
// (src/ui/components/ExpandrResults.svelte) both show: the differences against Raw and FT, each seed's values,
// ExpandR after each earlier round (results-rounds.ts), the variants of round 1 tried on dev
// (results-variants.ts) and the trained retrievers on plain queries (results-plain.ts).
import type { STANDARD_METRICS } from '../eval/metrics.ts';
import { DEFAULT_BOOTSTRAP_ROUNDS, intervalText } from '../eval/bootstrap.ts';
import { marksText, type MarkedTest, type SignificanceMetric } from '../eval/significance-marks.ts';
import { meanSdText } from './seeds.ts';
import type { ExperimentResults, PlainRow, ResultRow, VariantRow } from './types.ts';

/** A metric as the tables print it: 4 decimals, '' when missing. */
export const fmt = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '' : x.toFixed(4));
/** A metric cell: mean ± sd for a row with several seeds. */
export const metricCell = (row: ResultRow, m: (typeof STANDARD_METRICS)[number]) => meanSdText(row[m], row.sd?.[m]);
/** The marks of one metric of a row (src/eval/significance-marks.ts); '' for rows stored without directions. */
export function marksOf(row: ResultRow, metric: SignificanceMetric): string {
  return marksText(row.significance ?? {}, metric);
}
const withMarks = (row: ResultRow, m: SignificanceMetric) => `${metricCell(row, m)}${marksOf(row, m)}`;
/** A paired difference with ▲ / ▼ where significant, its 95 % bootstrap interval and its p-value. */
export const diffCells = (t: MarkedTest | undefined): [string, string, string] =>
  t ? [`${t.meanDiff >= 0 ? '+' : ''}${t.meanDiff.toFixed(4)}${t.direction === 'improvement' ? ' ▲' : t.direction === 'loss' ? ' ▼' : ''}`, t.ci95 ? intervalText(t.ci95) : '', t.pValue.toPrecision(2)] : ['', '', ''];

/** Baselines of the differences table: the paper's two. */
const DIFF_BASELINES = ['Raw', 'FT'] as const;
export const DIFF_COLUMNS = ['setting', '− Raw', '95 % CI', 'p', '− FT', '95 % CI', 'p'] as const;
export const DIFF_NOTE = `nDCG@10 of each row minus Raw’s and FT’s, paired by query (for rows run at several seeds, on each query’s mean over them): the mean difference (▲ / ▼ significant), its 95 % percentile bootstrap interval over the queries (${DEFAULT_BOOTSTRAP_ROUNDS.toLocaleString('en')} resamples) and the two-sided paired permutation test’s p.`;

/** One row of cells per setting tested against Raw or FT on nDCG@10 (the table's rows, in its order); [] when none is. */
export function differenceRowCells(results: ExperimentResults): string[][] {
  return results.rows
    .filter((r) => DIFF_BASELINES.some((b) => r.significance?.[b]?.['ndcg@10']))
    .map((r) => [r.setting, ...DIFF_BASELINES.flatMap((b) => diffCells(r.significance?.[b]?.['ndcg@10']))]);
}

/**
 * Each seed's test nDCG@10 of the rows run at several seeds (the table's rows, then ExpandR after each earlier
 * round): the columns (one per seed) and one row of cells per setting; null when no row has several seeds.
 */
export function seedTable(results: ExperimentResults): { columns: string[]; rows: string[][] } | null {
  const rows = [...results.rows.map((r) => ({ name: r.setting, r })), ...(results.roundRows ?? []).map((r) => ({ name: `ExpandR after round ${r.round}`, r }))].filter(({ r }) => (r.seeds?.length ?? 0) > 1 && r.perSeed?.['ndcg@10']);
  if (!rows.length) return null;
  const seeds = [...new Set(rows.flatMap(({ r }) => r.seeds!))];
  const cell = (r: ResultRow, seed: number) => {
    const i = r.seeds!.indexOf(seed);
    return i < 0 ? '' : r.perSeed!['ndcg@10'][i].toFixed(4);
  };
  return { columns: ['setting', ...seeds.map((s) => `seed ${s}`), 'mean ± sd'], rows: rows.map(({ name, r }) => [name, ...seeds.map((s) => cell(r, s)), metricCell(r, 'ndcg@10')]) };
}
export const SEED_NOTE = 'Test nDCG@10 of each seed (its own training draws and its own sampled expansions); the table shows their mean ± sample sd.';

/** The per-seed section; '' without seeded rows. */
export function seedTableMarkdown(results: ExperimentResults): string {
  const t = seedTable(results);
  if (!t) return '';
  return ['## Each seed, nDCG@10', '', SEED_NOTE, '', ...mdTable(t.columns, t.rows, `|---|${t.columns.slice(1).map(() => '---:').join('|')}|`)].join('\n');
}

/** A difference with its interval, as the page's interval plot draws it (figure-svg.ts intervalsSvg). */
export interface DifferenceInterval {
  label: string;
  value: number;
  lo: number;
  hi: number;
  significant: boolean;
}

const intervalOf = (label: string, t: MarkedTest | undefined): DifferenceInterval[] =>
  t?.ci95 ? [{ label, value: t.meanDiff, lo: t.ci95.lo, hi: t.ci95.hi, significant: t.direction !== 'none' }] : [];

/** Each row's nDCG@10 minus FT's with its interval (the table's rows, then ExpandR after each earlier round); [] without FT. */
export function intervalsAgainstFt(results: ExperimentResults): DifferenceInterval[] {
  return [
    ...results.rows.flatMap((r) => intervalOf(r.setting, r.significance?.FT?.['ndcg@10'])),
    ...(results.roundRows ?? []).flatMap((r) => intervalOf(`ExpandR after round ${r.round}`, r.significance?.FT?.['ndcg@10'])),
  ];
}

/** Each variant's dev nDCG@10 minus ExpandR after round 1's, with its interval. */
export function variantIntervals(rows: readonly VariantRow[] | undefined): DifferenceInterval[] {
  return (rows ?? []).flatMap((r) => intervalOf(r.name, r.vsRound1?.['ndcg@10']));
}

export const ROUND_COLUMNS = ['after round', 'nDCG@10', 'Recall@100', 'last round − this, nDCG@10', '95 % CI', 'p', 'dev nDCG@10'] as const;
export const ROUNDS_NOTE =
  'The table’s ExpandR row is the last round’s. Each earlier round is evaluated the same way (mean ± sd over its seeds, marks against Raw and FT), and the last round is tested against it (paired permutation test; ▲ / ▼: the last round significantly better / worse; 95 % CI: percentile bootstrap interval of the mean per-query difference).';

/** One row of cells per earlier round, then the last round (the table's ExpandR row); [] without rounds. */
export function roundRowCells(results: ExperimentResults): string[][] {
  const rows = results.roundRows ?? [];
  if (!rows.length) return [];
  const out = rows.map((r) => [String(r.round), withMarks(r, 'ndcg@10'), withMarks(r, 'recall@100'), ...diffCells(r.lastVsThis?.['ndcg@10']), fmt(r.dev?.['ndcg@10'])]);
  const last = results.rows.find((r) => r.setting === 'ExpandR');
  if (last) out.push(['last (the table’s row)', withMarks(last, 'ndcg@10'), withMarks(last, 'recall@100'), '', '', '', fmt(last.dev?.['ndcg@10'])]);
  return out;
}

export const VARIANT_COLUMNS = ['variant', 'changes', 'why', 'DPO pairs', 'dev nDCG@10', '− round 1', '95 % CI', 'p'] as const;

/** What the variants' table says above it: how each ran and what it is tested against. */
export function variantsNote(rows: readonly VariantRow[]): string {
  const base = rows[0]?.baselineDev;
  return `Each variant runs round 1 again with its own LLM-side settings (the same round-1 retriever, seed ${rows[0]?.seed}) and is evaluated on the dev queries only; it is tested against ExpandR after round 1 with the config's settings${base === undefined ? '' : ` (dev nDCG@10 ${base.toFixed(4)})`} by a paired permutation test (▲ / ▼: the variant significantly better / worse; 95 % CI: percentile bootstrap interval of the mean per-query difference). Every variant tried is listed.`;
}

/** One row of cells per variant (changes as JSON). */
export function variantRowCells(rows: readonly VariantRow[] | undefined): string[][] {
  return (rows ?? []).map((r) => [r.name, JSON.stringify(r.changes), r.why, r.pairs === undefined ? '' : String(r.pairs), r.dev['ndcg@10'].toFixed(4), ...diffCells(r.vsRound1?.['ndcg@10'])]);
}

export const mdTable = (columns: readonly string[], rows: string[][], align: string) => [`| ${columns.join(' | ')} |`, align, ...rows.map((c) => `| ${c.join(' | ')} |`)];

/** The differences against Raw and FT with their intervals; '' when no row was tested. */
export function differencesMarkdown(results: ExperimentResults): string {
  const rows = differenceRowCells(results);
  if (!rows.length) return '';
  return ['## Differences against Raw and FT, nDCG@10', '', DIFF_NOTE, '', ...mdTable(DIFF_COLUMNS, rows, '|---|---:|---:|---:|---:|---:|---:|')].join('\n');
}

/** The section under the table when the run had several rounds; '' otherwise. */
export function roundRowsMarkdown(results: ExperimentResults): string {
  const rows = roundRowCells(results);
  if (!rows.length) return '';
  return ['## ExpandR after each round', '', ROUNDS_NOTE, '', ...mdTable(ROUND_COLUMNS, rows, '|---|---:|---:|---:|---:|---:|---:|')].join('\n');
}

/** The section under the table when the config tried variants; '' otherwise. */
export function variantRowsMarkdown(rows: readonly VariantRow[] | undefined): string {
  if (!rows?.length) return '';
  const cells = variantRowCells(rows).map((c) => c.map((x, i) => (i === 1 ? `\`${x}\`` : x)));
  return ['## Variants of round 1, judged on dev', '', variantsNote(rows), '', ...mdTable(VARIANT_COLUMNS, cells, '|---|---|---|---:|---:|---:|---:|---:|')].join('\n');
}

export const PLAIN_COLUMNS = ['retriever', 'read against', 'plain nDCG@10', 'expanded', 'plain − expanded', '95 % CI', 'p', 'plain − FT', '95 % CI', 'p', 'dev: plain', 'plain − expanded', 'p', 'plain − FT', 'p'] as const;
export const PLAIN_NOTE =
  'Each retriever trained on expanded queries (round-T: E_T, trained in round T), evaluated on the plain queries with the corpus embeddings of its expanded row (test, then dev). ' +
  'Plain − expanded is what the expansion does at search time for that retriever; plain − FT is what training on expanded queries did to the retriever itself. ' +
  'Paired by query (rows of several seeds: each query’s mean over them); ▲ / ▼: plain significantly higher / lower (paired permutation test); 95 % CI: percentile bootstrap interval of the mean per-query difference.';

/** One row of cells per retriever; [] when the run trained none on expanded queries. */
export function plainRowCells(rows: readonly PlainRow[] | undefined): string[][] {
  return (rows ?? []).map((r) => {
    const [dExp, , pExp] = diffCells(r.dev?.vsExpanded?.['ndcg@10']);
    const [dFt, , pFt] = diffCells(r.dev?.vsFT?.['ndcg@10']);
    const plain = meanSdText(r['ndcg@10'], r.sd?.['ndcg@10']);
    return [r.retriever, r.versus, plain, fmt(r.expanded), ...diffCells(r.vsExpanded['ndcg@10']), ...diffCells(r.vsFT?.['ndcg@10']), fmt(r.dev?.['ndcg@10']), dExp, pExp, dFt, pFt];
  });
}

/** The results.md section; '' without plain rows. */
export function plainRowsMarkdown(results: Pick<ExperimentResults, 'plainRows'>): string {
  const rows = plainRowCells(results.plainRows);
  if (!rows.length) return '';
  return ['## The trained retrievers on plain queries, nDCG@10', '', PLAIN_NOTE, '', ...mdTable(PLAIN_COLUMNS, rows, `|---|---|${PLAIN_COLUMNS.slice(2).map(() => '---:').join('|')}|`)].join('\n');
}
