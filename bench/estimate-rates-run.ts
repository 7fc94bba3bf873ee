// The per-unit rates behind the experiment estimate (src/pipeline/estimate.ts), measured here on the
// tfjs wasm backend in Node (the backend the page's pipeline runs on without a usable GPU, and the
// runner's default), with the pipeline's own code: generated tokens per second of Q2D expansions
// (generateExpansions on the tfjs decoder), document tokens per second of encoding (encode), tokens per
// second of a retriever training step (trainRetriever: forward + backward + AdamW) and of a DPO step
// (trainDpoAdapter, reference pass included). Each model size is one point; the estimate interpolates
// between points by parameter count. Peer: the first model of each kind, in the same process and run.
//
//   npx tsx bench/estimate-rates.bench.ts [--big]      (the entry; --big adds SmolLM2-135M and all-MiniLM-L6-v2)
//
// Prints one JSON line per measurement and a table to paste into src/pipeline/estimate-rates.ts.
// Options for bench/experiment-walltime.ts (defaults: the behaviour above): --only-big (skip the tiny
// models), --kinds generate,dpo,encode,train (which measurements), --engine tfjs|llama.cpp (who generates:
// llama.cpp loads the GGUF through LlamaCppGenerator, as the runner with llm.engine 'llama.cpp'),
// --gen-prompts N / --gen-tokens N (the SmolLM2 generation sample), --train-max-length N (retriever
// training texts cut to N tokens, config retriever.maxLength), --train-pairs N (pairs in the one timed step;
// the experiment's batch amortises the per-step AdamW pass over more tokens than the default 4),
// --train-chunk N (GradCache chunk, config retriever.gradCacheChunk), --train-warmup (an untimed step first),
// --json FILE (the measurements as JSON).
// XNNPACK threads: EXPANDR_WASM_THREADS, read by useBackend (src/cli/backend.ts).
import { existsSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { useBackend, wasmThreads } from '../src/cli/backend.ts';
import { decoderFilesFromPath } from '../src/cli/model-path.ts';
import { registerGradientsNode } from '../src/cli/tfjs-gradients.ts';
import { loadBertEncoder } from '../src/encoder/encoder.ts';
import { loadDecoderFiles } from '../src/llm/load.ts';
import { modelFilesFromPath } from '../src/model/sources-node.ts';
import { generateExpansions } from '../src/pipeline/expansions.ts';
import { MemoryGenerationCache } from '../src/pipeline/generation-cache.ts';
import { loadTfjsGenerator } from '../src/pipeline/generators.ts';
import { LlamaCppGenerator } from '../src/pipeline/llamacpp-generator.ts';
import type { TextGenerator } from '../src/pipeline/types.ts';
import { trainDpoAdapter } from '../src/pipeline/stages-llm.ts';
import { memoryDpoCheckpointSink } from '../src/train/dpo-checkpoint.ts';
import { trainRetriever } from '../src/train/trainer.ts';
import type { TrainData } from '../src/train/examples.ts';
import { approxTokens } from '../src/pipeline/estimate.ts';
import { scifactTexts } from './scifact-texts.ts';

const ROOT = join(import.meta.dirname, '..');
const argv = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  if (i < 0) return undefined;
  if (i + 1 >= argv.length || argv[i + 1].startsWith('--')) throw new Error(`bench/estimate-rates-run.ts: ${name} needs a value`);
  return argv[i + 1];
};
const whole = (name: string): number | undefined => {
  const v = flag(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`bench/estimate-rates-run.ts: ${name} must be a whole number ≥ 1, got "${v}"`);
  return n;
};
const onlyBig = argv.includes('--only-big');
const big = argv.includes('--big') || onlyBig;
const KINDS = ['generate', 'dpo', 'encode', 'train'] as const;
const kinds = new Set((flag('--kinds') ?? KINDS.join(',')).split(','));
for (const k of kinds) if (!(KINDS as readonly string[]).includes(k)) throw new Error(`bench/estimate-rates-run.ts: --kinds takes ${KINDS.join(',')}, got "${k}"`);
const engine = flag('--engine') ?? 'tfjs';
if (engine !== 'tfjs' && engine !== 'llama.cpp') throw new Error(`bench/estimate-rates-run.ts: --engine must be tfjs or llama.cpp, got "${engine}"`);
const trainMaxLength = whole('--train-max-length');
const trainPairs = whole('--train-pairs');
const trainChunk = whole('--train-chunk');
const trainWarmup = argv.includes('--train-warmup');
const jsonOut = flag('--json');
const SMOL_GGUF = join(ROOT, '.cache/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf');
const DECODERS = [
  ...(onlyBig ? [] : [{ name: 'stories260K', path: join(ROOT, '../shared/models/stories260K'), chat: false, prompts: 8, tokens: 24 }]),
  ...(big ? [{ name: 'SmolLM2-135M-Instruct Q4_1', path: SMOL_GGUF, chat: true, prompts: whole('--gen-prompts') ?? 4, tokens: whole('--gen-tokens') ?? 16 }] : []),
];
const ENCODERS = [
  ...(onlyBig ? [] : [{ name: 'tiny-bert', path: join(ROOT, 'tests/reference/fixtures/tiny-bert'), docs: 64, pairs: 8 }]),
  ...(big ? [{ name: 'all-MiniLM-L6-v2', path: join(ROOT, '.cache/models/all-MiniLM-L6-v2'), docs: 16, pairs: trainPairs ?? 4 }] : []),
];
const DPO_ROW_TOKENS = 48;

