// The page's worker (wllama-generate.ts): llama.cpp through wllama (src/app/wllama-generator.ts) and the tfjs
// decoder on the same GGUF, in one worker, as the app's core runs them.
//  - 'compare': our prompt ids vs llama.cpp's own chat template + tokenizer; greedy tokens of wllama against
//    the tfjs decoder's argmax teacher-forced along them (with the top-2 gap, so a test can skip close calls)
//    and log-probabilities of both at each step; seeded sampled texts twice (reproducible) and with another seed.
//  - 'bench': tokens/s of wllama (per thread count) and the tfjs decoder (per backend), greedy and sampled,
//    per batch, timed from the prompt pass to the last token (model loading excluded).
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { Wllama, LoggerWithoutDebug } from '@wllama/wllama/esm/index.js';
import { initBackend } from '../../../workers/tf-backend.ts';
import { wllamaAssets } from '../../../src/app/wllama-assets.ts';
import type { WllamaGenerator, WllamaLike } from '../../../src/app/wllama-generator.ts';
import { loadWllamaFromFiles } from '../../../src/app/wllama-model.ts';
import { modelFilesFromBytes, type ModelFiles } from '../../../src/llm/files.ts';
import { encodePrompt, generate } from '../../../src/llm/generate.ts';
import { loadDecoder } from '../../../src/llm/load.ts';
import { createRng, deriveSeed } from '../../../src/util/random.ts';

export type PageCall = { id: number; kind: 'compare'; req: CompareRequest } | { id: number; kind: 'bench'; req: BenchRequest };
export type PageReply = { log: string } | { id: number; result?: unknown; error?: string };

export interface CompareRequest {
  ggufUrl: string;
  name: string;
  prompts: string[];
  maxTokens: number;
  /** Top log-probabilities compared per step. */
  topK: number;
  sampling: { temperature: number; topP: number; seed: number };
  threads?: number;
}

export interface StepComparison {
  /** wllama's greedy token. */
  token: number;
  /** The tfjs decoder's argmax at that step (teacher-forced along wllama's tokens) and its top-2 logit gap. */
  tfjsArgmax: number;
  tfjsGap: number;
  /** max |log p_wllama − log p_tfjs| over wllama's top-K tokens at that step. */
  logProbDiff: number;
}

export interface PromptComparison {
  ourIds: number[];
  llamaIds: number[];
  ourText: string;
  /** llama.cpp's built-in rendering of the chat template. */
  llamaTemplate: string;
  steps: StepComparison[];
  wllamaText: string;
  tfjsText: string;
  sampledA: string;
  sampledB: string;
  sampledOtherSeed: string;
}

export interface BenchRequest {
  ggufUrl: string;
  name: string;
  prompts: string[];
  maxTokens: number;
  batches: number[];
  modes: ('greedy' | 'sampled')[];
  wllamaThreads: number[];
  tfjsBackends: ('wasm' | 'webgpu')[];
  /** New tokens on webgpu (SwiftShader here: far slower), 0 = as maxTokens. */
  webgpuMaxTokens: number;
  sampling: { temperature: number; topP: number; seed: number };
}

export interface BenchRecord {
  engine: string;
  backend: string;
  threads: number;
  mode: 'greedy' | 'sampled';
  batch: number;
  promptTokens: number;
  newTokens: number;
  ms: number;
  tokensPerS: number;
  loadMs: number;
}

const log = (s: string) => self.postMessage({ log: s } satisfies PageReply);

async function fetchGguf(url: string, name: string): Promise<ModelFiles> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return modelFilesFromBytes({ [name]: new Uint8Array(await res.arrayBuffer()) }, name);
}

/** A Wllama we keep hold of (the generator gets it through its `engine` option). */
async function wllamaOn(files: ModelFiles, threads: number | undefined): Promise<{ gen: WllamaGenerator; engine: WllamaLike }> {
  const a = wllamaAssets();
  const engine = new Wllama({ 'single-thread/wllama.wasm': a.singleThread, 'multi-thread/wllama.wasm': a.multiThread }, { logger: LoggerWithoutDebug, suppressNativeLog: true }) as unknown as WllamaLike;
  const gen = await loadWllamaFromFiles(files, { chat: true, threads, engine: async () => engine });
  return { gen, engine };
}

