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
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { useBackend } from '../src/cli/backend.ts';
import { decoderFilesFromPath } from '../src/cli/model-path.ts';
import { registerGradientsNode } from '../src/cli/tfjs-gradients.ts';
import { loadBertEncoder } from '../src/encoder/encoder.ts';
import { loadDecoderFiles } from '../src/llm/load.ts';
import { modelFilesFromPath } from '../src/model/sources-node.ts';
import { generateExpansions } from '../src/pipeline/expansions.ts';
import { MemoryGenerationCache } from '../src/pipeline/generation-cache.ts';
import { loadTfjsGenerator } from '../src/pipeline/generators.ts';
import { trainDpoAdapter } from '../src/pipeline/stages-llm.ts';
import { memoryDpoCheckpointSink } from '../src/train/dpo-checkpoint.ts';
import { trainRetriever } from '../src/train/trainer.ts';
import type { TrainData } from '../src/train/examples.ts';
import { approxTokens } from '../src/pipeline/estimate.ts';
import { scifactTexts } from './scifact-texts.ts';

const ROOT = join(import.meta.dirname, '..');
const big = process.argv.includes('--big');
const DECODERS = [
  { name: 'stories260K', path: join(ROOT, '../shared/models/stories260K'), chat: false, prompts: 8, tokens: 24 },
  ...(big ? [{ name: 'SmolLM2-135M-Instruct Q4_1', path: join(ROOT, '.cache/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf'), chat: true, prompts: 4, tokens: 16 }] : []),
];
const ENCODERS = [
  { name: 'tiny-bert', path: join(ROOT, 'tests/reference/fixtures/tiny-bert'), docs: 64, pairs: 8 },
  ...(big ? [{ name: 'all-MiniLM-L6-v2', path: join(ROOT, '.cache/models/all-MiniLM-L6-v2'), docs: 16, pairs: 4 }] : []),
];
const DPO_ROW_TOKENS = 48;

const load = () => loadavg()[0].toFixed(1);
const out: Record<string, unknown>[] = [];
const report = (r: Record<string, unknown>) => {
  out.push(r);
  console.log(JSON.stringify({ ...r, load1m: load() }));
};
const seconds = (t0: number) => (performance.now() - t0) / 1000;

await registerGradientsNode();
await useBackend('wasm');
const texts = await scifactTexts(64, 16);

for (const d of DECODERS) {
  if (!existsSync(d.path)) {
    console.log(`skip ${d.name}: ${d.path} is missing`);
    continue;
  }
  const files = await decoderFilesFromPath(d.path);
  let params = 0;
  for (const w of (await loadDecoderFiles(files)).weights.values()) params += w.shape.reduce((a, b) => a * b, 1);
  const gen = await loadTfjsGenerator(files, { chat: d.chat, name: d.name });
  const queries = texts.queries.slice(0, d.prompts).map((text, i) => ({ id: String(i), text }));
  const sampling = { temperature: 0.8, topP: 0.9, maxTokens: d.tokens, seed: 42 };
  await generateExpansions(gen, queries.slice(0, 1), { ...sampling, maxTokens: 2 }, new MemoryGenerationCache()); // warm-up
  let t0 = performance.now();
  await generateExpansions(gen, queries, sampling, new MemoryGenerationCache());
  const genS = seconds(t0);
  report({ kind: 'generate', model: d.name, params, tokens: d.prompts * d.tokens, seconds: genS, tokensPerSecond: (d.prompts * d.tokens) / genS });
  gen.dispose?.();

  const pairs = texts.queries.slice(0, 2).map((q, i) => ({ prompt: q, chosen: texts.positives[i].slice(0, 120), rejected: texts.docs[i].slice(0, 120) }));
  const dpo = { steps: 1, batchSize: 2, accumulation: 1, maxLength: DPO_ROW_TOKENS, maxPromptLength: DPO_ROW_TOKENS / 2 };
  t0 = performance.now();
  await trainDpoAdapter({ files, baseModel: d.name, chat: d.chat, dpo, lora: {}, seed: 42 }, pairs, null, memoryDpoCheckpointSink(), {});
  const dpoS = seconds(t0);
  const dpoTokens = pairs.length * 2 * DPO_ROW_TOKENS;
  report({ kind: 'dpo', model: d.name, params, tokens: dpoTokens, seconds: dpoS, tokensPerSecond: dpoTokens / dpoS, note: 'load + reference pass + 1 step, rows padded to maxLength' });
}

for (const e of ENCODERS) {
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
  let t0 = performance.now();
  await enc.encode(docs, 'doc', { batchSize: 32 });
  const encS = seconds(t0);
  report({ kind: 'encode', model: e.name, params, maxLength, tokens: docTokens, seconds: encS, tokensPerSecond: docTokens / encS });

  const n = e.pairs;
  const data: TrainData = {
    examples: texts.queries.slice(0, n).map((query, i) => ({ qid: String(i), query, positives: [`d${i}`] })),
    docs: new Map(texts.positives.slice(0, n).map((p, i) => [`d${i}`, p])),
  } as TrainData;
  const trainTokens = texts.queries.slice(0, n).reduce((a, q, i) => a + Math.min(maxLength, approxTokens(q)) + Math.min(maxLength, approxTokens(texts.positives[i])), 0);
  t0 = performance.now();
  await trainRetriever(enc, data, { settings: { steps: 1, batchSize: n, seed: 42 } });
  const trainS = seconds(t0);
  report({ kind: 'train', model: e.name, params, tokens: trainTokens, seconds: trainS, tokensPerSecond: trainTokens / trainS, note: '1 step, batch of all pairs' });
  enc.dispose();
}

console.log(`\nload average (1 min) at the end: ${load()}; ${new Date().toISOString()}`);
for (const r of out) console.log(`| ${r.kind} | ${r.model} | ${r.params} | ${(r.tokensPerSecond as number).toFixed(1)} |`);