const load = () => loadavg()[0].toFixed(1);
const out: Record<string, unknown>[] = [];
const threads = wasmThreads();
const report = (r: Record<string, unknown>) => {
  r = { ...r, wasmThreads: threads, ...(r.kind === 'generate' && { engine }) };
  out.push(r);
  console.log(JSON.stringify({ ...r, load1m: load() }));
};
const seconds = (t0: number) => (performance.now() - t0) / 1000;

interface CountedGenerator {
  gen: TextGenerator;
  /** Tokens generated since the last reset (engine-reported: a sample may stop at EOS before maxTokens). */
  tokens(): number;
  reset(): void;
  /** Pass to generateExpansions: the tfjs generator counts its tokens through progress. */
  work: { onProgress?: (p: { counter?: { done: number } }) => void };
  dispose(): Promise<void>;
}

/** The generator the pipeline would use for `engine`, counting the tokens it generates. */
async function loadGenerator(d: (typeof DECODERS)[number], files: Awaited<ReturnType<typeof decoderFilesFromPath>>): Promise<CountedGenerator> {
  let n = 0;
  if (engine === 'tfjs') {
    const gen = await loadTfjsGenerator(files, { chat: d.chat, name: d.name });
    let last = 0; // the counter of the current generate() call, which restarts at 0 each call
    const onProgress = (p: { counter?: { done: number } }) => {
      const c = p.counter?.done;
      if (c === undefined) return;
      n += c >= last ? c - last : c;
      last = c;
    };
    return { gen, tokens: () => n, reset: () => ((n = 0), (last = 0)), work: { onProgress }, dispose: async () => gen.dispose() };
  }
  if (!d.path.endsWith('.gguf')) throw new Error(`bench/estimate-rates-run.ts: --engine llama.cpp needs a GGUF, ${d.name} is ${d.path} (use --only-big)`);
  const ll = await LlamaCppGenerator.load({ modelPath: d.path, name: d.name, chat: d.chat });
  const gen: TextGenerator = {
    id: ll.id,
    provenance: ll.provenance,
    generate: async (prompts, sampling, work) => {
      const r = await ll.generateWithTimes(prompts, sampling, work);
      n += r.tokens.reduce((a, t) => a + (t?.length ?? 0), 0);
      return r.texts;
    },
  };
  return { gen, tokens: () => n, reset: () => (n = 0), work: {}, dispose: () => ll.dispose() };
}

await registerGradientsNode();
await useBackend('wasm');
const texts = await scifactTexts(64, Math.max(16, trainPairs ?? 0));

