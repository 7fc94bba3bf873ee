// The Chromium half of bench/gpu.bench.ts, in one headless Chromium (GPU flags) over one vite build of the
// three bench pages it drives, each unchanged:
//   encoder  bench/pages/encoder-page.*: all-MiniLM-L6-v2 (real weights) ours on tfjs-webgpu against
//            transformers.js on onnxruntime-web's WebGPU provider, agreement gate first, rounds interleaved
//   train    bench/pages/encoder-bench.*: one InfoNCE step of the same model on tfjs-webgpu (after a
//            full-size warm-up step)
//   decoder  tests/browser/pages/wllama-generate.*: the tfjs decoder on webgpu (and llama.cpp through wllama
//            on the CPU as a peer) generating from Q2D prompts; every mode × batch runs twice, the first
//            pass compiling WebGPU's pipelines, and only the second is reported
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { CHROMIUM, startHarness } from '../tests/browser/harness.ts';
import { scifactQ2dPrompts, SMOLLM2_GGUF, SMOLLM2_GGUF_NAME, WLLAMA_PAGE } from '../tests/browser/wllama-files.ts';
import type { BenchRecord as WllamaRecord, BenchRequest as WllamaRequest } from '../tests/browser/pages/wllama-generate.worker.ts';
import { RESULT_PREFIX, type BenchRecord } from './encoder-results.ts';
import { chromiumAdapter, chromiumVersion, type AdapterReport } from './gpu-detect.ts';
import { GPU_CHROMIUM_FLAGS } from './gpu-env.ts';
import { median, type Figure, type Skip } from './gpu-figures.ts';
import type { GpuBenchOptions } from './gpu-options.ts';
import { serveFolders } from './gpu-serve.ts';
import type { PageRequest as EncoderPageRequest } from './pages/encoder-page.ts';
import type { PageRequest as TrainPageRequest } from './pages/encoder-bench.ts';
import { scifactTexts } from './scifact-texts.ts';

const ROOT = resolve(import.meta.dirname, '..');
const MODELS = join(ROOT, '.cache/models');
const MODEL_ID = 'all-MiniLM-L6-v2';
const ONNX_ID = 'all-MiniLM-L6-v2-onnx';
const ORT_DIST = join(ROOT, 'node_modules/onnxruntime-web/dist');
/** The onnxruntime-web build transformers.js 4 loads where WebGPU exists. */
const ORT_WASM = 'ort-wasm-simd-threaded.asyncify.wasm';
const ENCODER_PAGE = 'bench/pages/encoder-page.html';
const TRAIN_PAGE = 'bench/pages/encoder-bench.html';
/** Same weights, fp32 both sides, summation order apart: max |Δ| on unit vectors (as encoder-page.bench.ts). */
const AGREEMENT_TOLERANCE = 1e-4;
/**
 * The page's agreement gate compares untruncated embeddings, so it needs docs shorter than the max length:
 * the first words of the shortest SciFact docs go after the timed ones (the page times the first `gpuDocs`
 * only). 20 words are 30-50 WordPiece tokens of SciFact's biomedical text: under 64.
 */
const AGREEMENT_DOCS = 16;
const AGREEMENT_WORDS = 20;
const SCIFACT_DOCS = 5183;

export interface ChromiumResult {
  version: string | null;
  flags: string[];
  adapter: AdapterReport;
  crossOriginIsolated: boolean | null;
  figures: Figure[];
  skips: Skip[];
}

type Log = (s: string) => void;

