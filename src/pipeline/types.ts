// Shared types of the ExpandR pipeline: the generator and cache seams the stages are written against,
// the preference records the user browses, and the results table (paper Tables 2–3; DESIGN.md §5).
import type { WorkOptions } from '../util/progress.ts';
import type { Comparison, MarkedTest, RowScoring, SignificanceMetric } from '../eval/significance-marks.ts';
import type { GenerationProvenance } from './generation-provenance.ts';
import type { DevMetrics, ExperimentSources } from './train-sources.ts';

/** Setting names exactly as DESIGN.md §5 fixes them for results.json, in table order. */
export const SETTING_NAMES = [
  'BM25',
  'Raw',
  'Raw+expansion',
  'FT',
  'ExpandR',
  'w/o LLM training',
  'w/o retriever training',
  'w/o self-reward',
  'w/o retriever reward',
] as const;
export type SettingName = (typeof SETTING_NAMES)[number];

/** Sampling of one generation call; `seed` makes a call reproducible on engines that honour it. */
/**
 * A training query q with its gold document d* (the highest-graded relevant one, pickGoldDoc): what the
 * Q2A answer (Eq. 12) and the retriever reward (Eq. 14) are computed from.
 */
export interface QueryWithGold {
  qid: string;
  query: string;
  goldDocId: string;
  /** Gold document text (title + " " + text); '' when there is none. */
  goldDoc: string;
}

export interface SamplingSettings {
  temperature: number;
  topP: number;
  maxTokens: number;
  seed: number;
}

/**
 * Anything that turns prompts (plain user messages: the engine applies its chat template) into texts:
 * the tfjs decoder (with or without a LoRA adapter) or WebLLM in a worker. `id` names model + adapter
 * (e.g. 'stories260K' or 'stories260K+lora:3f2a…'); it is part of every cache key.
 */
export interface TextGenerator {
  readonly id: string;
  /** Engine and weights' precision (generation-provenance.ts); part of every cache key. Absent: unknown (test fakes). */
  readonly provenance?: GenerationProvenance;
  /** One text per prompt, or a GenerationFailure for a prompt the engine could not run (never cached; retried, then counted). */
  generate(prompts: readonly string[], sampling: SamplingSettings, work?: GenerateWork): Promise<(string | GenerationFailure)[]>;
}

/** A prompt a generator could not run (WebLLM: longer than the context; an engine error for that prompt). */
export interface GenerationFailure {
  failed: string;
}

/**
 * Per-call options of TextGenerator.generate. `seeds[i]` is the seed of prompt i's own sampling stream
 * (the pipeline passes sampleSeed(seed, sample, qid), generation-cache.ts), so that a prompt's text does
 * not depend on the batch it is in; without it prompt i uses deriveSeed(sampling.seed, i).
 */
export interface GenerateWork extends WorkOptions {
  seeds?: readonly number[];
}

/** Generated texts by key, so that nothing is generated twice (IndexedDB in the app, a file in the runner). */
export interface GenerationCache {
  get(key: string): Promise<string | undefined>;
  /** Stores many at once (one transaction / one append). */
  putMany(entries: readonly GenerationCacheEntry[]): Promise<void>;
}

/** key, text, and the engine and precision that made it (recorded beside the text; the key already depends on both). */
export type GenerationCacheEntry = readonly [key: string, text: string, made?: { engine: string; precision: string }];

/** One candidate expansion of a train query and its rewards (Eqs. 11–14). */
export interface ScoredCandidate {
  text: string;
  temperature: number;
  /** 1/rank(d_exp | d*): rank among the candidates by similarity to the gold document. */
  retrieverReward: number;
  /** 1/rank(d_exp | y): rank among the candidates by similarity to the answer y. */
  selfReward: number;
  /** The reward used for the pair: the sum, or one term in an ablation. */
  reward: number;
  /** cos(d*, e) + cos(y, e), the filter's quantity. */
  cosSum: number;
  /** Length in whitespace-separated words (Fig. 5). */
  words: number;
}

/** One train query's preference record: what the user browses in the preference table. */
export interface PreferenceRecord {
  qid: string;
  query: string;
  goldDocId: string;
  answer: string;
  candidates: ScoredCandidate[];
  /** Index into candidates, or -1 when skipped. */
  chosen: number;
  rejected: number;
  /** Why the query gave no pair: 'empty answer', 'below filter', 'all rewards equal', 'no gold document', 'too few candidates'. */
  skipped?: string;
}

