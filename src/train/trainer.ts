// The retriever training loop (paper §3.2): optional Contriever-style pretraining on the corpus
// (independent cropping), then InfoNCE on (expanded) train queries against their positives, in-batch
// negatives and an optional BM25 hard negative. AdamW, warmup + linear decay, gradient accumulation,
// optional grad-norm clipping and GradCache. Seeded and resumable: a run cut at step k and resumed from
// its checkpoint ends with the same weights as an uninterrupted one.
import * as tf from '@tensorflow/tfjs-core';
import type { Encoder, TextKind } from '../encoder/types.ts';
import { ExpandrError, throwIfAborted } from '../errors.ts';
import type { WorkOptions } from '../util/progress.ts';
import { deriveSeed } from '../util/random.ts';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, type CheckpointSink, type LossPoint, type TrainCheckpoint } from './checkpoint.ts';
import { CropBatches } from './cropping.ts';
import { SupervisedBatches, type TrainData } from './examples.ts';
import { expandQueries, l2Normalize, prepareDocs } from './expansion.ts';
import { batchGrads, textGroup, type GradTiming, type RepGroup, type RepLoss } from './gradcache.ts';
import { infoNceLoss } from './infonce.ts';
import { AdamW, clipGradNorm, GradAccumulator } from './optimizer.ts';
import { lrAt, warmupSteps } from './schedule.ts';
import { resumeMismatch, supervisedSteps, temperatureOf, trainSettings, type RetrieverTrainSettings } from './settings.ts';

export interface TrainRetrieverOptions extends WorkOptions {
  settings?: Partial<RetrieverTrainSettings>;
  /** Where checkpoints go (every settings.checkpointEvery steps and at the end). */
  checkpoints?: CheckpointSink;
  /** Continue from checkpoints.latest() when there is one. */
  resume?: boolean;
  /** Called after each optimizer step. */
  onStep?: (p: LossPoint) => void;
}

export interface TrainRetrieverResult {
  settings: RetrieverTrainSettings;
  /** Optimizer steps in the run, pretraining included. */
  totalSteps: number;
  lossCurve: LossPoint[];
  /** Loss of the last step (NaN when no step ran). */
  finalLoss: number;
  /** Step the run resumed from, or null. */
  resumedFrom: number | null;
  /** Where this run's step time went, summed over its steps (ms). */
  timing: StepTiming;
}

export interface StepTiming extends GradTiming {
  /** Gradient accumulation, clipping and the AdamW update. */
  optimizerMs: number;
  /** Steps the sums cover. */
  steps: number;
}

type Phase = LossPoint['phase'];

/** Sub-stream of the seed for dropout masks (examples.ts and cropping.ts use 1–4). */
const DROPOUT_STREAM = 5;

/** A short fingerprint of the examples (ids, positives, expansions, negatives): FNV-1a over their JSON. */
export function dataKey(data: TrainData): string {
  let h = 0x811c9dc5;
  const s = JSON.stringify(data.examples);
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return `${data.examples.length}:${(h >>> 0).toString(16)}`;
}

