// Run analysis, the preference data of each LLM-training stage (round-1, round-2, wo-self-reward, …):
// the reward distribution of the scored candidates (Eqs. 11–14: retriever reward 1/rank by d*, self
// reward 1/rank by the answer y, their sum), the filter's quantity max_e cos(d*, e) + cos(y, e) per query
// and how many queries the filter drops, the other skip reasons, and how the chosen and rejected
// candidates of the pairs differ in length.
import { ANALYSIS_FILES, inLoopOrder, type AnalysisInput, type Missing } from './analysis-input.ts';
import { edgesWith, histogram, mean, summarize, type Bucket, type Summary } from './analysis-stats.ts';
import { summarizePreferences } from './preferences.ts';
import type { PreferenceRecord } from './types.ts';

/** The paper's filter (Eq. 16's threshold), assumed for a run without its config. */
export const DEFAULT_FILTER = 0.6;
/** Skip reasons decided before the candidates are embedded: such records carry no rewards (preferences.ts). */
export const UNSCORED_SKIPS: readonly string[] = ['no gold document', 'too few candidates', 'empty answer'];
export const FILTER_SKIP = 'below filter';
/** Histogram edges of the sum of the two reward terms (each 1/rank, in (0, 1]; the sum in (0, 2]). */
export const REWARD_EDGES = [0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75];
/** Histogram edges of the per-query max cos sum (in [-2, 2]); the filter's value is added. */
export const COS_EDGES = [0.2, 0.4, 0.8, 1, 1.2, 1.4, 1.6, 1.8];

export interface RewardStage {
  /** The stage's name (preferences.json key), e.g. 'round-1'. */
  name: string;
  queries: number;
  pairs: number;
  /** Queries whose candidates were embedded and scored. */
  scored: number;
  /** Skipped queries by reason (the filter's is FILTER_SKIP). */
  skipped: Record<string, number>;
  /** Queries the filter dropped, over all train queries and over the scored ones. */
  filterDropped: number;
  filterShareOfQueries: number;
  filterShareOfScored: number;
  /** Over every candidate of the scored queries. */
  retrieverReward: Summary;
  selfReward: Summary;
  sum: Summary;
  /** Per scored query: max_e cos(d*, e) + cos(y, e). */
  maxCosSum: Summary;
  /** Per pair: the chosen candidate's reward minus the rejected one's (the reward that chose them). */
  gap: Summary;
  /**
   * Scored queries where one candidate is first by both terms. Each term alone is 1/rank, so its spread is
   * fixed by the candidate count (ties aside); how the two terms agree is what shapes the sum.
   */
  topAgreement: number;
  histograms: { rewardEdges: number[]; sum: Bucket[]; cosEdges: number[]; maxCosSum: Bucket[] };
  /** Means over the pairs of the reward that chose them (the sum, or one term in an ablation). */
  meanChosenReward: number;
  meanRejectedReward: number;
}

export interface PairLengthStage {
  name: string;
  pairs: number;
  chosenLonger: number;
  chosenShorter: number;
  equal: number;
  meanChosenWords: number;
  meanRejectedWords: number;
  /** Mean of chosen − rejected words. */
  meanDifference: number;
}

const scoredRecords = (records: readonly PreferenceRecord[]) => records.filter((r) => !r.skipped || !UNSCORED_SKIPS.includes(r.skipped));
const pairRecords = (records: readonly PreferenceRecord[]) => records.filter((r) => !r.skipped && r.chosen >= 0 && r.rejected >= 0);
const share = (k: number, n: number) => (n ? k / n : NaN);

const stageNames = (prefs: Record<string, PreferenceRecord[]>) => inLoopOrder(Object.keys(prefs));

function missingPreferences(input: AnalysisInput): Missing | undefined {
  if (!input.preferences) return { missing: `No preference data (${ANALYSIS_FILES.preferences} missing).` };
  if (Object.keys(input.preferences).length === 0) return { missing: `${ANALYSIS_FILES.preferences} has no LLM-training stage: the run trained no LLM (no ExpandR or ablation row).` };
  return undefined;
}

export function rewardStage(name: string, records: readonly PreferenceRecord[], filter: number): RewardStage {
  const s = summarizePreferences(records);
  const scored = scoredRecords(records);
  const cands = scored.flatMap((r) => r.candidates);
  const rr = cands.map((c) => c.retrieverReward);
  const sr = cands.map((c) => c.selfReward);
  const sum = cands.map((c) => c.retrieverReward + c.selfReward);
  const maxCos = scored.filter((r) => r.candidates.length).map((r) => Math.max(...r.candidates.map((c) => c.cosSum)));
  const dropped = s.skipped[FILTER_SKIP] ?? 0;
  const cosEdges = edgesWith(COS_EDGES, filter);
  const gap = pairRecords(records).map((r) => r.candidates[r.chosen].reward - r.candidates[r.rejected].reward);
  return {
    name,
    queries: s.queries,
    pairs: s.pairs,
    scored: scored.length,
    skipped: s.skipped,
    filterDropped: dropped,
    filterShareOfQueries: share(dropped, s.queries),
    filterShareOfScored: share(dropped, scored.length),
    retrieverReward: summarize(rr),
    selfReward: summarize(sr),
    sum: summarize(sum),
    maxCosSum: summarize(maxCos),
    gap: summarize(gap),
    topAgreement: scored.filter((r) => r.candidates.some((c) => c.retrieverReward === 1 && c.selfReward === 1)).length,
    histograms: { rewardEdges: REWARD_EDGES, sum: histogram(sum, REWARD_EDGES), cosEdges, maxCosSum: histogram(maxCos, cosEdges) },
    meanChosenReward: s.meanChosenReward,
    meanRejectedReward: s.meanRejectedReward,
  };
}

/** Section 2: one RewardStage per LLM-training stage; `filter` is the config's (DEFAULT_FILTER without one). */
export function rewardSection(input: AnalysisInput): { filter: number; filterAssumed: boolean; stages: RewardStage[] } | Missing {
  const gap = missingPreferences(input);
  if (gap) return gap;
  const filter = input.config?.rewards?.filter ?? DEFAULT_FILTER;
  const prefs = input.preferences!;
  return { filter, filterAssumed: input.config?.rewards?.filter === undefined, stages: stageNames(prefs).map((n) => rewardStage(n, prefs[n], filter)) };
}

export function pairLengthStage(name: string, records: readonly PreferenceRecord[]): PairLengthStage {
  const pairs = pairRecords(records).map((r) => [r.candidates[r.chosen].words, r.candidates[r.rejected].words] as const);
  const diffs = pairs.map(([c, r]) => c - r);
  return {
    name,
    pairs: pairs.length,
    chosenLonger: diffs.filter((d) => d > 0).length,
    chosenShorter: diffs.filter((d) => d < 0).length,
    equal: diffs.filter((d) => d === 0).length,
    meanChosenWords: mean(pairs.map(([c]) => c)),
    meanRejectedWords: mean(pairs.map(([, r]) => r)),
    meanDifference: mean(diffs),
  };
}

/** Section 4: chosen against rejected length, in words, per LLM-training stage. */
export function pairLengthSection(input: AnalysisInput): { stages: PairLengthStage[] } | Missing {
  const gap = missingPreferences(input);
  if (gap) return gap;
  const prefs = input.preferences!;
  return { stages: stageNames(prefs).map((n) => pairLengthStage(n, prefs[n])) };
}
