// The curves a running pipeline streams (MetricPoint: each training step's loss, DPO's margin and accuracy,
// each query's rewards), gathered per series as columns a line chart draws. Plain data and functions, so
// the page's state keeps them in a $state and tests use them in Node.
import type { MetricPoint } from '../util/progress.ts';

/** Points kept per curve; past it the oldest are dropped down to LIVE_POINTS_KEEP (a long training still draws its recent part). */
export const LIVE_POINTS_MAX = 5000;
/** What a trimmed curve keeps: trimming in steps, not on every point, keeps the cost per point constant. */
export const LIVE_POINTS_KEEP = 4000;
/** Figures not drawn: the schedule's learning rate and the gradient norm are not what a person watches. */
export const LIVE_HIDDEN = new Set(['lr', 'gradNorm']);

export interface LiveCurve {
  /** 'retriever:FT', 'dpo:round-1', 'rewards:round-1'. */
  series: string;
  steps: number[];
  /** One column per figure, aligned with `steps` (NaN where a point lacks it). */
  values: Record<string, number[]>;
}

/** Adds `p` to its curve in `curves` (made when new, in arrival order); a step not after the last one starts the curve again (a resumed or rerun stage). */
export function addLivePoint(curves: LiveCurve[], p: MetricPoint): void {
  let c = curves.find((x) => x.series === p.series);
  if (!c) {
    curves.push({ series: p.series, steps: [], values: {} });
    c = curves[curves.length - 1]; // what the array holds (a state proxy in the page)
  }
  const last = c.steps[c.steps.length - 1];
  if (last !== undefined && p.step <= last) {
    c.steps = [];
    c.values = {};
  }
  const n = c.steps.length;
  for (const [k, v] of Object.entries(p.values)) {
    if (LIVE_HIDDEN.has(k)) continue;
    if (!c.values[k]) c.values[k] = new Array<number>(n).fill(NaN);
  }
  c.steps.push(p.step);
  for (const [k, col] of Object.entries(c.values)) col.push(p.values[k] ?? NaN);
  if (c.steps.length > LIVE_POINTS_MAX) {
    // New arrays rather than splice: in the page's state a splice updates every index one by one.
    c.steps = c.steps.slice(-LIVE_POINTS_KEEP);
    c.values = Object.fromEntries(Object.entries(c.values).map(([k, col]) => [k, col.slice(-LIVE_POINTS_KEEP)]));
  }
}

/** The latest value of each figure of a curve ('loss 0.4120 · margin 0.0300'). */
export function latestFigures(c: LiveCurve): string {
  return Object.entries(c.values)
    .map(([k, col]) => [k, col[col.length - 1]] as const)
    .filter(([, v]) => Number.isFinite(v))
    .map(([k, v]) => `${k} ${v.toFixed(4)}`)
    .join(' · ');
}
