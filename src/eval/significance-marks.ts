// What a significance mark means, defined once for the runner's and the page's tables. The paper marks a
// significant improvement over Raw with † and over FT with ‡ (p < 0.05, paired permutation test). The
// test (src/eval/significance.ts) is two-sided, so p < 0.05 alone also holds for a significant loss:
// the direction comes from the sign of the paired mean difference, and a loss gets its own mark that
// names the baseline (▼Raw), so that a row worse than Raw never carries †.
import { compareByQuery, DEFAULT_EXACT_MAX_N, DEFAULT_PERMUTATION_ROUNDS, type PermutationOptions } from './significance.ts';
import type { DiffInterval } from './bootstrap.ts';

/** Significance level of every mark. */
export const SIGNIFICANCE_ALPHA = 0.05;
/** The metrics the marks test (the paper's Tables 2–3). */
export const SIGNIFICANCE_METRICS = ['ndcg@10', 'recall@100'] as const;
export type SignificanceMetric = (typeof SIGNIFICANCE_METRICS)[number];
/** The test's settings everywhere (runner, page, `eval --compare` unless --rounds says otherwise). */
export const SIGNIFICANCE_TEST = { rounds: DEFAULT_PERMUTATION_ROUNDS, seed: 42 } as const;

/**
 * What a row is compared with: the paper's Raw and FT rows, BM25 (the encoder panel; not in the paper's
 * marks, so it gets its own), and `run`, the baseline run file of `eval --compare`.
 */
export type Baseline = 'Raw' | 'FT' | 'BM25' | 'run';
/** Marks are written in this order. */
export const BASELINE_ORDER: readonly Baseline[] = ['Raw', 'FT', 'BM25', 'run'];
/** Significantly better than the baseline (higher mean). † and ‡ as in the paper. */
export const IMPROVEMENT_MARKS: Readonly<Record<Baseline, string>> = { Raw: '†', FT: '‡', BM25: '§', run: '▲' };
/** Significantly worse than the baseline (lower mean): a down triangle and the baseline's name. */
export const LOSS_MARKS: Readonly<Record<Baseline, string>> = { Raw: '▼Raw', FT: '▼FT', BM25: '▼BM25', run: '▼' };
const NAMES: Readonly<Record<Baseline, string>> = { Raw: 'Raw', FT: 'FT', BM25: 'BM25', run: 'the baseline run' };

/** One paired test of a row against a baseline on one metric: what the marks are read from. */
export interface PairedOutcome {
  /** Two-sided p-value in (0, 1]. */
  pValue: number;
  /** mean(row) − mean(baseline) over the paired queries. */
  meanDiff: number;
  /** Queries paired. */
  n: number;
  /** 95 % percentile bootstrap interval of meanDiff over the paired queries (src/eval/bootstrap.ts); absent in results stored before it. */
  ci95?: DiffInterval;
}

export type Direction = 'improvement' | 'loss' | 'none';

/** A paired outcome with its reading: the direction and the mark ('' when not significant). */
export interface MarkedTest extends PairedOutcome {
  direction: Direction;
  mark: string;
}

/** 'improvement' / 'loss' when p < alpha and the row's mean is higher / lower; else 'none'. */
export function directionOf(outcome: PairedOutcome): Direction {
  if (!(outcome.pValue < SIGNIFICANCE_ALPHA) || outcome.meanDiff === 0) return 'none';
  return outcome.meanDiff > 0 ? 'improvement' : 'loss';
}

/** The mark of one test against `baseline`: its improvement mark, its loss mark, or ''. */
export function markOf(baseline: Baseline, outcome: PairedOutcome): string {
  const d = directionOf(outcome);
  return d === 'improvement' ? IMPROVEMENT_MARKS[baseline] : d === 'loss' ? LOSS_MARKS[baseline] : '';
}

export function markedTest(baseline: Baseline, outcome: PairedOutcome): MarkedTest {
  return { pValue: outcome.pValue, meanDiff: outcome.meanDiff, n: outcome.n, ...(outcome.ci95 && { ci95: outcome.ci95 }), direction: directionOf(outcome), mark: markOf(baseline, outcome) };
}

/** Tests of one row per baseline, then per metric (how results rows and the encoder panel keep them). */
export type TestsByBaseline<T extends PairedOutcome = PairedOutcome> = Partial<Record<Baseline, Readonly<Record<string, T>> | undefined>>;

export interface CellMark<T extends PairedOutcome> {
  baseline: Baseline;
  mark: string;
  direction: Direction;
  test: T;
}

/** The marks of one table cell (a row's `metric`), each with the test it reads: improvements first, then losses, each in BASELINE_ORDER. */
export function cellMarks<T extends PairedOutcome>(tests: TestsByBaseline<T>, metric: string): CellMark<T>[] {
  const all = BASELINE_ORDER.flatMap((baseline) => {
    const test = tests[baseline]?.[metric];
    if (!test) return [];
    const direction = directionOf(test);
    return direction === 'none' ? [] : [{ baseline, mark: markOf(baseline, test), direction, test }];
  });
  return [...all.filter((x) => x.direction === 'improvement'), ...all.filter((x) => x.direction === 'loss')];
}

