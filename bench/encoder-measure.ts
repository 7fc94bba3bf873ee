// The measurements of the encoder benchmarks, shared by Node (encoder.bench.ts) and Chromium
// (pages/encoder-bench.ts): encode throughput, one InfoNCE training step (plain and GradCache), and the
// transformers.js baseline on the ONNX export of the same weights. No Node APIs here.
// Every timing excludes a warm-up; figures are wall-clock on whatever backend is active.
import * as tf from '@tensorflow/tfjs-core';
import { BertEncoder, MAX_ATTENTION_ELEMENTS } from '../src/encoder/encoder.ts';
import { batchGrads, textGroup, type RepLoss } from '../src/train/gradcache.ts';
import { expandQueries, prepareDocs } from '../src/train/expansion.ts';
import { infoNceLoss } from '../src/train/infonce.ts';
import { AdamW, clipGradNorm } from '../src/train/optimizer.ts';
import { temperatureOf, trainSettings } from '../src/train/settings.ts';
import { deriveSeed } from '../src/util/random.ts';
import type { EncodeFigures, TrainFigures } from './encoder-results.ts';

/** The same model and tokenizer with another truncation length (no reload). */
export function withMaxLength(enc: BertEncoder, maxLength: number): BertEncoder {
  return new BertEncoder(enc.model, enc.tokenizer, { ...enc.settings, maxLength }, enc.configJson);
}

export interface BatchPlan {
  /** Text indices, longest first (encode()'s order). */
  order: number[];
  /** Rows of each batch encode() runs, in order. */
  rows: number[];
  tokens: number;
  paddedTokens: number;
}

/**
 * The batches encode() forms (src/encoder/encoder.ts, mirrored here): texts sorted longest first, each
 * batch at most `batchSize` rows and few enough that one layer's attention scores (rows × heads × len²)
 * stay under MAX_ATTENTION_ELEMENTS, len being the batch's longest text.
 */
export function batchPlan(enc: BertEncoder, texts: string[], batchSize: number): BatchPlan {
  const lengths = texts.map((t) => enc.tokenIds(t, 'doc').length);
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[b] - lengths[a] || a - b);
  const rows: number[] = [];
  let paddedTokens = 0;
  for (let s = 0; s < order.length; ) {
    const len = lengths[order[s]];
    const cap = Math.max(1, Math.min(batchSize, Math.floor(MAX_ATTENTION_ELEMENTS / (enc.config.numHeads * len * len))));
    const r = Math.min(cap, order.length - s);
    rows.push(r);
    paddedTokens += r * len;
    s += r;
  }
  return { order, rows, tokens: lengths.reduce((a, b) => a + b, 0), paddedTokens };
}

/** Texts in the 'small' warm-up: the longest few, so the first allocations and JIT happen before timing. */
const WARMUP_TEXTS = 4;
export type Warmup = 'small' | 'full';

/**
 * Times enc.encode(texts) after a warm-up: 'small' encodes the WARMUP_TEXTS longest texts first (enough
 * on wasm/cpu, where kernels do not depend on shapes); 'full' runs the whole encode once (WebGPU compiles
 * and caches a pipeline per new shape, so only a second pass shows the steady state).
 */
export async function measureEncode(enc: BertEncoder, texts: string[], batchSize: number, warmup: Warmup): Promise<EncodeFigures> {
  const plan = batchPlan(enc, texts, batchSize);
  const warm = warmup === 'full' ? texts : plan.order.slice(0, WARMUP_TEXTS).map((i) => texts[i]);
  await enc.encode(warm, 'doc', { batchSize });
  const t0 = performance.now();
  await enc.encode(texts, 'doc', { batchSize });
  return figures(plan, texts.length, performance.now() - t0);
}

const figures = (plan: BatchPlan, docs: number, ms: number): EncodeFigures => ({
  docs,
  tokens: plan.tokens,
  paddedTokens: plan.paddedTokens,
  largestBatch: Math.max(...plan.rows),
  batches: plan.rows.length,
  ms,
});

export interface TrainOptions {
  /** GradCache chunk; 0 for plain backprop. */
  chunk: number;
  /** Measured steps after the warm-up step. */
  steps: number;
  /** 'small': a 2 + 2 text warm-up step (wasm/cpu); 'full': a full-size one (WebGPU shader compilation). */
  warmup: Warmup;
  /**
   * Run the measured steps under tf.profile to get their peak tensor memory. Only on wasm/cpu: there the
   * profiler adds a clock read per kernel; on WebGPU it would add timestamp queries and flushes.
   */
  peakMemory: boolean;
}

/**
 * One optimizer step of trainRetriever (src/train/trainer.ts), piece for piece: the [queries, docs]
 * groups with train-mode dropout, batchGrads (plain or GradCache) on the contriever-variant InfoNCE,
 * clip_grad_norm to 1, AdamW. Mutates the weights: use a model loaded for the benchmark.
 */