/** log-softmax of a row. */
function logSoftmax(row: Float32Array): Float64Array {
  let max = -Infinity;
  for (const x of row) max = Math.max(max, x);
  let sum = 0;
  for (const x of row) sum += Math.exp(x - max);
  const lse = max + Math.log(sum);
  return Float64Array.from(row, (x) => x - lse);
}

function top2(row: Float32Array): { argmax: number; gap: number } {
  let a = 0;
  let b = -1;
  for (let i = 1; i < row.length; i++) {
    if (row[i] > row[a]) [a, b] = [i, a];
    else if (b < 0 || row[i] > row[b]) b = i;
  }
  return { argmax: a, gap: row[a] - row[b] };
}

async function compare(req: CompareRequest): Promise<{ runtime: unknown; backend: string; prompts: PromptComparison[] }> {
  const { backend } = await initBackend();
  if (backend !== 'wasm') await tf.setBackend('wasm');
  const files = await fetchGguf(req.ggufUrl, req.name);
  const { gen, engine } = await wllamaOn(files, req.threads);
  log(`[wllama] ${gen.id} ${gen.provenance.precision}: ${JSON.stringify(gen.runtime)}`);
  const { model, tokenizer } = await loadDecoder(files);
  if (!tokenizer) throw new Error('the GGUF has no tokenizer');
  const out: PromptComparison[] = [];
  try {
    for (const prompt of req.prompts) {
      const ourIds = gen.promptIds(prompt);
      const llama = await gen.llamaCppPrompt(prompt);
      const greedy = await gen.generateIds(ourIds, { temperature: 0, topP: 1, maxTokens: req.maxTokens, seed: 0 }, 0);
      // Teacher-forced along wllama's greedy tokens: llama.cpp's top-K probabilities and the tfjs logits.
      await engine.kvClear();
      await engine.decode([...ourIds], {});
      const cache = model.createCache(1);
      const steps: StepComparison[] = [];
      try {
        let logits = model.step(cache, [ourIds], [ourIds.map(() => 1)]);
        for (const token of greedy) {
          const row = (await logits.data()) as Float32Array;
          logits.dispose();
          const lp = logSoftmax(row);
          const { argmax, gap } = top2(row);
          const top = await engine.getLogits(req.topK);
          const logProbDiff = Math.max(...top.map((t) => Math.abs(Math.log(t.p) - lp[t.token])));
          steps.push({ token, tfjsArgmax: argmax, tfjsGap: gap, logProbDiff });
          await engine.decode([token], {});
          logits = model.step(cache, [[token]], [[1]]);
        }
        logits.dispose();
      } finally {
        cache.dispose();
      }
      const tfjsRun = await generate(model, [ourIds], { maxNewTokens: req.maxTokens, greedy: true, stopTokens: tokenizer.eosIds });
      const decode = (t: number[]) => tokenizer.decode(t, { previous: ourIds[ourIds.length - 1] });
      const sampling = { ...req.sampling, maxTokens: req.maxTokens };
      const [sampledA] = await gen.generate([prompt], sampling);
      const [sampledB] = await gen.generate([prompt], sampling);
      const [sampledOtherSeed] = await gen.generate([prompt], { ...sampling, seed: req.sampling.seed + 1 });
      const text = (x: string | { failed: string }) => (typeof x === 'string' ? x : `FAILED: ${x.failed}`);
      out.push({
        ourIds,
        llamaIds: llama.ids,
        ourText: llama.text,
        llamaTemplate: llama.template,
        steps,
        wllamaText: decode(greedy),
        tfjsText: decode(tfjsRun.tokens[0]),
        sampledA: text(sampledA),
        sampledB: text(sampledB),
        sampledOtherSeed: text(sampledOtherSeed),
      });
    }
  } finally {
    model.dispose();
    gen.dispose();
  }
  return { runtime: gen.runtime, backend: tf.getBackend(), prompts: out };
}

