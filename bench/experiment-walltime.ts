// Wall time of the real ExpandR experiment (experiments/scifact-smollm2-minilm.json on SciFact), per stage,
// before and after the CPU speed work, from rates measured in this one run on this machine:
//   before: tfjs decoder generation, tfjs-wasm with 1 XNNPACK thread, retriever training texts at 256 tokens;
//   after:  llama.cpp generation (LlamaCppGenerator, 8 prompts a call as the pipeline sends them), 2 XNNPACK
//           threads, training texts at the config's retriever.maxLength (128).
// DPO runs the current src/llm code in both columns (only the thread count differs). Each rate is measured by
// bench/estimate-rates.bench.ts in a child process (EXPANDR_WASM_THREADS sets its threads), before and after
// interleaved kind by kind, on SmolLM2-135M-Instruct Q4_1 and all-MiniLM-L6-v2; then estimateExperiment
// (src/pipeline/estimate.ts) with each column's Rates. With --run DIR, each finished stage of a real run
// (timings.json or run-state.json) is printed beside the "after" estimate of the same stage.
//
//   npm run bench:walltime -- [--run DIR]... [--config FILE] [--out FILE] [--rates FILE]
//
// --rates FILE reuses the measurements of an earlier run (its --out JSON) instead of measuring again;
// with --kinds K,... only those kinds are measured anew and the others are taken from FILE.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Estimate } from '../src/pipeline/estimate.ts';
import { beforeConfig, datasetCounts, estimateStageOf, estimateWith, ratesOf, readConfig, stageSeconds, type RateMeasurement } from './experiment-walltime-estimate.ts';
import { readRunStages } from './experiment-walltime-run.ts';

const ROOT = join(import.meta.dirname, '..');
const argv = process.argv.slice(2);
const values = (name: string) => argv.flatMap((a, i) => (a === name && i + 1 < argv.length ? [argv[i + 1]] : []));
const configFile = values('--config')[0] ?? join(ROOT, 'experiments/scifact-smollm2-minilm.json');
const outFile = values('--out')[0] ?? join(ROOT, '.cache/bench/experiment-walltime.json');
const runs = values('--run');
const reuse = values('--rates')[0];
const only = values('--kinds')[0]?.split(',');

/** Samples small enough for minutes on 2 busy cores; tfjs generation gets fewer tokens (2-3 tokens/s). */
const GEN = { tfjs: { prompts: 8, tokens: 16 }, 'llama.cpp': { prompts: 8, tokens: 128 } };
/** Training texts before the speed work: the encoder's own length. */
const BEFORE_TRAIN_LENGTH = 256;
/** Pairs in the timed training step: the config's batch (16), with a warm-up step first. */
const TRAIN_PAIRS = 16;
/**
 * A run stage measured under this share of its estimate did not do the work: it read it from a cache
 * (generations.jsonl, the embedding cache) filled by an earlier run. Flagged and left out of its group's sum.
 */
const CACHED_BELOW = 0.1;

interface Column {
  label: 'before' | 'after';
  threads: number;
  engine: 'tfjs' | 'llama.cpp';
  trainMaxLength: number;
}

const after = readConfig(configFile);
const COLUMNS: Column[] = [
  { label: 'before', threads: 1, engine: 'tfjs', trainMaxLength: BEFORE_TRAIN_LENGTH },
  { label: 'after', threads: 2, engine: 'llama.cpp', trainMaxLength: after.retriever.maxLength ?? BEFORE_TRAIN_LENGTH },
];
const KINDS = ['generate', 'encode', 'train', 'dpo'] as const;
const load = () => loadavg().map((x) => x.toFixed(1)).join(' ');