for (const d of DECODERS) {
  if (!kinds.has('generate') && !kinds.has('dpo')) break;
  if (!existsSync(d.path)) {
    console.log(`skip ${d.name}: ${d.path} is missing`);
    continue;
  }
  const files = await decoderFilesFromPath(d.path);
  let params = 0;
  for (const w of (await loadDecoderFiles(files)).weights.values()) params += w.shape.reduce((a, b) => a * b, 1);
  if (kinds.has('generate')) {
    const g = await loadGenerator(d, files);
    const queries = texts.queries.slice(0, d.prompts).map((text, i) => ({ id: String(i), text }));
    const sampling = { temperature: 0.8, topP: 0.9, maxTokens: d.tokens, seed: 42 };
    await generateExpansions(g.gen, queries.slice(0, 1), { ...sampling, maxTokens: 2 }, new MemoryGenerationCache()); // warm-up
    g.reset();
    const t0 = performance.now();
    await generateExpansions(g.gen, queries, sampling, new MemoryGenerationCache(), g.work);
    const genS = seconds(t0);
    report({ kind: 'generate', model: d.name, params, prompts: d.prompts, maxTokens: d.tokens, tokens: g.tokens(), seconds: genS, tokensPerSecond: g.tokens() / genS });
    await g.dispose();
  }
  if (!kinds.has('dpo')) continue;

  const pairs = texts.queries.slice(0, 2).map((q, i) => ({ prompt: q, chosen: texts.positives[i].slice(0, 120), rejected: texts.docs[i].slice(0, 120) }));
  const dpo = { steps: 1, batchSize: 2, accumulation: 1, maxLength: DPO_ROW_TOKENS, maxPromptLength: DPO_ROW_TOKENS / 2 };
  const t0 = performance.now();
  await trainDpoAdapter({ files, baseModel: d.name, chat: d.chat, dpo, lora: {}, seed: 42 }, pairs, null, memoryDpoCheckpointSink(), {});
  const dpoS = seconds(t0);
  const dpoTokens = pairs.length * 2 * DPO_ROW_TOKENS;
  report({ kind: 'dpo', model: d.name, params, tokens: dpoTokens, seconds: dpoS, tokensPerSecond: dpoTokens / dpoS, note: 'load + reference pass + 1 step, rows padded to maxLength' });
}

for (const e of ENCODERS) {
  if (!kinds.has('encode') && !kinds.has('train')) break;
  if (!existsSync(e.path)) {
    console.log(`skip ${e.name}: ${e.path} is missing`);
    continue;
  }
  const model = await modelFilesFromPath(e.path);
  const enc = await loadBertEncoder(model.files, { seed: 42 });
  const maxLength = enc.settings.maxLength;
  let params = 0;
  for (const v of enc.model.params.values()) params += v.size;
  const docs = texts.docs.slice(0, e.docs);
  const docTokens = docs.reduce((a, d) => a + Math.min(maxLength, approxTokens(d)), 0);
  await enc.encode(docs.slice(0, 2), 'doc'); // warm-up
  if (kinds.has('encode')) {
    const t0 = performance.now();
    await enc.encode(docs, 'doc', { batchSize: 32 });
    const encS = seconds(t0);
    report({ kind: 'encode', model: e.name, params, maxLength, tokens: docTokens, seconds: encS, tokensPerSecond: docTokens / encS });
  }
  if (!kinds.has('train')) {
    enc.dispose();
    continue;
  }

  const n = e.pairs;
  const data: TrainData = {
    examples: texts.queries.slice(0, n).map((query, i) => ({ qid: String(i), query, positives: [`d${i}`] })),
    docs: new Map(texts.positives.slice(0, n).map((p, i) => [`d${i}`, p])),
  } as TrainData;
  const trainLength = Math.min(maxLength, trainMaxLength ?? maxLength);
  const trainTokens = texts.queries.slice(0, n).reduce((a, q, i) => a + Math.min(trainLength, approxTokens(q)) + Math.min(trainLength, approxTokens(texts.positives[i])), 0);
  const settings = { steps: 1, batchSize: n, seed: 42, ...(trainMaxLength !== undefined && { maxLength: trainMaxLength }), ...(trainChunk !== undefined && { gradCacheChunk: trainChunk }) };
  if (trainWarmup) await trainRetriever(enc, data, { settings });
  const t0 = performance.now();
  await trainRetriever(enc, data, { settings });
  const trainS = seconds(t0);
  report({ kind: 'train', model: e.name, params, maxLength: trainLength, tokens: trainTokens, seconds: trainS, tokensPerSecond: trainTokens / trainS, pairs: n, ...(trainChunk !== undefined && { gradCacheChunk: trainChunk }), warmup: trainWarmup, note: '1 step, batch of all pairs' });
  enc.dispose();
}

console.log(`\nload average (1 min) at the end: ${load()}; ${new Date().toISOString()}`);
for (const r of out) console.log(`| ${r.kind} | ${r.model} | ${r.params} | ${(r.tokensPerSecond as number).toFixed(1)} |`);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(out, null, 1) + '\n');