export async function chromiumRuns(o: GpuBenchOptions, log: Log): Promise<ChromiumResult> {
  const flags = o.gpuFlags ? GPU_CHROMIUM_FLAGS : [];
  const out: ChromiumResult = { version: chromiumVersion(CHROMIUM), flags, adapter: { ok: false, why: 'not asked' }, crossOriginIsolated: null, figures: [], skips: [] };
  const files = await serveFolders({ models: MODELS, 'ort-wasm': ORT_DIST, gguf: join(SMOLLM2_GGUF, '..') });
  log(`Chromium: building the bench pages (vite) and starting ${out.version ?? CHROMIUM} with ${flags.join(' ') || 'the harness flags only'}`);
  const h = await startHarness(flags, { pages: [ENCODER_PAGE, TRAIN_PAGE, WLLAMA_PAGE] });
  const open = async (path: string, ready: string): Promise<Page> => {
    const page = await h.newPage();
    page.setDefaultTimeout(0); // SwiftShader runs take many minutes; nothing here should time out by itself
    page.on('crash', () => log(`[page] ${path}: the page crashed`));
    await page.goto(h.url + path);
    await page.locator('#status', { hasText: ready }).waitFor();
    return page;
  };
  const guard = async (part: Skip['part'], what: string, run: () => Promise<void>) => {
    try {
      await run();
    } catch (e) {
      const why = `the page failed: ${(e as Error).message.split('\n')[0]}`;
      log(`Chromium ${part} (${what}): ${why}`);
      out.skips.push({ part, host: 'Chromium', what, why });
    }
  };
  try {
    const first = await open(ENCODER_PAGE, 'ready');
    out.adapter = await chromiumAdapter(first);
    out.crossOriginIsolated = await first.evaluate(() => self.crossOriginIsolated);
    if (!out.adapter.ok) {
      for (const part of o.parts) out.skips.push({ part, host: 'Chromium', what: 'everything', why: `no WebGPU adapter: ${out.adapter.why}` });
      return out;
    }
    if (o.parts.includes('encoder')) await guard('encoder', 'encode', () => encoder(first, o, files.url, out, log));
    await first.close();
    if (o.parts.includes('train')) await guard('train', 'InfoNCE step', async () => train(await open(TRAIN_PAGE, 'ready'), o, files.url, out, log));
    if (o.parts.includes('train')) out.skips.push({ part: 'train', host: 'Chromium', what: 'DPO step', why: 'no bench page runs DPO in Chromium; the DPO step is measured in Node (Dawn)' });
    if (o.parts.includes('decoder')) await guard('decoder', 'generate', async () => decoder(await open(WLLAMA_PAGE, 'ready'), o, files.url, out, log));
  } finally {
    await h.close().catch((e: Error) => log(`closing the browser: ${e.message.split('\n')[0]}`));
    await files.close();
  }
  return out;
}

async function encoder(page: Page, o: GpuBenchOptions, url: string, out: ChromiumResult, log: Log): Promise<void> {
  page.on('console', (m) => (m.text().startsWith('[encoder-page]') || m.type() === 'error') && log(`[page] ${m.text().slice(0, 300)}`));
  const all = (await scifactTexts(SCIFACT_DOCS, 0)).docs;
  const shortest = all.slice(o.docs).sort((a, b) => a.length - b.length).slice(0, AGREEMENT_DOCS).map((d) => d.split(/\s+/).slice(0, AGREEMENT_WORDS).join(' '));
  const docs = [...all.slice(0, o.docs), ...shortest];
  const req: EncoderPageRequest = {
    modelUrl: `${url}models/${MODEL_ID}/`,
    onnxHost: `${url}models/`,
    onnxId: ONNX_ID,
    ortWasmUrl: `${url}ort-wasm/${ORT_WASM}`,
    ortMjsUrl: `${url}ort-wasm/${ORT_WASM.replace(/\.wasm$/, '.mjs')}`,
    docs,
    gpuDocs: o.docs,
    maxLength: o.maxLength,
    batch: o.batch,
    rounds: o.rounds,
    backends: ['webgpu'],
    threads: 0,
    tfjsThreads: 0,
    profile: false,
    tolerance: AGREEMENT_TOLERANCE,
    variants: [],
  };
  const r = await page.evaluate((q) => window.benchEncoderPage(q), req);
  for (const s of r.skips) {
    log(`Chromium encoder: not measured: ${s}`);
    out.skips.push({ part: 'encoder', host: 'Chromium', what: 'encode', why: s });
  }
  const agree = r.agreement.find((a) => a.backend === 'webgpu');
  const ours = r.rounds.filter((t) => t.engine === 'ours');
  const theirs = r.rounds.filter((t) => t.engine === 'transformers.js');
  const what = `encode ${o.docs} docs, L ≤ ${o.maxLength}, batch ${o.batch}, ${o.rounds} round(s)`;
  const detail = (ts: typeof ours) => ({ tokens: ts[0].tokens, msPerRound: ts.map((t) => Math.round(t.ms)).join(' '), agreementMaxDiff: agree?.diff ?? null, load1: loadavg()[0] });
  const docsPerS = (ts: typeof ours) => (ts[0].docs / median(ts.map((t) => t.ms))) * 1000;
  if (theirs.length) out.figures.push({ part: 'encoder', host: 'Chromium', engine: 'transformers.js (ort-web webgpu)', what, value: docsPerS(theirs), unit: 'docs/s', detail: detail(theirs) });
  if (ours.length) {
    // Median of per-round ratios: each round times both engines back to back.
    const ratio = theirs.length === ours.length ? median(ours.map((t, i) => theirs[i].ms / t.ms)) : undefined;
    out.figures.push({ part: 'encoder', host: 'Chromium', engine: 'ours (tfjs-webgpu)', what, value: docsPerS(ours), unit: 'docs/s', peer: ratio === undefined ? undefined : 'transformers.js (ort-web webgpu)', ratio, detail: detail(ours) });
  }
}