/** One row of the results table. Metrics are means over the split's judged queries. */
export interface ResultRow {
  setting: SettingName;
  'ndcg@10': number;
  'recall@100': number;
  'mrr@10': number;
  'map@100': number;
  /** Paired permutation p-values of nDCG@10 and Recall@100 against Raw and FT (absent for those rows themselves). */
  pValues?: Partial<Record<'Raw' | 'FT', { 'ndcg@10': number; 'recall@100': number }>>;
  /** The same tests with their mean difference, direction and mark (src/eval/significance-marks.ts). */
  significance?: Partial<Record<'Raw' | 'FT', Record<SignificanceMetric, MarkedTest>>>;
  /** The marks the tables print per tested metric, e.g. '†‡' or '▼Raw'. */
  marks?: Record<SignificanceMetric, string>;
  /** Per-query nDCG@10, for significance, the case view and re-analysis. */
  perQuery?: Record<string, number>;
  /** How the row's vectors were scored: 'dot' or 'cosine' for dense rows, 'bm25' for BM25; absent in rows stored before it was recorded. */
  scoring?: RowScoring;
  /** Encoding length (tokens, special tokens included) of queries, expansions and documents; dense rows. */
  maxLength?: number;
  /** Dense rows: the engine and precision that encoded queries and documents (BertEncoder.engine: 'tfjs-wasm', 'float32'). */
  encoding?: { engine: string; precision: string };
  /** Expanded rows: what generated the test queries' expansions. */
  generation?: GenerationProvenance;
  /** Expanded rows: test queries whose expansion failed after retries (scored without one). */
  failedExpansions?: number;
  /** Raw only, when the encoder's own similarity differs from the table's: Raw's metrics scored that way (for published numbers). */
  encoderScoring?: { scoring: RowScoring; 'ndcg@10': number; 'recall@100': number; 'mrr@10': number; 'map@100': number };
  /** Comparability with the rows it is read against (Raw, FT, and for expanded rows the other expanded rows). */
  comparisons?: Record<string, Comparison>;
  /** The same setting on the dev split (train-sources.ts): the numbers choices may read. */
  dev?: DevMetrics;
  /** Trained rows of a config with several seeds (seeds.ts): the seeds, and per metric the mean (the row's values), sample sd and each seed's value. */
  seeds?: number[];
  mean?: Record<string, number>;
  sd?: Record<string, number>;
  perSeed?: Record<string, number[]>;
}

/** ExpandR as it stood after an earlier round of several (results-rounds.ts); the table's row is the last round's. */
export interface RoundRow extends ResultRow {
  round: number;
  /** The last round against this one (mark '▲' / '▼': the last round significantly better / worse). */
  lastVsThis?: Record<string, MarkedTest>;
}

/** A variant of round 1 tried on dev (config.ts VariantConfig, results-variants.ts): dev only, seed = config.seed. */
export interface VariantRow {
  name: string;
  why: string;
  /** What it changes over the config. */
  changes: { candidates?: Record<string, unknown>; dpo?: Record<string, unknown>; rewards?: Record<string, unknown> };
  /** Its LLM's name in the run (stages dpo:NAME, devEval:ExpandR@round1@NAME). */
  llm: string;
  seed: number;
  /** DPO pairs it trained on. */
  pairs?: number;
  dev: { 'ndcg@10': number; 'recall@100': number; 'mrr@10': number; 'map@100': number; queries: number };
  /** This variant against ExpandR after round 1 with the config's own settings (same seed, same E_1), on dev: '▲' / '▼' the variant significantly better / worse. */
  vsRound1?: Record<string, MarkedTest>;
  /** What it is judged against, and that row's dev nDCG@10 (same seed). */
  baseline: string;
  baselineDev?: number;
}

/**
 * A retriever the loop trained on expanded queries, evaluated on the plain queries (results-plain.ts): is
 * what its expanded row loses against FT the retriever's or the expansion's at search time?
 */
export interface PlainRow {
  /** The retriever's name in the run at the config's seed (encoders/NAME: round-1, round-2, …). */
  retriever: string;
  /** The expanded row with the same retriever it is read against: 'ExpandR after round 1', 'ExpandR', 'w/o LLM training'. */
  versus: string;
  'ndcg@10': number;
  'recall@100': number;
  'mrr@10': number;
  'map@100': number;
  /** Several seeds: their list, and per metric the sample sd and each seed's value (the values above are the means). */
  seeds?: number[];
  sd?: Record<string, number>;
  perSeed?: Record<string, number[]>;
  /** How its vectors were scored and its encoding length, as the table's rows record them. */
  scoring?: RowScoring;
  maxLength?: number;
  encoding?: ResultRow['encoding'];
  /** The expanded row's and FT's test nDCG@10 (the same seeds' means). */
  expanded: number;
  ft?: number;
  /** Plain minus the expanded row, and plain minus FT, paired by query ('▲' / '▼': plain significantly better / worse). */
  vsExpanded: Record<string, MarkedTest>;
  vsFT?: Record<string, MarkedTest>;
  /** The same on dev. */
  dev?: DevMetrics & { expanded?: number; ft?: number; vsExpanded?: Record<string, MarkedTest>; vsFT?: Record<string, MarkedTest> };
}

export interface ExperimentResults {
  dataset: string;
  split: string;
  rows: ResultRow[];
  /** config.rounds > 1: ExpandR after each earlier round. */
  roundRows?: RoundRow[];
  /** config.variants: each variant of round 1, on dev. */
  variants?: VariantRow[];
  /** Each retriever trained on expanded queries, on the plain queries (results-plain.ts). */
  plainRows?: PlainRow[];
  /** Train and test sources and the dev split (absent in runs made before the dev split). */
  sources?: ExperimentSources;
}
