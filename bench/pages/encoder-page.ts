// Bench page (bench/encoder-page.bench.ts): the real all-MiniLM-L6-v2 encoding SciFact documents in one
// Chromium page, ours (tfjs: wasm with XNNPACK threads, webgpu) against transformers.js (onnxruntime-web:
// wasm with threads, webgpu) on the same texts in the same batches, rounds interleaved. The page is served
// cross-origin isolated (vite.config.ts), so both wasm engines get their threaded builds. The Node side
// serves the model folders and onnxruntime-web's wasm from a local server (nothing leaves the machine).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { env, pipeline } from '@huggingface/transformers';
import { BertEncoder, loadBertEncoder } from '../../src/encoder/encoder.ts';
import { shareWasmIdentity } from '../../src/util/wasm-identity.ts';
import { prepareWasmKernels, wasmKernelsRelaxed } from '../../src/util/wasm-kernel-module.ts';
import { startKernelHelpers } from '../../workers/wasm-helper-threads-browser.ts';
import { helperSplitTimes } from '../../src/util/wasm-helper-threads.ts';
import { wasmKernelSwitches } from '../../src/util/wasm-kernel-internals.ts';
import { webgpuKernelSwitches } from '../../src/util/webgpu-attention-kernel.ts';
import { batchPlan, type FeatureExtractor } from '../encoder-measure.ts';
import { profileEncodeBatch, type EncodeProfile } from '../encoder-profile.ts';

export type PageBackend = 'wasm' | 'webgpu';

export interface PageRequest {
  /** The sentence-transformers folder (safetensors), URL ending in '/'. */
  modelUrl: string;
  /** transformers.js "Hub" host (URL ending in '/') and model id: `${onnxHost}${onnxId}/onnx/model.onnx`. */
  onnxHost: string;
  onnxId: string;
  /** onnxruntime-web's wasm binary (the asyncify build transformers.js 4 loads) and its JS glue. */
  ortWasmUrl: string;
  ortMjsUrl: string;
  docs: string[];
  /** Docs measured on WebGPU (the first N of docs): SwiftShader runs ~1 GFLOP/s. */
  gpuDocs: number;
  maxLength: number;
  batch: number;
  rounds: number;
  backends: PageBackend[];
  /** Threads for both wasm engines; 0 = navigator.hardwareConcurrency. */
  threads: number;
  /** XNNPACK threads for ours only, when not 0 (else `threads`). */
  tfjsThreads: number;
  profile: boolean;
  /** Max |ours − transformers.js| over normalised embeddings of untruncated docs, else no timing. */
  tolerance: number;
  /** Also time ours with some of our kernels switched off (what each one gains, same rounds). */
  variants: OursVariant[];
}

/** Settings of our kernel switches (wasm-kernel-internals.ts, webgpu-attention-kernel.ts), timed as engine `ours: label`. */
export interface OursVariant {
  label: string;
  backend: PageBackend;
  switches: Partial<typeof wasmKernelSwitches & typeof webgpuKernelSwitches>;
}

/** Sets each switch named in `s` on whichever switch object has it. */
function applySwitches(s: OursVariant['switches']): void {
  for (const [k, v] of Object.entries(s)) {
    if (k in wasmKernelSwitches) (wasmKernelSwitches as Record<string, boolean>)[k] = v;
    if (k in webgpuKernelSwitches) (webgpuKernelSwitches as Record<string, boolean>)[k] = v;
  }
}

export interface RoundTime {
  backend: PageBackend;
  /** 'ours', 'ours: <variant label>' or 'transformers.js'. */
  engine: string;
  round: number;
  ms: number;
  docs: number;
  tokens: number;
}

export interface PageResult {
  crossOriginIsolated: boolean;
  hardwareConcurrency: number;
  tfjsWasmThreads: number;
  ortThreads: number;
  adapter: string;
  agreement: { backend: PageBackend; diff: number; texts: number }[];
  rounds: RoundTime[];
  profile: EncodeProfile | null;
  skips: string[];
}

declare global {
  interface Window {
    benchEncoderPage(req: PageRequest): Promise<PageResult>;
  }
}

// The pooling and truncation settings are set by loadOurs, so the sentence-transformers module files are not needed.
const MODEL_FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];
const WARMUP_TEXTS = 4;
const AGREEMENT_TEXTS = 8;
/** SwiftShader runs ~1 GFLOP/s: fewer texts for the WebGPU gate. */
const AGREEMENT_TEXTS_WEBGPU = 2;
const log = (s: string) => console.log(`[encoder-page] ${s}`);

/**
 * tfjs-wasm with `threads` XNNPACK threads. Its backend.cc caps the pool at emscripten_num_logical_cores()/2
 * (navigator.hardwareConcurrency / 2: 1 on a 2-core machine), read when the module is instantiated, so the
 * count is raised for that moment only (as src/encoder/wasm-threads.ts does with os.cpus in Node).
 */