async function train(page: Page, o: GpuBenchOptions, url: string, out: ChromiumResult, log: Log): Promise<void> {
  const records: BenchRecord[] = [];
  page.on('console', (m) => {
    const t = m.text();
    if (t.startsWith(RESULT_PREFIX)) records.push(JSON.parse(t.slice(RESULT_PREFIX.length)) as BenchRecord);
    else if (t.startsWith('[chromium/') || m.type() === 'error') log(`[page] ${t.slice(0, 300)}`);
  });
  const texts = await scifactTexts(0, o.trainPairs);
  const req: TrainPageRequest = {
    shape: MODEL_ID,
    modelsUrl: `${url}models/`,
    ortWasmUrl: `${url}ort-wasm/${ORT_WASM}`,
    docs: [],
    queries: texts.queries,
    positives: texts.positives,
    maxLengths: [],
    batches: [],
    trainMaxLength: o.trainMaxLength,
    chunks: [],
    trainSteps: 1,
    baselines: [],
  };
  const r = await page.evaluate((q) => window.benchEncoder(q), req);
  if ('skip' in r) out.skips.push({ part: 'train', host: 'Chromium', what: 'InfoNCE step', why: r.skip });
  for (const rec of records) {
    if (rec.kind === 'skip') out.skips.push({ part: 'train', host: 'Chromium', what: rec.what, why: rec.why });
    if (rec.kind !== 'train') continue;
    const f = rec.figures;
    out.figures.push({
      part: 'train',
      host: 'Chromium',
      engine: 'ours (tfjs-webgpu)',
      what: `InfoNCE step ${f.queries} + ${f.docs} at L ≤ ${rec.maxLength} (plain backprop)`,
      value: f.stepMs / 1000,
      unit: 's/step',
      detail: { tokens: f.tokens, fwdBwdS: f.gradMs / 1000, clipAdamWS: f.optMs / 1000, loss: f.loss, load1: loadavg()[0] },
    });
  }
  await page.close();
}

async function decoder(page: Page, o: GpuBenchOptions, url: string, out: ChromiumResult, log: Log): Promise<void> {
  page.on('console', (m) => !m.text().startsWith('BENCH ') && log(`[page] ${m.text().slice(0, 300)}`));
  const req: WllamaRequest = {
    ggufUrl: `${url}gguf/${encodeURIComponent(SMOLLM2_GGUF_NAME)}`,
    name: SMOLLM2_GGUF_NAME,
    prompts: scifactQ2dPrompts(Math.max(...o.batches)),
    maxTokens: o.newTokens,
    batches: o.batches,
    modes: [...o.modes, ...o.modes], // the first pass warms up (WebGPU pipelines compile per new shape)
    wllamaThreads: o.wllamaThreads,
    tfjsBackends: ['webgpu'],
    webgpuMaxTokens: o.newTokens,
    sampling: { temperature: 0.8, topP: 0.9, seed: 1 },
  };
  const all = (await page.evaluate((q) => window.wllamaPage('bench', q), req)) as WllamaRecord[];
  const measured = all.slice(all.length / 2); // the second pass
  if (!measured.some((r) => r.engine === 'tfjs decoder' && r.backend === 'webgpu')) out.skips.push({ part: 'decoder', host: 'Chromium', what: 'tfjs decoder on webgpu', why: 'the worker could not start tfjs-webgpu (see the page log)' });
  for (const r of measured) {
    const ours = r.engine === 'tfjs decoder';
    const peer = ours ? measured.find((p) => p.engine !== 'tfjs decoder' && p.mode === r.mode && p.batch === r.batch) : undefined;
    const peerName = (p: WllamaRecord) => `llama.cpp (wllama, CPU, ${p.threads} thread${p.threads === 1 ? '' : 's'})`;
    out.figures.push({
      part: 'decoder',
      host: 'Chromium',
      engine: ours ? `ours (tfjs-${r.backend})` : peerName(r),
      what: `generate ${r.mode}, batch ${r.batch}, ${o.newTokens} new tokens (Q2D prompts, ${r.promptTokens} prompt tokens)`,
      value: r.tokensPerS,
      unit: 'tokens/s',
      peer: peer ? peerName(peer) : undefined,
      ratio: peer ? r.tokensPerS / peer.tokensPerS : undefined,
      detail: { newTokens: r.newTokens, s: r.ms / 1000, loadS: r.loadMs / 1000, load1: loadavg()[0] },
    });
  }
  await page.close();
}
