// WebLLM's load reports → our monotone Progress.
//
// tvmjs reports `progress` per phase (apache/tvm web/src/runtime.ts fetchTensorCacheInternal): while
// downloading, "Fetching param cache[i/n]: …" goes 0 → 1; then the count restarts for
// "Loading model from cache[i/n]: …" (0 → 1 again) as shards go onto the GPU; WebLLM ends with
// progress 1 "Finish loading on …" (src/engine.ts). When everything is cached there is no fetch phase.
// We map the fetch phase to [0, FETCH_SHARE] and loading to the rest, and never let `done` go back.
import type { Progress, ProgressFn } from '../../util/progress.ts';
import type { InitProgressReport } from './types.ts';

/** Share of the bar for downloading when a download happens (it dominates the time on a first visit). */
const FETCH_SHARE = 0.8;

export function loadProgressAdapter(onProgress: ProgressFn | undefined): (r: InitProgressReport) => void {
  let fetched = false;
  let done = 0;
  return (r) => {
    const p = Number.isFinite(r.progress) ? Math.min(1, Math.max(0, r.progress)) : 0;
    let x: number;
    if (/^Fetching param cache/.test(r.text)) {
      fetched = true;
      x = p * FETCH_SHARE;
    } else if (/^Loading model from cache/.test(r.text)) {
      x = fetched ? FETCH_SHARE + p * (1 - FETCH_SHARE) : p;
    } else if (/^Finish loading/.test(r.text)) {
      x = 1;
    } else {
      x = done; // "Start to fetch params" and other notes: keep the bar where it is
    }
    done = Math.max(done, x);
    const out: Progress = { stage: 'llm:load', done, total: 1, unit: 'fraction', text: r.text };
    onProgress?.(out);
  };
}