/** The marks of one table cell as text: '†‡', '▼Raw', '‡▼Raw', ''. */
export function marksText(tests: TestsByBaseline, metric: string): string {
  return cellMarks(tests, metric).map((x) => x.mark).join('');
}

/** The legend of a table whose rows are compared with `baselines`. */
export function significanceLegend(baselines: readonly Baseline[], rounds: number = SIGNIFICANCE_TEST.rounds): string {
  const bs = BASELINE_ORDER.filter((b) => baselines.includes(b));
  const list = (f: (b: Baseline) => string) => bs.map(f).join(' / ');
  return (
    `${list((b) => IMPROVEMENT_MARKS[b])}: significantly better than ${list((b) => NAMES[b])}; ` +
    `${list((b) => LOSS_MARKS[b])}: significantly worse ` +
    `(p < ${SIGNIFICANCE_ALPHA}, two-sided paired permutation test over queries: exact up to ${DEFAULT_EXACT_MAX_N} queries, else ${rounds.toLocaleString('en')} rounds; better or worse by the mean difference).`
  );
}

type PerQuery = ReadonlyMap<string, Readonly<Record<string, number>>>;

/** Paired tests of `a` against `b` (per-query metrics, paired by query id) on each metric, read as marks against `baseline`. */
export function testAgainst(
  a: PerQuery,
  b: PerQuery,
  baseline: Baseline,
  metrics: readonly string[] = SIGNIFICANCE_METRICS,
  options: PermutationOptions = SIGNIFICANCE_TEST,
): Record<string, MarkedTest> {
  return Object.fromEntries(metrics.map((m) => [m, markedTest(baseline, compareByQuery(a, b, m, options))]));
}

// Comparability (issue 14.2-3). A paired test measures everything that differs between two rows: when Raw
// is scored by dot product and FT by cosine, FT − Raw is partly the change of scoring; when the expanded rows
// before and after LLM training come from different engines or weight precisions, their difference is
// partly that. Such a pair is still tested, but flagged: a mark beside the row and a legend line with the reason.

/** How a row's scores were computed: dense rows by dot product or cosine, BM25 by BM25. */
export type RowScoring = 'dot' | 'cosine' | 'bm25';

/** What made a row, as far as comparability goes (results rows and the page's tables carry these fields). */
export interface RowMaking {
  scoring?: RowScoring;
  /** Encoding length in tokens (dense rows). */
  maxLength?: number;
  /** Expanded rows: the engine and weights' precision that generated the expansions. */
  generation?: { engine: string; precision: string; sampler?: string };
  /** Dense rows: the engine and precision that encoded queries and documents (absent in rows stored before it was recorded). */
  encoding?: { engine: string; precision: string };
}

export interface Comparison {
  comparable: boolean;
  /** Why not, one phrase per difference, e.g. 'scored by dot vs cosine'. */
  reasons?: string[];
}

/** The mark of a row not comparable with `other`: '≠Raw', '≠FT', '≠ExpandR'. */
export const NOT_COMPARABLE_MARK = '≠';

/**
 * Whether rows `a` and `b` can be compared as the table compares them. BM25 against a dense row is a change
 * of retriever by design and never flagged; dense rows must share scoring, encoding length and the encoder's engine and
 * precision (a row stored before scoring was recorded is flagged as such), and two expanded rows must share the
 * generation's engine and precision.
 */
export function comparability(a: RowMaking, b: RowMaking): Comparison {
  if (a.scoring === 'bm25' || b.scoring === 'bm25') return { comparable: true };
  const reasons: string[] = [];
  if (!a.scoring || !b.scoring) reasons.push('scoring not recorded (a row from an older run: run it again)');
  else if (a.scoring !== b.scoring) reasons.push(`scored by ${a.scoring} vs ${b.scoring}`);
  if (a.maxLength !== undefined && b.maxLength !== undefined && a.maxLength !== b.maxLength) reasons.push(`encoded at ${a.maxLength} vs ${b.maxLength} tokens`);
  const ga = a.generation;
  const gb = b.generation;
  const made = (g: NonNullable<typeof ga>) => `${g.engine} ${g.precision}${g.sampler ? ` (${g.sampler} sampler)` : ''}`;
  if (ga && gb && (ga.engine !== gb.engine || ga.precision !== gb.precision || ga.sampler !== gb.sampler)) reasons.push(`generated by ${made(ga)} vs ${made(gb)}`);
  const ea = a.encoding;
  const eb = b.encoding;
  if (ea && eb && (ea.engine !== eb.engine || ea.precision !== eb.precision)) reasons.push(`encoded on ${ea.engine} ${ea.precision} vs ${eb.engine} ${eb.precision}`);
  return reasons.length ? { comparable: false, reasons } : { comparable: true };
}
