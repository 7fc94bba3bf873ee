// Bench page (bench/encoder-webgpu.bench.ts): our encoder on Chromium's WebGPU and transformers.js
// (onnxruntime-web, wasm and webgpu execution providers) on the same texts. The Node side serves the
// model folders and onnxruntime-web's wasm binary from a local HTTP server (nothing leaves the machine)
// and reads the result lines this page logs (RESULT_PREFIX + JSON), stamping them with the load average.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
import { env, pipeline } from '@huggingface/transformers';
import { loadBertEncoder } from '../../src/encoder/encoder.ts';
import { agreement, measureEncode, measureTrainStep, measureTransformersJs, withMaxLength, type FeatureExtractor } from '../encoder-measure.ts';
import { RESULT_PREFIX, type BenchRecord, type Origin } from '../encoder-results.ts';

export interface PageRequest {
  shape: string;
  /** Where the model folders are served, e.g. 'http://127.0.0.1:PORT/bench-models/' (a folder per shape, ONNX under onnx/). */
  modelsUrl: string;
  /** onnxruntime-web's wasm binary (the asyncify build transformers.js 4 loads). */
  ortWasmUrl: string;
  docs: string[];
  queries: string[];
  positives: string[];
  maxLengths: number[];
  batches: number[];
  trainMaxLength: number;
  chunks: number[];
  trainSteps: number;
  /** transformers.js devices to measure as the baseline ('wasm' is single-threaded: no cross-origin isolation). */
  baselines: ('wasm' | 'webgpu')[];
}

declare global {
  interface Window {
    benchEncoder(req: PageRequest): Promise<{ done: true } | { skip: string }>;
  }
}

const MODEL_FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];
const status = document.getElementById('status')!;

window.benchEncoder = async (req) => {
  if (!('gpu' in navigator)) return { skip: 'navigator.gpu is missing: WebGPU is not enabled in this Chromium' };
  const adapter = await (navigator as Navigator & { gpu: GPU }).gpu.requestAdapter();
  if (!adapter) return { skip: 'navigator.gpu.requestAdapter() returned null (no WebGPU adapter, not even SwiftShader)' };
  if (!(await tf.setBackend('webgpu'))) return { skip: 'tfjs could not initialise its webgpu backend' };
  const origin = (): Origin => ({ host: 'Chromium', run: `chromium-${req.shape}`, shape: req.shape, load1: null });
  const emit = (r: BenchRecord) => console.log(`${RESULT_PREFIX}${JSON.stringify(r)}`);
  const log = (s: string) => console.log(`[chromium/${req.shape}] ${s}`);
  status.textContent = 'running';

  const files = new Map<string, Uint8Array>();
  for (const f of MODEL_FILES) {
    const res = await fetch(`${req.modelsUrl}${req.shape}/${f}`);
    if (res.ok) files.set(f, new Uint8Array(await res.arrayBuffer()));
  }
  const base = await loadBertEncoder(files, { settings: { pooling: 'mean', normalize: false, queryPrefix: '', docPrefix: '', maxLength: 512 } });
  log(`loaded on ${tf.getBackend()} (${adapter.info?.description || adapter.info?.vendor || 'adapter'})`);

  // transformers.js 4 treats an http(s) localModelPath as remote and then skips its existence checks
  // (no tokenizer gets loaded): point its "Hub" at the local server instead. Nothing leaves the machine.
  env.allowLocalModels = false;
  env.allowRemoteModels = true;
  env.remoteHost = req.modelsUrl;
  env.remotePathTemplate = '{model}/';
  env.useBrowserCache = false; // the Cache Storage would keep a copy of every model
  const onnx = env.backends.onnx as { wasm: { wasmPaths?: unknown; numThreads?: number } };
  onnx.wasm.wasmPaths = { wasm: req.ortWasmUrl }; // instead of the jsDelivr CDN (offline here)
  onnx.wasm.numThreads = 1;
  const extractors: { label: string; fe: FeatureExtractor }[] = [];
  for (const device of req.baselines) {
    try {
      const fe = (await pipeline('feature-extraction', req.shape, { dtype: 'fp32', device })) as unknown as FeatureExtractor;
      extractors.push({ label: `ort-web ${device}`, fe });
    } catch (e) {
      emit({ ...origin(), kind: 'skip', what: `transformers.js ${device}`, why: (e as Error).message });
    }
  }
  const short = req.queries.slice(0, 4);
  for (const x of short.length ? extractors : []) {
    emit({ ...origin(), kind: 'agree', backend: 'webgpu', baseline: x.label, diff: await agreement(x.fe, base, short), texts: short.length });
  }

  for (const maxLength of req.maxLengths) {
    const enc = withMaxLength(base, maxLength);
    for (const batchSize of req.batches) {
      const figures = await measureEncode(enc, req.docs, batchSize, 'full');
      emit({ ...origin(), kind: 'encode', engine: 'ours', backend: 'webgpu', maxLength, batchSize, figures });
      log(`ours L=${maxLength} B=${batchSize}: ${(figures.ms / 1000).toFixed(1)} s`);
      for (const x of extractors) {
        const f = await measureTransformersJs(x.fe, enc, req.docs, batchSize, x.label.endsWith('webgpu') ? 'full' : 'small');
        emit({ ...origin(), kind: 'encode', engine: 'transformers.js', backend: x.label, maxLength, batchSize, figures: f });
        log(`transformers.js ${x.label} L=${maxLength} B=${batchSize}: ${(f.ms / 1000).toFixed(1)} s`);
      }
    }
  }

  if (req.trainSteps > 0 && req.queries.length > 0) {
    const enc = withMaxLength(base, req.trainMaxLength);
    for (const chunk of [0, ...req.chunks]) {
      const figures = await measureTrainStep(enc, req.queries, req.positives, { chunk, steps: req.trainSteps, warmup: 'full', peakMemory: false });
      emit({ ...origin(), kind: 'train', backend: 'webgpu', maxLength: req.trainMaxLength, figures });
      log(`train ${chunk ? `GradCache ${chunk}` : 'plain'}: ${(figures.stepMs / 1000).toFixed(1)} s/step`);
    }
  }
  base.dispose();
  status.textContent = 'done';
  return { done: true };
};
status.textContent = 'ready';
