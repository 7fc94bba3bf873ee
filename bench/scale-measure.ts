// One stage of a scale benchmark in this process: wall time and the process's peak RSS during the stage.
// Linux keeps the high-water mark (VmHWM); writing 5 to /proc/self/clear_refs resets it to the current RSS,
// so each stage's peak is its own (plus whatever earlier stages still hold, reported as rssBefore).
import { readFileSync, writeFileSync } from 'node:fs';

export interface StageRecord {
  stage: string;
  docs: number;
  ms: number;
  /** RSS when the stage began (after a GC): what earlier stages hold. */
  rssBefore: number;
  /** Highest RSS during the stage. */
  peakRss: number;
  /** V8 heap used + array buffers at the end of the stage. */
  heapAfter: number;
  /** Free-form figures of the stage (postings, terms, hits). */
  extra?: Record<string, number | string>;
}

function statusBytes(field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Runs `fn` as one measured stage; the record is printed as a JSON line for the parent. */
export async function stage<T>(name: string, docs: number, fn: () => Promise<T>, extra?: (v: T) => Record<string, number | string>): Promise<T> {
  (globalThis as { gc?: () => void }).gc?.();
  const rssBefore = statusBytes('VmRSS');
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    // not Linux or not allowed: the peak is then the process's peak so far (said in the output)
  }
  const t0 = performance.now();
  const value = await fn();
  const ms = performance.now() - t0;
  const m = process.memoryUsage();
  const rec: StageRecord = { stage: name, docs, ms, rssBefore, peakRss: statusBytes('VmHWM'), heapAfter: m.heapUsed + m.arrayBuffers, extra: extra?.(value) };
  console.log(`RECORD ${JSON.stringify(rec)}`);
  return value;
}
