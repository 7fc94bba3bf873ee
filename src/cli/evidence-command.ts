// `expandr evidence --run DIR --out DIR2`: what an experiment publishes beside its config so that anyone can
// recompute it with trec_eval (src/pipeline/evidence.ts): results.json whose rows name their run files, the
// TREC runs cut to the top --depth per query and gzipped, per-query.json, results.md, timings.json, the
// config the run used, and each LLM's test expansions (gzipped JSONL).
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { UsageError } from '../errors.ts';
import { readTrecRun, writeTrecRun } from '../eval/trec-run.ts';
import type { Run } from '../eval/types.ts';
import { evidencePlan } from '../pipeline/evidence.ts';
import { RESULT_FIGURE_FILES } from '../pipeline/results-figures.ts';
import type { ExperimentResults } from '../pipeline/types.ts';
import { parseCommandArgs } from './args.ts';

export const EVIDENCE_HELP = `evidence   Write an experiment's evidence (results.json naming its gzipped top-k TREC runs, per-query values, expansions) into a folder to publish.

Usage:
  evidence --run DIR --out DIR2 [--depth 100]

Options:
  --run DIR     an experiment's output folder (what \`experiment --out DIR\` wrote, finished)   (required)
  --out DIR2    the folder to write (e.g. experiments/NAME beside experiments/NAME.json)      (required)
  --depth N     documents kept per query in each run (default 100: every metric of the table reads at most 100)`;

/** The top `depth` hits per query in trec_eval's order (score descending, then document id descending). */
export function topOf(run: Run, depth: number): Run {
  return new Map([...run].map(([qid, hits]) => [qid, [...hits].sort((a, b) => b.score - a.score || (a.docId < b.docId ? 1 : a.docId > b.docId ? -1 : 0)).slice(0, depth)]));
}

export async function evidenceCommand(argv: string[]): Promise<void> {
  const a = parseCommandArgs('evidence', argv, { run: { type: 'string' }, out: { type: 'string' }, depth: { type: 'string' } });
  const dir = resolve(a.need('run'));
  const out = resolve(a.need('out'));
  const depth = a.int('depth', 100, 1);
  const resultsFile = join(dir, 'results.json');
  if (!existsSync(resultsFile)) throw new UsageError(`evidence: ${resultsFile} is missing: give the folder of a finished \`experiment --out DIR\` run.`);
  const results = JSON.parse(readFileSync(resultsFile, 'utf8')) as ExperimentResults & Record<string, unknown>;
  const manifest = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as { config: { seed: number } & Record<string, unknown> };
  mkdirSync(join(out, 'runs'), { recursive: true });

  for (const { row, name, seeds, folders, fields } of evidencePlan(results, manifest.config.seed)) {
    for (const [i, folder] of folders.entries()) {
      const src = join(dir, folder, 'run.trec');
      if (!existsSync(src)) throw new UsageError(`evidence: ${src} is missing (the run of ${name}${seeds ? ` with seed ${seeds[i]}` : ''}): is the run finished?`);
      const run = topOf(readTrecRun(readFileSync(src, 'utf8'), src), depth);
      const tag = folder.slice('runs/'.length);
      writeFileSync(join(out, `${folder}.trec.gz`), gzipSync(writeTrecRun(run, `expandr-${tag}`)));
    }
    Object.assign(row, fields);
  }
  writeFileSync(join(out, 'results.json'), JSON.stringify(results, null, 1) + '\n');
  writeFileSync(join(out, 'config.json'), JSON.stringify(manifest.config, null, 1) + '\n');
  for (const f of ['per-query.json', 'results.md', 'results.csv', 'timings.json', ...Object.values(RESULT_FIGURE_FILES)]) if (existsSync(join(dir, f))) copyFileSync(join(dir, f), join(out, f));
  // Each LLM's test expansions: expansions/LLM-test/expansions.jsonl → expansions/LLM-test.jsonl.gz.
  const expDir = join(dir, 'expansions');
  let expansionSets = 0;
  for (const name of existsSync(expDir) ? readdirSync(expDir) : []) {
    const f = join(expDir, name, 'expansions.jsonl');
    if (!name.endsWith('-test') || !existsSync(f)) continue;
    mkdirSync(join(out, 'expansions'), { recursive: true });
    writeFileSync(join(out, 'expansions', `${name}.jsonl.gz`), gzipSync(readFileSync(f)));
    expansionSets++;
  }
  console.log(`evidence: ${results.rows.length} rows${results.roundRows?.length ? ` + ${results.roundRows.length} earlier rounds` : ''}${results.plainRows?.length ? ` + ${results.plainRows.length} retrievers on plain queries` : ''}, runs cut to the top ${depth}, ${expansionSets} expansion sets → ${out}`);
}
