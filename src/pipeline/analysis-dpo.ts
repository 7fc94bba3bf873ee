// Run analysis, the DPO curves (Eq. 17) of each LLM-training stage: loss, the implicit rewards
// β·log(π/π_ref) of chosen and rejected, their margin, and the accuracy (the share of the step's pairs
// whose chosen reward exceeds the rejected one, as TRL logs it). figures.json's curve points carry no
// accuracy; the trainer's checkpoint (checkpoints/dpo-NAME/dpo_state.json) keeps it per step, so
// accuracy comes from there when the folder has it, and the section says so when neither has it.
import { ANALYSIS_FILES, inLoopOrder, type AnalysisInput, type DpoPoint, type Missing } from './analysis-input.ts';
import { mean, spacedIndices } from './analysis-stats.ts';

/** Rows of the per-step table of one stage (evenly spaced, first and last included). */
export const CURVE_ROWS = 11;
/** The share of steps averaged at each end of the curve for the start/end summary (one step's batch is noisy). */
export const CURVE_END_SHARE = 0.25;

export interface CurveEnds {
  loss: number;
  margin: number;
  /** NaN when no accuracy is recorded. */
  accuracy: number;
}

export interface DpoStage {
  /** The stage's name without 'dpo:', e.g. 'round-1'. */
  name: string;
  steps: number;
  /** Where the points came from, and where their accuracy came from ('none' when it is not recorded). */
  source: 'figures' | 'checkpoint';
  accuracySource: 'figures' | 'checkpoint' | 'none';
  /** Means over the first and the last CURVE_END_SHARE of the steps (at least one step each). */
  start: CurveEnds;
  end: CurveEnds;
  /** The table's rows (CURVE_ROWS of them at most). */
  rows: DpoPoint[];
}

function ends(points: readonly DpoPoint[]): { start: CurveEnds; end: CurveEnds } {
  const k = Math.max(1, Math.round(points.length * CURVE_END_SHARE));
  const of = (ps: readonly DpoPoint[]): CurveEnds => ({
    loss: mean(ps.map((p) => p.loss)),
    margin: mean(ps.map((p) => p.margin ?? NaN)),
    accuracy: ps.every((p) => p.accuracy !== undefined) ? mean(ps.map((p) => p.accuracy!)) : NaN,
  });
  return { start: of(points.slice(0, k)), end: of(points.slice(-k)) };
}

/** One stage's curve: figures.json's points, with accuracy from the checkpoint's curve (matched by step) when they lack it. */
export function dpoStage(name: string, figures: readonly DpoPoint[] | undefined, checkpoint: readonly DpoPoint[] | undefined): DpoStage {
  const byStep = new Map((checkpoint ?? []).map((p) => [p.step, p]));
  const base = figures?.length ? figures : (checkpoint ?? []);
  const figuresHaveAcc = !!figures?.length && figures.every((p) => p.accuracy !== undefined);
  const points: DpoPoint[] = base.map((p) => {
    if (p.accuracy !== undefined) return { ...p };
    const acc = byStep.get(p.step)?.accuracy;
    return acc === undefined ? { ...p } : { ...p, accuracy: acc };
  });
  const allAcc = points.length > 0 && points.every((p) => p.accuracy !== undefined);
  return {
    name,
    steps: points.length,
    source: figures?.length ? 'figures' : 'checkpoint',
    accuracySource: !allAcc ? 'none' : figuresHaveAcc ? 'figures' : 'checkpoint',
    ...ends(points),
    rows: spacedIndices(points.length, CURVE_ROWS).map((i) => points[i]),
  };
}

/** Section 3: every DPO stage of figures.json's curves or of the checkpoints. */
export function dpoSection(input: AnalysisInput): { stages: DpoStage[]; notes: string[] } | Missing {
  const fromFigures = new Map((input.curves ?? []).filter((c) => c.kind === 'dpo').map((c) => [c.stage.replace(/^dpo:/, ''), c.points as DpoPoint[]]));
  const fromCheckpoints = new Map(Object.entries(input.dpoCheckpoints ?? {}));
  const names = [...new Set([...fromFigures.keys(), ...fromCheckpoints.keys()])];
  if (names.length === 0) {
    const where = input.curves ? `${ANALYSIS_FILES.curves} has no DPO curve` : `${ANALYSIS_FILES.curves} missing`;
    return { missing: `No DPO curves (${where}, and no ${ANALYSIS_FILES.dpoCheckpoints}): the run has trained no LLM (yet).` };
  }
  const stages = inLoopOrder(names).map((n) => dpoStage(n, fromFigures.get(n), fromCheckpoints.get(n)));
  const notes: string[] = [];
  const noAcc = stages.filter((s) => s.accuracySource === 'none').map((s) => s.name);
  if (noAcc.length) notes.push(`Accuracy per step is not recorded for ${noAcc.join(', ')}: ${ANALYSIS_FILES.curves} points carry loss, rewards and margin only, and ${ANALYSIS_FILES.dpoCheckpoints} is absent.`);
  if (stages.some((s) => s.accuracySource === 'checkpoint')) notes.push(`Accuracy comes from ${ANALYSIS_FILES.dpoCheckpoints} (the trainer's curve), matched to the curve's points by step.`);
  return { stages, notes };
}
