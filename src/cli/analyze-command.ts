// `expandr analyze --run DIR`: why a run's numbers are what they are (src/pipeline/analysis.ts). Reads the
// files `experiment --out DIR` writes (per-query.json, preferences.json, figures.json, timings.json,
// expansions/, the DPO checkpoints) and, for a run still going or stopped, the same data from its
// run-state.json; loads the dataset for query texts and gold passages; writes markdown and JSON.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.ts';
import { sourcesFromPath } from '../data/node-sources.ts';
import { loadBeir } from '../data/load.ts';
import { analyzeRun } from '../pipeline/analysis.ts';
import type { AnalysisInput, DpoPoint } from '../pipeline/analysis-input.ts';
import { analysisMarkdown } from '../pipeline/analysis-markdown.ts';
import type { TrainingCurve } from '../pipeline/figures-data.ts';
import { analysisInputFromState, analysisTexts, stateOnlyRows } from '../pipeline/analysis-from-state.ts';
import type { PreferenceRecord } from '../pipeline/types.ts';
import { DPO_STATE_JSON } from '../train/dpo-checkpoint.ts';
import { parseCommandArgs } from './args.ts';
import { readRunFolder, type FoundRun } from './run-folders.ts';

export const ANALYZE_HELP = `analyze    Why a run's numbers are what they are: expansion length, rewards and the filter, DPO curves, per-query gains, cases, stage times.

Usage:
  analyze --run DIR [--out FILE.md] [--json FILE] [--data DIR]

Options:
  --run DIR     an experiment's output folder (what \`experiment --out DIR\` wrote; a run still going reads its run-state.json)   (required)
  --out FILE    write the markdown there (default: print it)
  --json FILE   write the analysis as JSON there ("-": print it as the last line of stdout)
  --data DIR    the BEIR dataset for query texts and gold passages (default: the config's "data", relative to the project root)`;

/** Where relative config paths resolve from (as in experiment-command.ts, without loading its models' code). */
const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const readJson = <T>(p: string): T | undefined => (existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as T) : undefined);

/** qid → expansion of a JSONL file of {"id", "expansion"} lines. */
function readExpansions(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const o = JSON.parse(line) as { id: string; expansion: string };
    out[o.id] = o.expansion;
  }
  return out;
}

/** Test expansions by LLM: expansions/LLM-test/expansions.jsonl over `fromState` (the run state's expansions:LLM:test). */
function expansionsOf(dir: string, fromState: Record<string, Record<string, string>>): Record<string, Record<string, string>> {
  const out = { ...fromState };
  const root = join(dir, 'expansions');
  if (existsSync(root)) {
    for (const name of readdirSync(root)) {
      const file = join(root, name, 'expansions.jsonl');
      if (name.endsWith('-test') && existsSync(file)) out[name.slice(0, -'-test'.length)] = readExpansions(file);
    }
  }
  return out;
}

/** The curve each DPO checkpoint kept, by stage name (checkpoints/dpo-NAME/dpo_state.json). */
function dpoCheckpointCurves(dir: string): Record<string, DpoPoint[]> {
  const root = join(dir, 'checkpoints');
  const out: Record<string, DpoPoint[]> = {};
  if (!existsSync(root)) return out;
  for (const name of readdirSync(root)) {
    const state = readJson<{ curve?: DpoPoint[] }>(join(root, name, DPO_STATE_JSON));
    if (name.startsWith('dpo-') && state?.curve) out[name.slice('dpo-'.length)] = state.curve;
  }
  return out;
}

/** The files `experiment` writes when it finishes (experiment-command.ts writeOutputs). */
const FINAL_FILES = ['per-query.json', 'preferences.json', 'figures.json', 'timings.json'];

/** Everything the analysis reads, from the folder's files, else from its run state. */
export async function readAnalysisInput(run: FoundRun, dataDir?: string): Promise<AnalysisInput & { dataset?: string }> {
  const f = (name: string) => join(run.dir, name);
  const input: AnalysisInput & { dataset?: string } = {};
  if (run.config) input.config = run.config;

  // What the run state holds; the final files, where written, come first.
  const state = run.state && analysisInputFromState(run.state, run.config);
  const perQuery = readJson<Record<string, Record<string, number>>>(f('per-query.json'));
  // A finished run: per-query.json plus ExpandR after the earlier rounds and the plain-query rows (which it lacks); a run still going: its state's rows.
  input.perQuery = perQuery && run.state ? { ...perQuery, ...stateOnlyRows(run.state, run.config) } : (perQuery ?? state?.perQuery);
  input.preferences = readJson<Record<string, PreferenceRecord[]>>(f('preferences.json')) ?? state?.preferences;
  input.curves = readJson<{ curves: TrainingCurve[] }>(f('figures.json'))?.curves ?? state?.curves;
  input.dpoCheckpoints = dpoCheckpointCurves(run.dir);
  input.timings = readJson<{ totalMs: number; stages: Record<string, number> }>(f('timings.json')) ?? state?.timings;
  input.expansions = expansionsOf(run.dir, state?.expansions ?? {});
  const fromState = FINAL_FILES.filter((name) => !existsSync(f(name)));
  if (run.state && fromState.length) input.sourceNotes = [`${fromState.join(', ')} not written (the run is still going, or stopped): what they hold is read from run-state.json where it is there.`];

  const recorded = run.config?.data;
  const path = dataDir ?? (recorded ? (isAbsolute(recorded) ? recorded : resolve(PROJECT_ROOT, recorded)) : undefined);
  if (dataDir && !existsSync(dataDir)) throw new UsageError(`analyze: --data ${dataDir} does not exist.`);
  if (path && existsSync(path)) {
    const data = await loadBeir(await sourcesFromPath(path));
    input.dataset = data.name;
    const qids = new Set(Object.values(input.perQuery ?? {}).flatMap((m) => Object.keys(m)));
    Object.assign(input, analysisTexts(qids, data.queries, new Map(data.docs.map((d) => [d.id, d])), data.qrels.get(run.config?.split ?? 'test')));
  }
  return input;
}

export async function analyzeCommand(argv: string[]): Promise<void> {
  const a = parseCommandArgs('analyze', argv, { run: { type: 'string' }, out: { type: 'string' }, json: { type: 'string' }, data: { type: 'string' } });
  const dir = resolve(a.need('run'));
  if (!existsSync(dir)) throw new UsageError(`analyze: --run ${dir} does not exist: give the --out folder of an \`expandr experiment\`.`);
  const run = readRunFolder(dir);
  if (!run) throw new UsageError(`analyze: ${dir} is not a run folder (no run.json, run-state.json or results.json): give the --out folder of an \`expandr experiment\`.`);
  const input = await readAnalysisInput(run, a.str('data'));
  const analysis = analyzeRun(input);
  const what = [input.dataset ?? run.manifest?.datasets.map((d) => d.name).join(' + '), run.manifest?.models.map((m) => m.name).join(' + ')].filter(Boolean).join(' · ');
  const md = analysisMarkdown(analysis, `Analysis of ${basename(dir)}${what ? ` (${what})` : ''}`);
  const out = a.str('out');
  if (out) writeFileSync(out, md);
  const json = a.str('json');
  if (json && json !== '-') writeFileSync(json, JSON.stringify(analysis, null, 1) + '\n');
  if (!out) process.stdout.write(md);
  else console.log(`wrote ${out}`);
  if (json === '-') console.log(JSON.stringify(analysis));
}