export async function measureTrainStep(enc: BertEncoder, queries: string[], docs: string[], opts: TrainOptions): Promise<TrainFigures> {
  const s = trainSettings({ batchSize: queries.length, gradCacheChunk: opts.chunk, expansionNorm: 'contriever', dropout: true });
  const tau = temperatureOf(s);
  const loss: RepLoss = ([q, d]) => tf.tidy(() => infoNceLoss(expandQueries(q, undefined, s.expansionNorm), prepareDocs(d, s.expansionNorm), tau));
  const optimizer = new AdamW(enc.variables, { weightDecay: s.weightDecay });
  const last = enc.variables[enc.variables.length - 1];
  let call = 0;
  const step = async (qs: string[], ds: string[]) => {
    const seed = deriveSeed(s.seed, call++);
    const t0 = performance.now();
    const groups = [textGroup(enc, qs, 'query', s.dropout, deriveSeed(seed, 0)), textGroup(enc, ds, 'doc', s.dropout, deriveSeed(seed, 2))];
    const r = batchGrads(groups, loss, enc.variables, s.gradCacheChunk);
    const value = (await r.loss.data())[0];
    r.loss.dispose();
    const t1 = performance.now();
    const { grads } = await clipGradNorm(r.grads, s.maxGradNorm);
    optimizer.step(grads, s.lr);
    grads.forEach((g) => g?.dispose());
    await last.data(); // GPU queues run in order: the last variable written means the step is done
    const t2 = performance.now();
    return { stepMs: t2 - t0, gradMs: t1 - t0, optMs: t2 - t1, loss: value };
  };
  try {
    if (opts.warmup === 'full') await step(queries, docs);
    else await step(queries.slice(0, 2), docs.slice(0, 2));
    let sum = { stepMs: 0, gradMs: 0, optMs: 0, loss: 0 };
    const measured = async () => {
      for (let i = 0; i < opts.steps; i++) {
        const r = await step(queries, docs);
        sum = { stepMs: sum.stepMs + r.stepMs, gradMs: sum.gradMs + r.gradMs, optMs: sum.optMs + r.optMs, loss: r.loss };
      }
    };
    let peakBytes: number | null = null;
    if (opts.peakMemory) {
      const resting = tf.memory().numBytes; // weights + AdamW moments (made by the warm-up step)
      peakBytes = (await tf.profile(measured)).peakBytes - resting;
    } else await measured();
    const n = Math.max(1, opts.steps);
    const tokens = [...queries.map((q) => enc.tokenIds(q, 'query').length), ...docs.map((d) => enc.tokenIds(d, 'doc').length)].reduce((a, b) => a + b, 0);
    return {
      queries: queries.length,
      docs: docs.length,
      chunk: opts.chunk,
      tokens,
      steps: opts.steps,
      stepMs: sum.stepMs / n,
      gradMs: sum.gradMs / n,
      optMs: sum.optMs / n,
      loss: sum.loss,
      peakBytes,
    };
  } finally {
    optimizer.dispose();
  }
}

/** What the transformers.js side needs: its feature-extraction pipeline (typed loosely: no .d.ts coupling). */
export interface FeatureExtractor {
  (texts: string[], opts: { pooling: 'mean'; normalize: boolean }): Promise<{ dims: number[]; data: ArrayLike<number>; dispose?: () => void }>;
  /** model_max_length is a getter over tokenizer_config.json in v4: the benchmark sets the config value. */
  tokenizer: { model_max_length: number; _tokenizerConfig: { model_max_length?: number } };
}

/**
 * transformers.js on the same texts in the same batches as ours (batchPlan: encode() sorts by length and
 * caps rows by attention size; the pipeline pads each call to its longest text, so handing it our batches
 * compares the models, not the batching). Mean pooling, no normalisation, truncation at maxLength (its truncation drops the final
 * [SEP] where ours keeps it: same token count). Warm-up: one batch ('batch') or the whole set ('full').
 */
export async function measureTransformersJs(
  extractor: FeatureExtractor,
  enc: BertEncoder,
  texts: string[],
  batchSize: number,
  warmup: Warmup,
): Promise<EncodeFigures> {
  extractor.tokenizer._tokenizerConfig.model_max_length = enc.settings.maxLength; // the pipeline truncates at this
  if (extractor.tokenizer.model_max_length !== enc.settings.maxLength) throw new Error('transformers.js: could not set the truncation length');
  const plan = batchPlan(enc, texts, batchSize);
  const batches: string[][] = [];
  for (let s = 0, b = 0; s < plan.order.length; s += plan.rows[b++]) batches.push(plan.order.slice(s, s + plan.rows[b]).map((i) => texts[i]));
  const run = async (bs: string[][]) => {
    for (const b of bs) (await extractor(b, { pooling: 'mean', normalize: false })).dispose?.();
  };
  await run(warmup === 'full' ? batches : [plan.order.slice(0, WARMUP_TEXTS).map((i) => texts[i])]);
  const t0 = performance.now();
  await run(batches);
  return figures(plan, texts.length, performance.now() - t0);
}

/**
 * Max |ours − transformers.js| over mean-pooled embeddings of short texts (no truncation on either side):
 * both must be running the same weights, else the ratio compares different models.
 */
export async function agreement(extractor: FeatureExtractor, enc: BertEncoder, texts: string[]): Promise<number> {
  const ours = await enc.encode(texts, 'doc', { batchSize: texts.length });
  const theirs = await extractor(texts, { pooling: 'mean', normalize: false });
  let diff = 0;
  for (let i = 0; i < ours.length; i++) diff = Math.max(diff, Math.abs(ours[i] - theirs.data[i]));
  theirs.dispose?.();
  return diff;
}
