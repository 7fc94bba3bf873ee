// "Why the numbers are what they are": an analysis of one experiment's outputs, for the write-up of a
// run (issue: the verdict's point 3). Seven sections, each computed from what the run recorded
// (analysis-input.ts), each a stand-in line when the run lacks its input:
//   1. expansion length per LLM and the settings that used it (paper Fig. 5)      analysis-expansions.ts
//   2. reward distribution, the filter's drops and the other skip reasons          analysis-rewards.ts
//   3. DPO loss, margin and accuracy curves                                        analysis-dpo.ts
//   4. chosen against rejected length                                              analysis-rewards.ts
//   5. per-query nDCG@10 of each expanded row against its plain row                analysis-queries.ts
//   6. five case views (paper Table 10)                                            analysis-expansions.ts
//   7. wall time per stage, grouped                                                analysis-timings.ts
// analysis-markdown.ts renders the result; the runner's `analyze` command reads the folder.
import { caseSection, expansionLengthSection, type CaseSection, type LengthSection } from './analysis-expansions.ts';
import { dpoSection, type DpoStage } from './analysis-dpo.ts';
import type { AnalysisInput, Missing } from './analysis-input.ts';
import { queryGainSection, type PairStats } from './analysis-queries.ts';
import { pairLengthSection, rewardSection, type PairLengthStage, type RewardStage } from './analysis-rewards.ts';
import { timingSection, type TimingSection } from './analysis-timings.ts';

export interface RunAnalysis {
  expansionLength: LengthSection | Missing;
  rewards: { filter: number; filterAssumed: boolean; stages: RewardStage[] } | Missing;
  dpo: { stages: DpoStage[]; notes: string[] } | Missing;
  pairLengths: { stages: PairLengthStage[] } | Missing;
  queryGains: { pairs: PairStats[]; notes: string[] } | Missing;
  cases: CaseSection | Missing;
  timings: TimingSection | Missing;
  /** Things a reader should know about the inputs as a whole (an assumed config, seeds averaged). */
  notes: string[];
}

export function analyzeRun(input: AnalysisInput): RunAnalysis {
  const notes: string[] = [...(input.sourceNotes ?? [])];
  if (!input.config) notes.push('No config (run.json): one round and the paper\'s 0.6 filter are assumed.');
  const seeds = input.config?.seeds ?? [];
  if (seeds.length > 1) {
    notes.push(`The config runs its trained rows at seeds ${seeds.join(', ')}: a row's per-query nDCG@10 is each query's mean over the seeds it has run so far; expansions, preferences and DPO curves are listed per seed (NAME@seedS; no suffix: seed ${input.config!.seed}).`);
  }
  return {
    expansionLength: expansionLengthSection(input),
    rewards: rewardSection(input),
    dpo: dpoSection(input),
    pairLengths: pairLengthSection(input),
    queryGains: queryGainSection(input),
    cases: caseSection(input),
    timings: timingSection(input),
    notes,
  };
}
