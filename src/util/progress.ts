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
}

export type ProgressFn = (p: Progress) => void;

/** Options every long operation accepts: a progress callback and a signal that cancels it. */
export interface WorkOptions {
  onProgress?: ProgressFn;
  signal?: AbortSignal;
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