export async function trainRetriever(encoder: Encoder, data: TrainData, opts: TrainRetrieverOptions = {}): Promise<TrainRetrieverResult> {
  const s = trainSettings(opts.settings);
  const key = dataKey(data);
  const sup = supervisedSteps(s, data.examples.length);
  const total = s.pretrainSteps + sup;
  const phaseOf = (step: number): Phase => (step < s.pretrainSteps ? 'pretrain' : 'supervised');
  const tau = temperatureOf(s);
  const variables = encoder.variables;

  const supervised = new SupervisedBatches(data, { seed: s.seed, batchSize: s.batchSize, hardNegatives: s.hardNegatives });
  const crops = s.pretrainSteps
    ? new CropBatches([...data.docs.values()], {
        seed: s.seed,
        batchSize: s.pretrainBatchSize,
        ratioMin: s.cropRatioMin,
        ratioMax: s.cropRatioMax,
        deleteProb: s.cropDeleteProb,
        maxWords: 256,
      })
    : null;

  // Eq. 8–9: groups [queries, expansions?, docs] → InfoNCE on the vectors of the Eq. 8 normalisation.
  const supervisedLoss = (withExpansions: boolean): RepLoss => (reps) => {
    const [q, e, d] = withExpansions ? reps : [reps[0], undefined, reps[1]];
    return tf.tidy(() => infoNceLoss(expandQueries(q, e, s.expansionNorm), prepareDocs(d!, s.expansionNorm), tau));
  };
  // Contriever pretraining: crop i vs crop i of the same document, normalised.
  const cropLoss: RepLoss = ([a, b]) => tf.tidy(() => infoNceLoss(l2Normalize(a), l2Normalize(b), s.pretrainTemperature));

  /** The loss groups of micro-batch `micro` of step `step` (global step; micro-batch index within the phase). */
  const microBatch = (step: number, micro: number): { groups: RepGroup[]; loss: RepLoss } => {
    const dropSeed = deriveSeed(deriveSeed(deriveSeed(s.seed, DROPOUT_STREAM), step), micro);
    const group = (texts: string[], kind: TextKind, g: number) => textGroup(encoder, texts, kind, s.dropout, deriveSeed(dropSeed, g));
    if (phaseOf(step) === 'pretrain') {
      const b = crops!.batch(step); // one micro-batch per pretraining step
      return { groups: [group(b.queries, 'query', 0), group(b.docs, 'doc', 1)], loss: cropLoss };
    }
    const b = supervised.batch((step - s.pretrainSteps) * s.accumulation + micro);
    const groups = [group(b.queries, 'query', 0), ...(b.expansions ? [group(b.expansions, 'query', 1)] : []), group(b.docs, 'doc', 2)];
    return { groups, loss: supervisedLoss(b.expansions !== undefined) };
  };

  const schedule = (phase: Phase) =>
    phase === 'pretrain'
      ? { lr: s.pretrainLr, warmupSteps: warmupSteps(s.pretrainSteps, s.warmupRatio), totalSteps: s.pretrainSteps }
      : { lr: s.lr, warmupSteps: warmupSteps(sup, s.warmupRatio), totalSteps: sup };
  const phaseStart = (phase: Phase) => (phase === 'pretrain' ? 0 : s.pretrainSteps);

  let optimizer = new AdamW(variables, { weightDecay: s.weightDecay });
  let optimizerPhase: Phase = phaseOf(0);
  let lossCurve: LossPoint[] = [];
  let start = 0;
  let resumedFrom: number | null = null;

  if (opts.resume && opts.checkpoints) {
    const c = await opts.checkpoints.latest();
    if (c) {
      const why = resumeMismatch(c.settings, s);
      if (why) throw new ExpandrError(`Cannot resume: the checkpoint was made with other settings (${why}). Use the same settings or start afresh.`);
      if (c.dataKey !== key) throw new ExpandrError(`Cannot resume: the checkpoint was trained on other examples (${c.dataKey}, now ${key}). Use the same data or start afresh.`);
      if (c.weights.length !== variables.length) throw new ExpandrError(`Cannot resume: the checkpoint holds ${c.weights.length} tensors, the encoder has ${variables.length}.`);
      variables.forEach((v, i) => {
        const w = c.weights[i];
        if (w.shape.join() !== v.shape.join()) throw new ExpandrError(`Cannot resume: tensor ${i} is [${w.shape}] in the checkpoint, [${v.shape}] in the encoder.`);
        tf.tidy(() => v.assign(tf.tensor(w.data, w.shape)));
      });
      optimizer.setState(c.optimizer);
      optimizerPhase = c.optimizer.phase;
      lossCurve = [...c.lossCurve];
      start = resumedFrom = c.step;
    }
  }

  const save = async (step: number) => {
    if (!opts.checkpoints) return;
    const phase = phaseOf(step - 1);
    const c: TrainCheckpoint = {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      step,
      settings: s,
      rng: { seed: s.seed, nextMicroBatch: phase === 'pretrain' ? step : (step - s.pretrainSteps) * s.accumulation },
      dataKey: key,
      weights: await Promise.all(variables.map(async (v) => ({ shape: [...v.shape], data: new Float32Array(await v.data()) }))),
      optimizer: { ...(await optimizer.getState()), phase: optimizerPhase },
      lossCurve: [...lossCurve],
    };
    await opts.checkpoints.save(c);
  };

  const timing: StepTiming = { forwardMs: 0, lossMs: 0, backwardMs: 0, optimizerMs: 0, steps: 0 };
  for (let step = start; step < total; step++) {
    throwIfAborted(opts.signal, 'Retriever training');
    const phase = phaseOf(step);
    if (phase !== optimizerPhase) {
      // Pretraining → supervised: a fresh optimizer and schedule, as fine-tuning a pretrained model does.
      optimizer.dispose();
      optimizer = new AdamW(variables, { weightDecay: s.weightDecay });
      optimizerPhase = phase;
    }
    const lr = lrAt(step - phaseStart(phase), schedule(phase));
    const micros = phase === 'pretrain' ? 1 : s.accumulation;
    const acc = new GradAccumulator(variables.length);
    let lossSum = 0;
    for (let m = 0; m < micros; m++) {
      const { groups, loss } = microBatch(step, m);
      const r = batchGrads(groups, loss, variables, s.gradCacheChunk);
      lossSum += (await r.loss.data())[0];
      r.loss.dispose();
      timing.forwardMs += r.timing.forwardMs;
      timing.lossMs += r.timing.lossMs;
      timing.backwardMs += r.timing.backwardMs;
      const tAdd = performance.now();
      acc.add(r.grads);
      timing.optimizerMs += performance.now() - tAdd;
    }
    const tOpt = performance.now();
    let grads = acc.mean();
    if (s.maxGradNorm > 0) grads = (await clipGradNorm(grads, s.maxGradNorm)).grads;
    optimizer.step(grads, lr);
    grads.forEach((g) => g?.dispose());
    timing.optimizerMs += performance.now() - tOpt;
    timing.steps++;

    const point: LossPoint = { step: step + 1, loss: lossSum / micros, lr, phase };
    if (!Number.isFinite(point.loss)) {
      throw new ExpandrError(`Training diverged at step ${step + 1} (loss ${point.loss}). Lower the learning rate or raise the temperature.`);
    }
    lossCurve.push(point);
    opts.onStep?.(point);
    const phaseSteps = phase === 'pretrain' ? s.pretrainSteps : sup;
    opts.onProgress?.({
      stage: phase === 'pretrain' ? 'train:pretrain' : 'train:retriever',
      done: step + 1 - phaseStart(phase),
      total: phaseSteps,
      unit: 'steps',
      text: `loss ${point.loss.toFixed(4)} · lr ${lr.toExponential(2)}`,
    });
    const last = step + 1 === total;
    if (last || (s.checkpointEvery > 0 && (step + 1) % s.checkpointEvery === 0)) await save(step + 1);
    // Let an abort message (worker) or SIGINT (runner) arrive between steps.
    await new Promise((r) => setTimeout(r, 0));
  }
  optimizer.dispose();
  return { settings: s, totalSteps: total, lossCurve, finalLoss: lossCurve.length ? lossCurve[lossCurve.length - 1].loss : NaN, resumedFrom, timing };
}
