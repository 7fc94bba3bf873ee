// Child process of encoder.bench.ts: one backend, one model shape, the parts and configurations it is
// given. Prints one RESULT_PREFIX JSON line per figure on stdout and progress on stderr; a failure leaves
// a 'skip' record naming the measurement. argv[2]: {backend, shape, options, parts} as JSON.
// The encoder registers tfjs gradients statically, which plain Node resolves only with the resolve hook
// (src/cli/tfjs-gradients.ts) installed first: every module that reaches bert.ts is imported after it.
import * as tf from '@tensorflow/tfjs-core';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { registerTfjsResolveHook } from '../src/cli/tfjs-gradients.ts';
import { useBackend, type BackendName } from '../src/cli/backend.ts';
import { readModelDir } from '../src/encoder/node-files.ts';
import { docsPerS, RESULT_PREFIX, tokensPerS, type BenchRecord, type Origin } from './encoder-results.ts';
import type { EncoderBenchOptions } from './encoder.bench.ts';
import type { FeatureExtractor } from './encoder-measure.ts';
import { scifactTexts } from './scifact-texts.ts';

registerTfjsResolveHook();
const { loadBertEncoder } = await import('../src/encoder/encoder.ts');
const m = await import('./encoder-measure.ts');
const { profileEncodeBatch } = await import('./encoder-profile.ts');

/** What one child runs: encode figures (with the baseline), the stage profile, training steps. */
export interface ChildParts {
  encode: boolean;
  /** The ours-vs-transformers.js agreement check (once per shape is enough). */
  agree: boolean;
  profile: boolean;
  train: boolean;
}

const { backend, shape, options: o, parts } = JSON.parse(process.argv[2]) as { backend: BackendName; shape: string; options: EncoderBenchOptions; parts: ChildParts };
const MODELS = join(import.meta.dirname, '../.cache/bench-models');
/** Short texts for the ours-vs-transformers.js agreement check (no truncation on either side). */
const AGREE_TEXTS = 4;

const origin = (): Origin => ({ host: 'Node', run: `node-${backend}-${shape}-${process.pid}`, shape, load1: loadavg()[0] });
const emit = (r: BenchRecord) => process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(r)}\n`);
const log = (s: string) => process.stderr.write(`[${backend}/${shape}] ${s}\n`);

/** The measurement under way, named in the record a failure leaves. */
let current = 'start-up';
const fail = (e: unknown) => {
  const message = e instanceof Error ? e.message : String(e);
  // One short line: the wasm module's own uncaught-exception hook would print its whole source.
  process.stderr.write(`[${backend}/${shape}] ${current} failed: ${e instanceof Error ? e.stack?.split('\n').slice(0, 4).join('\n') : message}\n`);
  emit({ ...origin(), kind: 'skip', what: `${current} · ${shape} · ${backend}`, why: message });
  process.exit(1);
};
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

await useBackend(backend);
const isGpu = backend === 'webgpu';
const warmup = isGpu ? 'full' : 'small';
const texts = await scifactTexts(o.docs, o.trainPairs);
const t0 = performance.now();
// `shape` names a folder of .cache/bench-models, or is an absolute path (bench/gpu.bench.ts: the real MiniLM).
const base = await loadBertEncoder(await readModelDir(resolve(MODELS, shape)), {
  settings: { pooling: 'mean', normalize: false, queryPrefix: '', docPrefix: '', maxLength: 512 },
});
log(`loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s on ${tf.getBackend()}`);

try {
  if (parts.encode) await encodePart();
  if (parts.profile && o.profileLength > 0 && !isGpu) await profilePart();
  if (parts.train && o.trainPairs > 0 && o.trainSteps > 0) await trainPart();
} catch (e) {
  fail(e);
}
process.exit(0); // Dawn (webgpu) keeps the event loop alive otherwise

async function encodePart(): Promise<void> {
  // transformers.js (Node build: onnxruntime-node, CPU) on the ONNX export of the same weights.
  const extractors: { label: string; fe: FeatureExtractor }[] = [];
  if (o.baseline) {
    const { pipeline, env } = await import('@huggingface/transformers');
    env.allowLocalModels = true;
    env.allowRemoteModels = false;
    env.localModelPath = `${MODELS}/`;
    for (const threads of o.ortThreads) {
      const session_options = threads > 0 ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {};
      const fe = (await pipeline('feature-extraction', shape, { dtype: 'fp32', device: 'cpu', session_options })) as unknown as FeatureExtractor;
      extractors.push({ label: `ort-node cpu ${threads > 0 ? `${threads}T` : 'default T'}`, fe });
    }
    if (extractors.length && parts.agree && texts.queries.length) {
      current = 'agreement check';
      const short = texts.queries.slice(0, AGREE_TEXTS);
      emit({ ...origin(), kind: 'agree', backend, baseline: extractors[0].label, diff: await m.agreement(extractors[0].fe, base, short), texts: short.length });
    }
  }
  for (const maxLength of o.maxLengths) {
    const enc = m.withMaxLength(base, maxLength);
    for (const batchSize of o.batches) {
      // transformers.js first: if ours runs out of memory, the process ends, and its figure is kept.
      for (const x of extractors) {
        current = `transformers.js ${x.label} encode L=${maxLength} B=${batchSize}`;
        const f = await m.measureTransformersJs(x.fe, enc, texts.docs, batchSize, 'small');
        emit({ ...origin(), kind: 'encode', engine: 'transformers.js', backend: x.label, maxLength, batchSize, figures: f });
        log(`transformers.js (${x.label}) L=${maxLength} B=${batchSize}: ${docsPerS(f).toFixed(2)} docs/s`);
      }
      current = `ours encode L=${maxLength} B=${batchSize}`;
      const figures = await m.measureEncode(enc, texts.docs, batchSize, warmup);
      emit({ ...origin(), kind: 'encode', engine: 'ours', backend, maxLength, batchSize, figures });
      log(`ours L=${maxLength} B=${batchSize}: ${docsPerS(figures).toFixed(2)} docs/s, ${tokensPerS(figures).toFixed(0)} tokens/s`);
    }
  }
}

async function profilePart(): Promise<void> {
  current = `profile L=${o.profileLength} B=${o.profileBatch}`;
  const enc = m.withMaxLength(base, o.profileLength);
  const plan = m.batchPlan(enc, texts.docs, o.profileBatch);
  const longest = plan.order.slice(0, o.profileBatch).map((i) => texts.docs[i]);
  emit({ ...origin(), kind: 'profile', backend, maxLength: o.profileLength, profile: await profileEncodeBatch(enc, longest) });
  log('profile done');
}

async function trainPart(): Promise<void> {
  const enc = m.withMaxLength(base, o.trainMaxLength);
  for (const chunk of [...(o.trainPlain ? [0] : []), ...o.chunks]) {
    current = `train ${chunk ? `GradCache ${chunk}` : 'plain'} ${o.trainPairs} + ${o.trainPairs} at L=${o.trainMaxLength}`;
    const figures = await m.measureTrainStep(enc, texts.queries, texts.positives, {
      chunk,
      steps: o.trainSteps,
      warmup,
      peakMemory: o.peakMemory && !isGpu,
    });
    emit({ ...origin(), kind: 'train', backend, maxLength: o.trainMaxLength, figures });
    log(`train ${chunk ? `GradCache ${chunk}` : 'plain'}: ${(figures.stepMs / 1000).toFixed(2)} s/step`);
  }
}