async function bench(req: BenchRequest): Promise<BenchRecord[]> {
  await initBackend();
  const files = await fetchGguf(req.ggufUrl, req.name);
  const records: BenchRecord[] = [];
  const emit = (r: BenchRecord) => {
    records.push(r);
    log(`BENCH ${JSON.stringify(r)}`);
  };
  const samplingFor = (mode: 'greedy' | 'sampled', maxTokens: number) => ({ ...req.sampling, temperature: mode === 'greedy' ? 0 : req.sampling.temperature, maxTokens });
  // Every engine loaded first, then each mode × batch measured on all of them back to back: a shared
  // machine's load drifts over minutes, and the ratios should compare like with like.
  const engines: { gen: WllamaGenerator; loadMs: number }[] = [];
  const tfjsModels: { backend: string; model: Awaited<ReturnType<typeof loadDecoder>>; loadMs: number; threads: number }[] = [];
  try {
    for (const threads of req.wllamaThreads) {
      const t0 = performance.now();
      const { gen } = await wllamaOn(files, threads);
      engines.push({ gen, loadMs: performance.now() - t0 });
      log(`[wllama] asked ${threads} thread(s): ${JSON.stringify(gen.runtime)}, loaded in ${(performance.now() - t0).toFixed(0)} ms`);
    }
    for (const backend of req.tfjsBackends) {
      if (!(await tf.setBackend(backend))) {
        log(`[tfjs] backend ${backend} unavailable: skipped`);
        continue;
      }
      await tf.ready();
      const t0 = performance.now();
      const model = await loadDecoder(files);
      if (!model.tokenizer) throw new Error('the GGUF has no tokenizer');
      const threads = backend === 'wasm' ? getThreadsCount() : 0;
      tfjsModels.push({ backend, model, loadMs: performance.now() - t0, threads });
      log(`[tfjs] ${backend} (${threads} thread(s)) loaded in ${(performance.now() - t0).toFixed(0)} ms`);
    }
    for (const mode of req.modes) {
      for (const batch of req.batches) {
        for (const { gen, loadMs } of engines) {
          const ids = req.prompts.slice(0, batch).map((p) => gen.promptIds(p));
          const s = performance.now();
          let newTokens = 0;
          // wllama holds one sequence: a batch is its prompts one after another, each with its own seed.
          for (let i = 0; i < ids.length; i++) newTokens += (await gen.generateIds(ids[i], samplingFor(mode, req.maxTokens), deriveSeed(req.sampling.seed, i))).length;
          const ms = performance.now() - s;
          emit({ engine: 'llama.cpp (wllama)', backend: gen.runtime.multiThread ? 'wasm threaded' : 'wasm single-thread', threads: gen.runtime.threads, mode, batch, promptTokens: ids.reduce((a, p) => a + p.length, 0), newTokens, ms, tokensPerS: (newTokens / ms) * 1000, loadMs });
        }
        for (const { backend, model: { model, tokenizer }, loadMs, threads } of tfjsModels) {
          await tf.setBackend(backend);
          const maxTokens = backend === 'webgpu' && req.webgpuMaxTokens > 0 ? req.webgpuMaxTokens : req.maxTokens;
          const ids = req.prompts.slice(0, batch).map((p) => encodePrompt(tokenizer!, p, { chat: true }));
          const sampling = samplingFor(mode, maxTokens);
          const s = performance.now();
          const r = await generate(model, ids, {
            maxNewTokens: maxTokens,
            temperature: sampling.temperature,
            topP: sampling.topP,
            greedy: mode === 'greedy',
            stopTokens: tokenizer!.eosIds,
            padId: tokenizer!.padId,
            coins: (row) => {
              const rng = createRng(deriveSeed(req.sampling.seed, row));
              return () => rng.float();
            },
          });
          const ms = performance.now() - s;
          const newTokens = r.tokens.reduce((a, t) => a + t.length, 0);
          emit({ engine: 'tfjs decoder', backend, threads, mode, batch, promptTokens: ids.reduce((a, p) => a + p.length, 0), newTokens, ms, tokensPerS: (newTokens / ms) * 1000, loadMs });
        }
      }
    }
  } finally {
    for (const { gen } of engines) gen.dispose();
    for (const { model } of tfjsModels) model.model.dispose();
  }
  return records;
}

self.onmessage = async (e: MessageEvent<PageCall>) => {
  const { id, kind, req } = e.data;
  try {
    const result = kind === 'compare' ? await compare(req as CompareRequest) : await bench(req as BenchRequest);
    self.postMessage({ id, result } satisfies PageReply);
  } catch (err) {
    self.postMessage({ id, error: err instanceof Error ? `${err.message}\n${err.stack ?? ''}` : String(err) } satisfies PageReply);
  }
};