/** One kind of one column, in its own process (the thread count is fixed when tfjs-wasm starts). */
function measure(col: Column, kind: (typeof KINDS)[number]): RateMeasurement[] {
  const json = join(tmpdir(), `expandr-walltime-${process.pid}-${col.label}-${kind}.json`);
  const args = ['bench/estimate-rates.bench.ts', '--only-big', '--kinds', kind, '--engine', col.engine, '--train-max-length', String(col.trainMaxLength), '--json', json];
  if (kind === 'generate') args.push('--gen-prompts', String(GEN[col.engine].prompts), '--gen-tokens', String(GEN[col.engine].tokens));
  if (kind === 'train') args.push('--train-pairs', String(TRAIN_PAIRS), '--train-chunk', String(after.retriever.gradCacheChunk ?? TRAIN_PAIRS), '--train-warmup');
  console.log(`# ${col.label} ${kind}: EXPANDR_WASM_THREADS=${col.threads} tsx ${args.join(' ')}   (load ${load()})`);
  const r = spawnSync(join(ROOT, 'node_modules/.bin/tsx'), args, { cwd: ROOT, env: { ...process.env, EXPANDR_WASM_THREADS: String(col.threads) }, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`bench/experiment-walltime: the ${col.label} ${kind} measurement exited with ${r.status ?? r.signal}; its output is above.`);
  return JSON.parse(readFileSync(json, 'utf8')) as RateMeasurement[];
}

const started = { at: new Date().toISOString(), load: load() };
let measured: Record<Column['label'], RateMeasurement[]> = { before: [], after: [] };
const anew = reuse ? (only ?? []) : (only ?? [...KINDS]);
if (reuse) {
  const old = (JSON.parse(readFileSync(reuse, 'utf8')) as { measured: typeof measured }).measured;
  measured = { before: old.before.filter((m) => !anew.includes(m.kind)), after: old.after.filter((m) => !anew.includes(m.kind)) };
}
// Interleaved: each kind before, then after, so both columns of a kind see about the same load.
for (const kind of KINDS.filter((k) => anew.includes(k))) for (const col of COLUMNS) measured[col.label].push(...measure(col, kind));
const ended = { at: new Date().toISOString(), load: load() };

const source = `bench/experiment-walltime.ts, ${started.at}, load ${started.load} → ${ended.load}`;
const rates = { before: ratesOf('before', source, measured.before), after: ratesOf('after', source, measured.after) };
// Dataset paths in a config are relative to the project root (where the runner starts).
const data = await datasetCounts(join(ROOT, after.data), after.split, after.trainSplit);
const configs = { before: beforeConfig(after), after };
const est: Record<Column['label'], Estimate> = { before: estimateWith(configs.before, data, rates.before), after: estimateWith(configs.after, data, rates.after) };

const h = (s: number) => (s / 3600).toFixed(2);
const ratio = (b: number, a: number) => (a > 0 ? (b / a).toFixed(2) : '–');
const lines: string[] = [];
const say = (s = '') => (lines.push(s), console.log(s));
say(`\n${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load average ${started.load} at the start, ${ended.load} at the end`);
say(`SciFact: ${data.docs} docs (mean ${data.docTokens} tokens), ${data.testQueries} test and ${data.trainQueries} train queries; config ${configFile}\n`);
say('| rate (tokens/s) | before | after | after / before |');
say('|---|---:|---:|---:|');
for (const kind of KINDS) {
  const b = measured.before.find((m) => m.kind === kind)!;
  const a = measured.after.find((m) => m.kind === kind)!;
  // llama.cpp runs its own threads (DEFAULT_LLAMACPP_THREADS), not the wasm backend's.
  const threads = (m: RateMeasurement) => (m.engine === 'llama.cpp' ? '' : `, ${m.wasmThreads} wasm thr`);
  const what = (m: RateMeasurement) => `${m.tokensPerSecond.toFixed(1)} (${m.engine ?? 'tfjs'}${threads(m)}${m.kind === 'train' ? `, ${m.maxLength} tok` : ''})`;
  say(`| ${kind} ${a.model} | ${what(b)} | ${what(a)} | ${ratio(a.tokensPerSecond, b.tokensPerSecond)} |`);
}
say('\n| stage | work (after) | before h | after h | before / after |');
say('|---|---|---:|---:|---:|');
for (const s of est.after.stages) {
  const b = est.before.stages.find((x) => x.stage === s.stage);
  say(`| ${s.stage} | ${s.what} | ${b ? h(b.seconds) : '–'} | ${h(s.seconds)} | ${b ? ratio(b.seconds, s.seconds) : '–'} |`);
}
say(`| total | | ${h(est.before.seconds)} | ${h(est.after.seconds)} | ${ratio(est.before.seconds, est.after.seconds)} |`);

const checks = runs.map((dir) => {
  const run = readRunStages(dir);
  const config = run.config ?? after;
  say(`\n${dir}: ${run.stages.length} finished stages (${run.source}${run.config ? '; config from run.json' : `; no run.json, config ${configFile}`})`);
  say('| stage | estimate stage | measured s | after estimate s | measured / estimate |');
  say('|---|---|---:|---:|---:|');
  const groups = new Map<string, { ms: number; est: number }>();
  const rows = run.stages.map(([stage, ms]) => {
    const group = estimateStageOf(stage);
    const e = stageSeconds(stage, config, data, rates.after);
    const cached = e !== null && ms / 1000 < CACHED_BELOW * e;
    say(`| ${stage} | ${group ?? '(not estimated)'} | ${(ms / 1000).toFixed(1)} | ${e === null ? '–' : e.toFixed(1)} | ${e ? ratio(ms / 1000, e) : '–'}${cached ? ' (cached: left out)' : ''} |`);
    if (group && e !== null && !cached) {
      const g = groups.get(group) ?? { ms: 0, est: 0 };
      groups.set(group, { ms: g.ms + ms, est: g.est + e });
    }
    return { stage, group, ms, estimateSeconds: e, cached };
  });
  for (const [group, g] of groups) say(`| **${group}** (finished stages) | | ${(g.ms / 1000).toFixed(1)} | ${g.est.toFixed(1)} | ${ratio(g.ms / 1000, g.est)} |`);
  return { dir, source: run.source, rows };
});

mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, JSON.stringify({ started, ended, data, measured, estimate: est, runs: checks, table: lines }, null, 1) + '\n');
console.log(`\nwritten: ${outFile}`);
