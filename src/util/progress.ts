// Progress reporting shared by every long operation (import, indexing, search, encoding, training).

export interface Progress {
  /** Short machine-readable stage name, e.g. 'import:corpus', 'bm25:index', 'bm25:search'. */
  stage: string;
  /** Units done so far; never decreases within a stage. */
  done: number;
  /** Units in total, or 0 when unknown (then `done` still counts). */
  total: number;
  /** What the units are: 'bytes', 'docs', 'queries', ... */
  unit: string;
  /** Optional human text, e.g. 'corpus.jsonl.gz: 1,204 docs'. */
  text?: string;
  /**
   * A second count of the stage whose rate is what a person watches, when `done` counts something coarser:
   * tokens generated while `done` counts prompts. Never decreases within a stage.
   */
  counter?: { done: number; unit: string };
}

export type ProgressFn = (p: Progress) => void;

/**
 * One point of a curve drawn while a stage runs: a training step's loss (and DPO's margin, accuracy, implicit
 * rewards), or one query's rewards while preferences are built. Each point is sent (never throttled).
 */
export interface MetricPoint {
  /** The curve it belongs to: 'retriever:FT', 'dpo:round-1', 'rewards:round-1' (a trainer's own: its progress stage). */
  series: string;
  /** Optimizer step (1 for the first), or the query's position for rewards. */
  step: number;
  /** Named figures of the point, e.g. { loss, margin, accuracy }. */
  values: Record<string, number>;
}

export type MetricsFn = (m: MetricPoint) => void;

/** Options every long operation accepts: a progress callback, a signal that cancels it, and where curve points go. */
export interface WorkOptions {
  onProgress?: ProgressFn;
  signal?: AbortSignal;
  onMetrics?: MetricsFn;
}

/** `work` with its curve points renamed to `series` (a trainer names its points by its own stage; the loop by its stage name). */
export function withSeries<W extends WorkOptions>(work: W, series: string): W {
  const fn = work.onMetrics;
  return fn ? { ...work, onMetrics: (m: MetricPoint) => fn({ ...m, series }) } : work;
}

/** The finite number fields of a curve point other than its step, as MetricPoint values. */
export function numericValues(point: object): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(point)) if (k !== 'step' && typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  return out;
}

/**
 * Rate-limits progress callbacks (at most one per `intervalMs`, plus always the final one)
 * so that a hot loop can call `report` on every item without flooding a worker channel.
 */
export function throttledProgress(fn: ProgressFn | undefined, intervalMs = 100): (p: Progress, force?: boolean) => void {
  let last = 0;
  return (p, force = false) => {
    if (!fn) return;
    const now = Date.now();
    if (force || now - last >= intervalMs || (p.total > 0 && p.done >= p.total)) {
      last = now;
      fn(p);
    }
  };
}
