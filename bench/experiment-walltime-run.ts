// The measured side of bench/experiment-walltime.ts --run DIR: each finished stage's milliseconds of a real
// `expandr experiment --out DIR` (timings.json when the run finished, else run-state.json's per-stage `ms`),
// with the run's own config (run.json) so each stage's estimate counts the work that run did. Read only.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { experimentConfig, type ExperimentConfig } from '../src/pipeline/config.ts';

export interface RunStages {
  /** Which file the times come from. */
  source: string;
  /** Stage name → milliseconds, in the file's order (the order the stages finished). */
  stages: [string, number][];
  /** The run's config (run.json), or null when the directory has none. */
  config: ExperimentConfig | null;
}

export function readRunStages(dir: string): RunStages {
  const timings = join(dir, 'timings.json');
  const state = join(dir, 'run-state.json');
  let source: string;
  let stages: [string, number][];
  if (existsSync(timings)) {
    source = timings;
    const t = JSON.parse(readFileSync(timings, 'utf8')) as { stages?: Record<string, number> };
    stages = Object.entries(t.stages ?? {});
  } else if (existsSync(state)) {
    source = state;
    const s = JSON.parse(readFileSync(state, 'utf8')) as { stages?: Record<string, { ms?: number }> };
    stages = Object.entries(s.stages ?? {}).flatMap(([name, r]) => (typeof r.ms === 'number' ? [[name, r.ms] as [string, number]] : []));
  } else {
    throw new Error(`bench/experiment-walltime: ${dir} has neither timings.json nor run-state.json: give the --out directory of an \`expandr experiment\` run.`);
  }
  const runJson = join(dir, 'run.json');
  const config = existsSync(runJson) ? experimentConfig((JSON.parse(readFileSync(runJson, 'utf8')) as { config: Record<string, unknown> }).config, runJson) : null;
  return { source, stages, config };
}
