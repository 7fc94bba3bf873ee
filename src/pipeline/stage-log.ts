// The log of what a run did, read from its stored state (run-state.ts): each finished stage with its
// start, end, duration and the one figure that says how it went. The state is what a resumed run keeps,
// so the log survives a reload or a kill and lists a reused stage with the times of the run that made it.
// A stage cancelled (or failed) and finished by a later run also counts the time it ran before (EarlierWork,
// kept beside the state by the caller); a killed tab's time is lost, as nothing runs to record it.
import type { RunState } from './run-state.ts';
import { parseStageName, stepOfStage, type PageStep, type StageKinds } from './stages.ts';

export interface StageLogEntry {
  /** The stage's name in the run state, e.g. 'retriever:FT', 'eval:ExpandR'. */
  stage: string;
  step: PageStep;
  /** ISO times; the start is the end less the stage's duration. */
  startedAt: string;
  finishedAt: string;
  ms: number;
  /** True when the stage ran before, was stopped, and a later run finished it (its start is the first run's, `ms` the sum). */
  resumed: boolean;
  /** e.g. 'nDCG@10 0.6451', 'final loss 0.4120 (100 steps)', '300 expansions'; null for a stage this version does not know. */
  figure: string | null;
}

/** Time stages ran before a cancel or a failure: stage name → first start and milliseconds run. */
export type EarlierWork = Record<string, { startedAt: string; ms: number }>;

/** `earlier` with `stage`'s run from `startMs` to `endMs` added (the first start kept, the times summed). */
export function withEarlierWork(earlier: EarlierWork, stage: string, startMs: number, endMs: number): EarlierWork {
  const had = earlier[stage];
  return { ...earlier, [stage]: { startedAt: had?.startedAt ?? new Date(startMs).toISOString(), ms: (had?.ms ?? 0) + Math.max(0, endMs - startMs) } };
}

type Output<K extends keyof StageKinds> = StageKinds[K]['record'];

/** The key figure of a stage's stored output. */
export function stageFigure(stage: string, output: unknown): string | null {
  const id = parseStageName(stage);
  if (!id || output == null) return null;
  switch (id.kind) {
    case 'expansions':
      return `${Object.keys(output as Output<'expansions'>).length} expansions`;
    case 'candidates': {
      const sets = output as Output<'candidates'>;
      return `${sets.reduce((n, s) => n + s.candidates.length, 0)} candidates for ${sets.length} queries`;
    }
    case 'preferences': {
      const p = output as Output<'preferences'>;
      return `${p.pairs.length} pairs from ${p.records.length} queries`;
    }
    case 'dpo': {
      const d = output as Output<'dpo'>;
      const last = d.curve.points[d.curve.points.length - 1];
      return last ? `final loss ${last.loss.toFixed(4)} (${last.step} steps, ${d.pairs} pairs)` : `${d.pairs} pairs`;
    }
    case 'retriever': {
      const r = output as Output<'retriever'>;
      return `final loss ${r.finalLoss.toFixed(4)} (${r.steps} steps)`;
    }
    case 'eval':
    case 'devEval':
    case 'plainEval': {
      const m = (output as Output<'eval'>).metrics['ndcg@10'];
      return m === undefined ? null : `nDCG@10 ${m.toFixed(4)}`;
    }
  }
}

/** Every finished stage of `state`, in the order the stages finished, with the time each ran before a stop (`earlier`). */
export function stageLog(state: RunState | undefined | null, earlier: EarlierWork = {}): StageLogEntry[] {
  const entries = Object.entries(state?.stages ?? {}).map(([stage, rec]) => {
    const end = Date.parse(rec.finishedAt);
    const before = earlier[stage];
    return {
      stage,
      step: stepOfStage(stage),
      startedAt: before?.startedAt ?? (Number.isFinite(end) ? new Date(end - rec.ms).toISOString() : rec.finishedAt),
      finishedAt: rec.finishedAt,
      ms: rec.ms + (before?.ms ?? 0),
      resumed: !!before,
      figure: stageFigure(stage, rec.output),
    };
  });
  return entries.sort((a, b) => a.finishedAt.localeCompare(b.finishedAt));
}
