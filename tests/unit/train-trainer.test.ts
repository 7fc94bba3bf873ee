// The training loop: loss goes down on a small task, pretraining by cropping runs and lowers its loss,
// a run cut at step 3 and resumed equals an uninterrupted one, checkpoints round-trip (files, IndexedDB).
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { tinyEncoder, useCpuBackend } from './helpers/tiny-encoder.ts';
import { syntheticTask } from './helpers/train-corpus.ts';
import { errorOf, freshStore, progressLog, sources, tinyFiles } from './helpers/beir-files.ts';
import { trainRetriever } from '../../src/train/trainer.ts';
import { buildTrainData, mineBm25Negatives, type TrainData } from '../../src/train/examples.ts';
import { checkpointFromFiles, checkpointToFiles, memoryCheckpointSink, storeCheckpointSink } from '../../src/train/checkpoint.ts';
import { trainSettings, type RetrieverTrainSettings } from '../../src/train/settings.ts';
import { importBeir } from '../../src/store/import-beir.ts';
import { CancelledError } from '../../src/errors.ts';
import type { Encoder } from '../../src/encoder/types.ts';

/** Resumed vs uninterrupted weights: the same float32 ops in the same order, so equal up to this. */
const RESUME_TOL = 1e-6;

beforeAll(useCpuBackend);

