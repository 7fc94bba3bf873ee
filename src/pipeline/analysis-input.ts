// What the run analysis (analysis.ts) reads from one experiment's output: the parsed contents of its
// files, handed in by the caller (src/cli/analyze-command.ts reads a run folder), so the analysis itself
// touches no file system. Every part is optional: a section whose input is absent says so instead.
import type { DpoPairMetrics } from '../llm/dpo.ts';
import type { ExperimentConfig } from './config.ts';
import type { CurvePoint, TrainingCurve } from './figures-data.ts';
import type { PreferenceRecord } from './types.ts';

/** The file each input comes from, for the lines that say what a run lacks. */
export const ANALYSIS_FILES = Object.freeze({
  config: 'run.json (config)',
  perQuery: 'per-query.json',
  preferences: 'preferences.json',
  curves: 'figures.json (curves)',
  dpoCheckpoints: 'checkpoints/dpo-NAME/dpo_state.json',
  timings: 'timings.json',
  expansions: 'expansions/LLM-test/expansions.jsonl',
  dataset: "the dataset named by the config's data (query texts, gold passages)",
});

/** A DPO curve point as the trainer's checkpoint keeps it (DpoStepMetrics): the figures' fields plus accuracy. */
export type DpoPoint = CurvePoint & Partial<Pick<DpoPairMetrics, 'accuracy'>>;

export interface AnalysisInput {
  /** The run's config (run.json); absent for a folder without one (then one round and a 0.6 filter are assumed, and said). */
  config?: Pick<ExperimentConfig, 'rounds' | 'seed' | 'split' | 'settings'> & { seeds?: number[]; seededSettings?: string[]; rewards?: Pick<ExperimentConfig['rewards'], 'filter'> };
  /** per-query.json: setting → qid → nDCG@10 (a row run at several seeds: each query's mean over them). */
  perQuery?: Record<string, Record<string, number>>;
  /** preferences.json: LLM-training stage name (round-1, wo-self-reward, …) → one record per train query. */
  preferences?: Record<string, PreferenceRecord[]>;
  /** figures.json's training curves (retriever and DPO). */
  curves?: TrainingCurve[];
  /** The curve each DPO checkpoint kept (checkpoints/dpo-NAME/dpo_state.json), by stage name NAME: it has accuracy per step. */
  dpoCheckpoints?: Record<string, DpoPoint[]>;
  /** timings.json: milliseconds per stage (of the invocation that finished it) and the last invocation's wall time. */
  timings?: { totalMs?: number; stages: Record<string, number> };
  /** Test-query expansions by LLM ('base', 'round-1', 'wo-self-reward', …): qid → text. */
  expansions?: Record<string, Record<string, string>>;
  /** Test queries' texts and gold passages (d*, the highest-graded relevant document), from the dataset. */
  queries?: Record<string, string>;
  gold?: Record<string, { docId: string; text: string }>;
  /** What the reader said about where the inputs came from (e.g. a run still going, read from its state). */
  sourceNotes?: string[];
}

/** A section's stand-in when the run lacks its input: the line the report prints. */
export interface Missing {
  missing: string;
}

export const isMissing = (x: object): x is Missing => 'missing' in x && typeof (x as Missing).missing === 'string';

/** The LLMs the loop trains, in the order it trains them (loop.ts); a name may carry '@seedS'. */
const LOOP_ORDER = [/^base$/, /^round-\d+$/, /^wo-retriever-training$/, /^wo-self-reward$/, /^wo-retriever-reward$/];

/** LLM / stage names in loop order: base, the rounds, the ablations; each seed after the config's; unknown names last. */
export function inLoopOrder(names: Iterable<string>): string[] {
  const parts = (n: string) => {
    const m = /^(.*?)(?:@seed(\d+))?$/.exec(n)!;
    const i = LOOP_ORDER.findIndex((re) => re.test(m[1]));
    return { rank: i < 0 ? LOOP_ORDER.length : i, name: m[1], seed: m[2] === undefined ? -1 : Number(m[2]) };
  };
  return [...names].sort((a, b) => {
    const p = parts(a);
    const q = parts(b);
    return p.rank - q.rank || p.name.localeCompare(q.name, 'en', { numeric: true }) || p.seed - q.seed;
  });
}
