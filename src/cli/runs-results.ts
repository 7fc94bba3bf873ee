// `expandr runs results RUN`: a run's results table (results.md, or results.json's content with --json)
// rebuilt from its stored stages (results-from-state.ts), as the page shows a run that stopped midway: the
// rows done so far, each seeded row the mean over the seeds it has, the earlier rounds, the variants and
// the retrievers on plain queries. A finished run gives what its results.md says; a folder with only
// results.json (an evidence folder) gives that.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { UsageError } from '../errors.ts';
import { resultsFromState } from '../pipeline/results-from-state.ts';
import { resultsJson, resultsMarkdown } from '../pipeline/results.ts';
import { seedsOf } from '../pipeline/seeds.ts';
import type { FoundRun } from './run-folders.ts';

/** The run's results as markdown (or results.json's object with `json`), headed by its status when not complete. */
export function runResultsText(run: FoundRun, json: boolean): string {
  if (!run.state) {
    const file = join(run.dir, json ? 'results.json' : 'results.md');
    if (existsSync(file)) return readFileSync(file, 'utf8').trimEnd();
    throw new UsageError(`${run.dir} has no ${json ? 'results.json' : 'results.md'} and no run-state.json to rebuild its results from.`);
  }
  if (!run.config) throw new UsageError(`${run.dir} has a run-state.json but no config (run.json, or ${run.dir}.json beside it): its rows cannot be named.`);
  const dataset = run.manifest?.datasets[0]?.name ?? basename(run.config.data);
  const results = resultsFromState(dataset, run.config.split, run.state, run.config);
  if (json) return JSON.stringify({ status: run.status, ...resultsJson(results) }, null, 1);
  const md = resultsMarkdown(results, { config: run.config }).trimEnd();
  if (run.status === 'complete') return md;
  const seeds = seedsOf(run.config);
  const head =
    `Run ${basename(run.dir)} is ${run.status}: the rows below are the stages done so far` +
    (seeds.length > 1 ? ` (each seeded row the mean over the seeds it has of ${seeds.join(', ')}; its seed column says which)` : '') +
    '. Nothing in it is a projection.';
  return `${head}\n\n${md}`;
}