async function startWasm(threads: number): Promise<number> {
  shareWasmIdentity();
  setWasmPaths({ 'tfjs-backend-wasm.wasm': wasm, 'tfjs-backend-wasm-simd.wasm': wasmSimd, 'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded });
  setThreadsCount(threads);
  Object.defineProperty(navigator, 'hardwareConcurrency', { value: 2 * threads, configurable: true });
  try {
    if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend did not start');
    await tf.ready();
  } finally {
    delete (navigator as unknown as Record<string, unknown>).hardwareConcurrency; // back to Navigator.prototype's getter
  }
  return getThreadsCount();
}

async function loadOurs(url: string, maxLength: number): Promise<BertEncoder> {
  const files = new Map<string, Uint8Array>();
  for (const f of MODEL_FILES) {
    const res = await fetch(`${url}${f}`);
    if (res.ok) files.set(f, new Uint8Array(await res.arrayBuffer()));
  }
  const loaded = await loadBertEncoder(files);
  return new BertEncoder(loaded.model, loaded.tokenizer, { ...loaded.settings, pooling: 'mean', normalize: true, maxLength, queryPrefix: '', docPrefix: '' }, loaded.configJson);
}

async function loadTheirs(req: PageRequest, device: PageBackend, threads: number): Promise<FeatureExtractor> {
  // An http(s) localModelPath counts as remote in transformers.js 4: point its "Hub" at the local server.
  env.allowLocalModels = false;
  env.allowRemoteModels = true;
  env.remoteHost = req.onnxHost;
  env.remotePathTemplate = '{model}/';
  env.useBrowserCache = false;
  const onnx = env.backends.onnx as { wasm: { wasmPaths?: unknown; numThreads?: number } };
  // The glue from the file server too: bundled, onnxruntime-web would start its threads as workers of
  // this page's chunk, which touches the DOM; a cross-origin glue it fetches into a blob: URL of its own.
  onnx.wasm.wasmPaths = { mjs: req.ortMjsUrl, wasm: req.ortWasmUrl };
  onnx.wasm.numThreads = threads;
  const fe = (await pipeline('feature-extraction', req.onnxId, { dtype: 'fp32', device })) as unknown as FeatureExtractor;
  fe.tokenizer._tokenizerConfig.model_max_length = req.maxLength; // the pipeline truncates at this
  if (fe.tokenizer.model_max_length !== req.maxLength) throw new Error('transformers.js: could not set the truncation length');
  return fe;
}

/** Max |ours − theirs| over normalised embeddings of docs both tokenise without truncation. */
async function agreement(enc: BertEncoder, fe: FeatureExtractor, docs: string[], maxLength: number, count: number): Promise<{ diff: number; texts: number }> {
  const short = docs.filter((t) => enc.tokenIds(t, 'doc').length < maxLength).slice(0, count);
  if (!short.length) throw new Error('agreement: no doc under the max length among the bench docs (use more --docs)');
  const ours = await enc.encode(short, 'doc', { batchSize: short.length });
  const theirs = await fe(short, { pooling: 'mean', normalize: true });
  let diff = 0;
  for (let i = 0; i < ours.length; i++) diff = Math.max(diff, Math.abs(ours[i] - theirs.data[i]));
  theirs.dispose?.();
  return { diff, texts: short.length };
}

/** Times both engines on `docs`, same batches (encode()'s plan), alternating which goes first. */
async function timeBackend(backend: PageBackend, enc: BertEncoder, fe: FeatureExtractor, docs: string[], req: PageRequest): Promise<RoundTime[]> {
  const plan = batchPlan(enc, docs, req.batch);
  const batches: string[][] = [];
  for (let s = 0, b = 0; s < plan.order.length; s += plan.rows[b++]) batches.push(plan.order.slice(s, s + plan.rows[b]).map((i) => docs[i]));
  const ours = async (texts: string[]) => void (await enc.encode(texts, 'doc', { batchSize: req.batch }));
  const theirs = async (bs: string[][]) => {
    for (const b of bs) (await fe(b, { pooling: 'mean', normalize: true })).dispose?.();
  };
  // WebGPU compiles a pipeline per new shape: a full pass first; wasm needs only the first allocations.
  const warm = backend === 'webgpu' ? docs : plan.order.slice(0, WARMUP_TEXTS).map((i) => docs[i]);
  await ours(warm);
  await theirs(backend === 'webgpu' ? batches : [warm]);
  const out: RoundTime[] = [];
  const defaults = { ...wasmKernelSwitches, ...webgpuKernelSwitches };
  const engines: Record<string, () => Promise<void>> = { ours: () => ours(docs), 'transformers.js': () => theirs(batches) };
  for (const v of req.variants.filter((x) => x.backend === backend)) {
    engines[`ours: ${v.label}`] = async () => {
      applySwitches(v.switches);
      try {
        await ours(docs);
      } finally {
        applySwitches(defaults);
      }
    };
  }
  const names = Object.keys(engines);
  for (let round = 0; round < req.rounds; round++) {
    const order = names.map((_, k) => names[(k + round) % names.length]); // rotated: none always first
    for (const engine of order) {
      const t0 = performance.now();
      Object.assign(helperSplitTimes, { calls: 0, ownMs: 0, waitMs: 0 });
      await engines[engine]();
      const ms = performance.now() - t0;
      const split = helperSplitTimes.calls ? ` (kernel parts split ${helperSplitTimes.calls}×: own parts ${helperSplitTimes.ownMs.toFixed(0)} ms, then waited ${helperSplitTimes.waitMs.toFixed(0)} ms for the helpers)` : '';
      out.push({ backend, engine, round, ms, docs: docs.length, tokens: plan.tokens });
      log(`${backend} round ${round + 1} ${engine}: ${(ms / 1000).toFixed(2)} s${split}`);
    }
  }
  return out;
}

async function benchEncoderPage(req: PageRequest): Promise<PageResult> {
  const status = document.getElementById('status')!;
  status.textContent = 'running';
  const threads = req.threads || navigator.hardwareConcurrency;
  const result: PageResult = {
    crossOriginIsolated: self.crossOriginIsolated,
    hardwareConcurrency: navigator.hardwareConcurrency,
    tfjsWasmThreads: await startWasm(req.tfjsThreads || threads),
    ortThreads: self.crossOriginIsolated ? threads : 1,
    adapter: '',
    agreement: [],
    rounds: [],
    profile: null,
    skips: [],
  };
  const kernel = await prepareWasmKernels(); // async compile: the main thread may refuse a sync one
  const kernelHelpers = kernel instanceof Error ? 0 : await startKernelHelpers(); // as the app's worker does (workers/tf-backend.ts)
  log(`crossOriginIsolated ${result.crossOriginIsolated}, tfjs-wasm ${result.tfjsWasmThreads} thread(s), compiled wasm kernels (attention, GELU, GEMM): ${kernel instanceof Error ? kernel.message : `${kernel}-memory build, ${wasmKernelsRelaxed() ? 'relaxed SIMD' : 'plain SIMD (no relaxed SIMD here)'}, ${kernelHelpers} kernel helper thread(s)`}`);
  const enc = await loadOurs(req.modelUrl, req.maxLength);
  for (const backend of req.backends) {
    if (backend === 'webgpu') {
      const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
      const adapter = await gpu?.requestAdapter();
      if (!adapter) {
        result.skips.push('webgpu: no WebGPU adapter in this Chromium');
        continue;
      }
      result.adapter = [adapter.info?.vendor, adapter.info?.architecture, adapter.info?.description].filter(Boolean).join(' / ');
      if (!(await tf.setBackend('webgpu'))) {
        result.skips.push('webgpu: tfjs could not start its webgpu backend');
        continue;
      }
    } else if (tf.getBackend() !== 'wasm') await tf.setBackend('wasm');
    const fe = await loadTheirs(req, backend, result.ortThreads);
    const agree = await agreement(enc, fe, req.docs, req.maxLength, backend === 'webgpu' ? AGREEMENT_TEXTS_WEBGPU : AGREEMENT_TEXTS);
    result.agreement.push({ backend, ...agree });
    log(`${backend}: agreement max |Δ| ${agree.diff.toExponential(2)} on ${agree.texts} docs`);
    if (!(agree.diff < req.tolerance)) {
      result.skips.push(`${backend}: agreement ${agree.diff} ≥ tolerance ${req.tolerance}: not timing different computations`);
      continue;
    }
    result.rounds.push(...(await timeBackend(backend, enc, fe, backend === 'webgpu' ? req.docs.slice(0, req.gpuDocs) : req.docs, req)));
    await (fe as unknown as { dispose?: () => Promise<void> }).dispose?.();
  }
  if (req.profile) {
    await tf.setBackend('wasm');
    const plan = batchPlan(enc, req.docs, req.batch);
    result.profile = await profileEncodeBatch(enc, plan.order.slice(0, plan.rows[0]).map((i) => req.docs[i]));
  }
  enc.model.dispose();
  status.textContent = 'done';
  return result;
}

// onnxruntime-web starts its wasm threads as module workers of the script it is bundled in — this page's
// chunk — so this module also runs in workers, where there is no document: set up the page only in the page.
if (typeof document !== 'undefined') {
  window.benchEncoderPage = benchEncoderPage;
  document.getElementById('status')!.textContent = 'ready';
}
