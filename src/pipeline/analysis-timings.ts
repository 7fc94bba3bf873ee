// Run analysis, wall time: every stage's milliseconds (timings.json: the invocation that finished the
// stage measured it) grouped by what the stage does, and the total. A resumed stage counts only the
// invocation that finished it, and loading models and data lies outside every stage, so the sum of
// the stages can differ from the last invocation's wall time (reported beside it).
import { ANALYSIS_FILES, type AnalysisInput, type Missing } from './analysis-input.ts';
import { parseStageName, type StageKind } from './stages.ts';

/** The groups, in pipeline order, and the stage kinds in each. */
export const TIMING_GROUPS: readonly { group: string; kinds: readonly StageKind[] }[] = [
  { group: 'expansions', kinds: ['expansions'] },
  { group: 'candidates', kinds: ['candidates'] },
  { group: 'preferences', kinds: ['preferences'] },
  { group: 'DPO', kinds: ['dpo'] },
  { group: 'retriever training', kinds: ['retriever'] },
  { group: 'evaluation', kinds: ['eval', 'devEval', 'plainEval'] },
];
/** Stages whose name this version does not parse. */
export const OTHER_GROUP = 'other';

export interface TimingGroup {
  group: string;
  stages: number;
  ms: number;
  /** Share of the sum over all stages. */
  share: number;
}

export interface TimingSection {
  /** Every group of TIMING_GROUPS (0 stages where the run had none), then OTHER_GROUP when it has stages. */
  groups: TimingGroup[];
  /** Every stage in timings.json's order (the order the stages finished). */
  stages: { stage: string; group: string; ms: number }[];
  totalMs: number;
  /** The last invocation's wall time, when recorded. */
  invocationMs?: number;
}

export function groupOf(stage: string): string {
  const id = parseStageName(stage);
  return (id && TIMING_GROUPS.find((g) => g.kinds.includes(id.kind))?.group) || OTHER_GROUP;
}

/** Section 7. */
export function timingSection(input: AnalysisInput): TimingSection | Missing {
  const t = input.timings;
  if (!t || Object.keys(t.stages).length === 0) return { missing: `No stage times (${ANALYSIS_FILES.timings} ${t ? 'lists no stage' : 'missing'}).` };
  const stages = Object.entries(t.stages).map(([stage, ms]) => ({ stage, group: groupOf(stage), ms }));
  const totalMs = stages.reduce((a, s) => a + s.ms, 0);
  const groups = [...TIMING_GROUPS.map((g) => g.group), OTHER_GROUP].flatMap((group) => {
    const of = stages.filter((s) => s.group === group);
    if (of.length === 0 && group === OTHER_GROUP) return [];
    const ms = of.reduce((a, s) => a + s.ms, 0);
    return [{ group, stages: of.length, ms, share: totalMs ? ms / totalMs : NaN }];
  });
  return { groups, stages, totalMs, ...(t.totalMs !== undefined && { invocationMs: t.totalMs }) };
}
