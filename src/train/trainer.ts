// The retriever's training (paper §3.2): optional Contriever-style pretraining on the corpus
// (independent cropping), then InfoNCE on (expanded) train queries against their positives, in-batch
// negatives and an optional BM25 hard negative, with optional GradCache. The loop (AdamW, warmup +
// linear decay, gradient accumulation, grad-norm clipping, checkpoints, resume) is training-loop.ts;
// this file holds what is the retriever's: batches, losses, dropout streams and the checkpoint record.
// Seeded and resumable: a run cut at step k and resumed from its checkpoint ends with the same weights
// as an uninterrupted one.
import { fnv1aHex } from '../util/fnv1a.ts';
import * as tf from '@tensorflow/tfjs-core';
import type { Encoder, TextKind } from '../encoder/types.ts';
import { ExpandrError } from '../errors.ts';
import { deriveSeed } from '../util/random.ts';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, type LossPoint, type TrainCheckpoint } from './checkpoint.ts';
import { CropBatches } from './cropping.ts';
import { SupervisedBatches, type TrainData } from './examples.ts';
import { expandQueries, l2Normalize, prepareDocs } from './expansion.ts';
import { batchGrads, textGroup, type GradTiming, type RepGroup, type RepLoss } from './gradcache.ts';
import { falseNegativeMask, infoNceLoss } from './infonce.ts';
import { resumeMismatch, supervisedSteps, temperatureOf, trainSettings, type RetrieverTrainSettings } from './settings.ts';
import { runTrainingLoop, type LoopState, type TrainingRunOptions } from './training-loop.ts';

/** Checkpoints (every settings.checkpointEvery steps and at the end), resume, onStep, progress, cancel. */
export interface TrainRetrieverOptions extends TrainingRunOptions<LossPoint, TrainCheckpoint> {
  settings?: Partial<RetrieverTrainSettings>;
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
  return `${data.examples.length}:${fnv1aHex(JSON.stringify(data.examples))}`;
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

  // Eq. 8–9: groups [queries, expansions?, docs] → InfoNCE on the vectors of the Eq. 8 normalisation,
  // a document relevant to a query never counted as its negative.
  const supervisedLoss = (withExpansions: boolean, mask: Uint8Array | null): RepLoss => (reps) => {
    const [q, e, d] = withExpansions ? reps : [reps[0], undefined, reps[1]];
    return tf.tidy(() => infoNceLoss(expandQueries(q, e, s.expansionNorm), prepareDocs(d!, s.expansionNorm), tau, mask));
  };
  // Contriever pretraining: crop i vs crop i of the same document, normalised.
  const cropLoss: RepLoss = ([a, b]) => tf.tidy(() => infoNceLoss(l2Normalize(a), l2Normalize(b), s.pretrainTemperature));

  /** The loss groups of micro-batch `micro` of step `step` (global step; micro-batch index within the phase). */
  const lossGroups = (step: number, micro: number): { groups: RepGroup[]; loss: RepLoss } => {
    const dropSeed = deriveSeed(deriveSeed(deriveSeed(s.seed, DROPOUT_STREAM), step), micro);
    const group = (texts: string[], kind: TextKind, g: number) => textGroup(encoder, texts, kind, s.dropout, deriveSeed(dropSeed, g));
    if (phaseOf(step) === 'pretrain') {
      const b = crops!.batch(step); // one micro-batch per pretraining step
      return { groups: [group(b.queries, 'query', 0), group(b.docs, 'doc', 1)], loss: cropLoss };
    }
    const b = supervised.batch((step - s.pretrainSteps) * s.accumulation + micro);
    const groups = [group(b.queries, 'query', 0), ...(b.expansions ? [group(b.expansions, 'query', 1)] : []), group(b.docs, 'doc', 2)];
    return { groups, loss: supervisedLoss(b.expansions !== undefined, falseNegativeMask(b.docIds, b.positives)) };
  };

  const checkpointOf = (state: LoopState<LossPoint, Phase>): TrainCheckpoint => ({
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    step: state.step,
    settings: s,
    rng: { seed: s.seed, nextMicroBatch: phaseOf(state.step - 1) === 'pretrain' ? state.step : (state.step - s.pretrainSteps) * s.accumulation },
    dataKey: key,
    weights: state.weights,
    optimizer: { ...state.optimizer, phase: state.phase },
    lossCurve: state.curve,
  });
  const refuse = (why: string) => new ExpandrError(`Cannot resume: ${why}. Use the same settings and data, or start afresh.`);
  const stateOf = (c: TrainCheckpoint): LoopState<LossPoint, Phase> => {
    const why = resumeMismatch(c.settings, s);
    if (why) throw refuse(`the checkpoint was made with other settings (${why})`);
    if (c.dataKey !== key) throw refuse(`the checkpoint was trained on other examples (${c.dataKey}, now ${key})`);
    return { step: c.step, weights: c.weights, optimizer: c.optimizer, phase: c.optimizer.phase, curve: c.lossCurve };
  };

  const timing: StepTiming = { forwardMs: 0, lossMs: 0, backwardMs: 0, optimizerMs: 0, steps: 0 };
  const loop = await runTrainingLoop<LossPoint, TrainCheckpoint, Phase>({
    what: 'Retriever training',
    divergenceHint: 'Lower the learning rate or raise the temperature.',
    variables,
    phases: [
      { name: 'pretrain', steps: s.pretrainSteps, lr: s.pretrainLr, warmupRatio: s.warmupRatio, stage: 'train:pretrain' },
      { name: 'supervised', steps: sup, lr: s.lr, warmupRatio: s.warmupRatio, stage: 'train:retriever' },
    ],
    weightDecay: s.weightDecay,
    maxGradNorm: s.maxGradNorm,
    checkpointEvery: s.checkpointEvery,
    run: opts,
    readCheckpoint: stateOf,
    writeCheckpoint: checkpointOf,
    refuseResume: refuse,
    step: (step, _lr, phase) => ({
      microBatches: phase === 'pretrain' ? 1 : s.accumulation, // one micro-batch per pretraining step
      microBatch: async (m) => {
        const { groups, loss } = lossGroups(step, m);
        const r = batchGrads(groups, loss, variables, s.gradCacheChunk);
        const value = (await r.loss.data())[0];
        r.loss.dispose();
        timing.forwardMs += r.timing.forwardMs;
        timing.lossMs += r.timing.lossMs;
        timing.backwardMs += r.timing.backwardMs;
        return { loss: value, grads: r.grads };
      },
      point: (n) => ({ step: n.step, loss: n.loss, lr: n.lr, phase: n.phase }),
    }),
    progressText: (p) => `loss ${p.loss.toFixed(4)} · lr ${p.lr.toExponential(2)}`,
  });
  timing.optimizerMs = loop.optimizerMs;
  timing.steps = loop.steps;
  const lossCurve = loop.curve;
  return { settings: s, totalSteps: total, lossCurve, finalLoss: lossCurve.length ? lossCurve[lossCurve.length - 1].loss : NaN, resumedFrom: loop.resumedFrom, timing };
}