async function task(n = 32, expansions = false): Promise<TrainData> {
  const { docs, queries, qrels } = syntheticTask(n);
  const exp = expansions ? new Map(queries.filter((_, i) => i % 2 === 0).map((q, i) => [q.id, `alpha${i * 2} passage`])) : undefined;
  const { data } = buildTrainData(docs, queries, qrels, { expansions: exp });
  await mineBm25Negatives(data, docs, { depth: 5 });
  return data;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Top-1 accuracy of queries against all documents (dot product of the variant's vectors). */
async function top1(enc: Encoder, data: TrainData): Promise<number> {
  const ids = [...data.docs.keys()];
  const d = tf.tensor2d(await enc.encode([...data.docs.values()], 'doc'), [ids.length, enc.dim]);
  const q = tf.tensor2d(await enc.encode(data.examples.map((e) => e.query), 'query'), [data.examples.length, enc.dim]);
  const best = tf.argMax(tf.matMul(q, d, false, true), 1).dataSync();
  return mean(data.examples.map((e, i) => (e.positives.includes(ids[best[i]]) ? 1 : 0)));
}

describe('trainRetriever', () => {
  it('lowers the loss and improves top-1 on a small task (hard negatives, contriever variant)', async () => {
    const data = await task(32);
    const enc = tinyEncoder({ vocab: 211, hidden: 16, dim: 16, seed: 3 });
    const before = await top1(enc, data);
    const tensorsBefore = tf.memory().numTensors;
    const log = progressLog();
    const r = await trainRetriever(enc, data, {
      settings: { steps: 40, batchSize: 8, lr: 0.02, warmupRatio: 0, dropout: false, seed: 1, hardNegatives: true },
      onProgress: log.onProgress,
    });
    expect(tf.memory().numTensors).toBe(tensorsBefore); // no tensor leaks across 40 steps
    const losses = r.lossCurve.map((p) => p.loss);
    const after = await top1(enc, data);
    console.log(`loss ${mean(losses.slice(0, 5)).toFixed(3)} → ${mean(losses.slice(-5)).toFixed(3)}; top-1 ${before.toFixed(3)} → ${after.toFixed(3)}`);
    expect(mean(losses.slice(-5))).toBeLessThan(0.6 * mean(losses.slice(0, 5)));
    expect(after).toBeGreaterThan(before + 0.2);
    expect(r.finalLoss).toBe(losses[39]);
    // Plain path (no GradCache chunk): the whole step is forward + backward, then the optimizer.
    expect(r.timing).toMatchObject({ steps: 40, forwardMs: 0, lossMs: 0 });
    expect(r.timing.backwardMs).toBeGreaterThan(0);
    expect(r.timing.optimizerMs).toBeGreaterThan(0);
    expect(log.monotone()).toBe(true);
    expect(log.stages().get('train:retriever')).toMatchObject({ done: 40, total: 40, unit: 'steps' });
    expect(log.stages().get('train:retriever')!.text).toMatch(/^loss \d/);
    enc.dispose();
  });

  it('pretrains by independent cropping first (own optimizer and schedule), then trains', async () => {
    const data = await task(32);
    const enc = tinyEncoder({ vocab: 211, hidden: 16, dim: 16, seed: 4 });
    const log = progressLog();
    const r = await trainRetriever(enc, data, {
      settings: { steps: 3, batchSize: 8, pretrainSteps: 30, pretrainBatchSize: 8, pretrainLr: 0.02, warmupRatio: 0, dropout: false },
      onProgress: log.onProgress,
    });
    const pre = r.lossCurve.filter((p) => p.phase === 'pretrain').map((p) => p.loss);
    console.log(`pretraining loss ${mean(pre.slice(0, 5)).toFixed(3)} → ${mean(pre.slice(-5)).toFixed(3)}`);
    expect(pre.length).toBe(30);
    expect(r.lossCurve.filter((p) => p.phase === 'supervised').length).toBe(3);
    expect(mean(pre.slice(-5))).toBeLessThan(mean(pre.slice(0, 5)));
    expect(r.lossCurve[30].lr).toBe(1e-5); // supervised schedule from its own start (no warmup here)
    expect([...log.stages().keys()]).toEqual(['train:pretrain', 'train:retriever']);
    enc.dispose();
  });

  it('resume: 3 steps + checkpoint + 3 steps equals 6 uninterrupted steps', async () => {
    const data = await task(16, true);
    const settings: Partial<RetrieverTrainSettings> = {
      steps: 6,
      batchSize: 4,
      accumulation: 2,
      gradCacheChunk: 3,
      lr: 0.01,
      warmupRatio: 0.34,
      maxGradNorm: 1,
      weightDecay: 0.01,
      dropout: true,
      hardNegatives: true,
      checkpointEvery: 3,
      seed: 11,
      pretrainSteps: 2,
      pretrainBatchSize: 4,
    };
    const fresh = (seed = 1) => tinyEncoder({ vocab: 211, seed, dropout: 0.1 });
    const whole = fresh();
    const full = await trainRetriever(whole, data, { settings });

    const sink = memoryCheckpointSink();
    const first = fresh();
    const stop = new AbortController();
    const err = await errorOf(() =>
      trainRetriever(first, data, { settings, checkpoints: sink, signal: stop.signal, onStep: (p) => p.step === 3 && stop.abort() }),
    );
    expect(err).toBeInstanceOf(CancelledError);
    expect(sink.saved.map((c) => c.step)).toEqual([3]);

    const second = fresh(99); // other initial weights: everything must come from the checkpoint
    const resumed = await trainRetriever(second, data, { settings, checkpoints: sink, resume: true });
    expect(resumed.resumedFrom).toBe(3);
    expect(sink.saved.map((c) => c.step)).toEqual([3, 6, 8]);

    let worst = 0;
    whole.variables.forEach((v, i) => {
      const a = v.dataSync();
      const b = second.variables[i].dataSync();
      a.forEach((x, k) => (worst = Math.max(worst, Math.abs(x - b[k]))));
    });
    console.log(`resume: max |Δweight| after 8 steps (2 pretraining + 6) = ${worst.toExponential(2)}`);
    expect(worst).toBeLessThanOrEqual(RESUME_TOL);
    expect(resumed.lossCurve).toEqual(full.lossCurve);

    // Other settings or other data are refused.
    const e1 = await errorOf(() => trainRetriever(fresh(), data, { settings: { ...settings, lr: 0.02 }, checkpoints: sink, resume: true }));
    expect(e1.message).toMatch(/lr was 0.01, now 0.02/);
    const e2 = await errorOf(async () => trainRetriever(fresh(), await task(12, true), { settings, checkpoints: sink, resume: true }));
    expect(e2.message).toMatch(/other examples/);
    [whole, first, second].forEach((e) => e.dispose());
  });

  it('checkpoints round-trip through files and through IndexedDB artifacts', async () => {
    const data = await task(8);
    const enc = tinyEncoder({ seed: 2 });
    const sink = memoryCheckpointSink();
    await trainRetriever(enc, data, { settings: { steps: 2, batchSize: 4, checkpointEvery: 1 }, checkpoints: sink });
    const c = sink.saved[1];
    expect(c.optimizer.steps.every((s) => s === 2)).toBe(true);
    expect(checkpointFromFiles(checkpointToFiles(c))).toEqual(c);

    const { store } = await freshStore('train-ckpt');
    const { dataset } = await importBeir(store, sources(tinyFiles()), { estimate: async () => ({}) });
    const db = storeCheckpointSink(store, dataset.id);
    expect(await db.latest()).toBeUndefined();
    await db.save(c);
    expect(await db.latest()).toEqual(c);
    store.close();
    enc.dispose();
  });

  it('settings: unknown keys and bad values are refused with the key named', () => {
    expect(() => trainSettings({ batchsize: 3 } as never)).toThrow(/Unknown training setting "batchsize"/);
    expect(() => trainSettings({ batchSize: 0 })).toThrow(/batchSize/);
    expect(() => trainSettings({ expansionNorm: 'cosine' as never })).toThrow(/expansionNorm/);
  });
});
