// The one training loop under both trainers: the retriever's InfoNCE (trainer.ts, paper §3.2) and DPO
// (dpo-trainer.ts, §3.3). Resume from the trainer's latest checkpoint; then per optimizer step the
// micro-batches' gradients averaged (gradient accumulation), clipped to a global norm (torch's
// clip_grad_norm_), one AdamW update at the linear schedule's rate, the curve point, progress, a
// checkpoint every N steps and at the end, and a yield to the event loop so that a cancel can arrive.
// A run is a sequence of phases (the retriever: cropping pretraining, then supervised), each with a
// fresh AdamW and its own schedule, as fine-tuning a pretrained model starts afresh.
// Each trainer keeps what is its own: what a micro-batch computes (loss, batching, RNG streams), what a
// curve point and a checkpoint hold, and the checks that refuse a checkpoint of another run.
import * as tf from '@tensorflow/tfjs-core';
import { ExpandrError, throwIfAborted } from '../errors.ts';
import { numericValues, type WorkOptions } from '../util/progress.ts';
import type { CheckpointSinkOf } from './checkpoint-sink.ts';
import { AdamW, clipGradNorm, GradAccumulator, type AdamWState, type Grads } from './optimizer.ts';
import { lrAt, warmupSteps, type LinearSchedule } from './schedule.ts';

export interface LoopPhase<Name extends string> {
  name: Name;
  /** Optimizer steps of the phase (0: none). */
  steps: number;
  /** Peak learning rate of the phase's warmup + linear decay schedule. */
  lr: number;
  warmupRatio: number;
  /** Progress stage of the phase, e.g. 'train:retriever'. */
  stage: string;
}

/** What the loop keeps across steps; each trainer's checkpoint stores it under its own field names. */
export interface LoopState<Point, Name extends string> {
  /** Optimizer steps done, over all phases. */
  step: number;
  /** The trained variables' values, in order. */
  weights: { shape: number[]; data: Float32Array }[];
  optimizer: AdamWState;
  /** Phase the optimizer state belongs to. */
  phase: Name;
  curve: Point[];
}

/** The loop's numbers for one optimizer step, from which the trainer makes its curve point. */
export interface StepNumbers<Name extends string> {
  /** Optimizer steps done after this one (1 for the first). */
  step: number;
  /** Mean loss of the step's micro-batches. */
  loss: number;
  lr: number;
  /** Global gradient norm before clipping (NaN when neither clipped nor measured). */
  gradNorm: number;
  phase: Name;
}

/** One micro-batch: its loss, read back, and one gradient per variable (null: none); the loop disposes them. */
export interface MicroBatch {
  loss: number;
  grads: Grads;
}

/** What one optimizer step computes (the trainer's own). */
export interface TrainingStep<Point, Name extends string> {
  microBatches: number;
  microBatch(micro: number): Promise<MicroBatch>;
  point(numbers: StepNumbers<Name>): Point;
}

/** What a trainer's caller decides (both trainers' options extend it). */
export interface TrainingRunOptions<Point, Checkpoint> extends WorkOptions {
  /** Where checkpoints go (every checkpointEvery steps and at the end). */
  checkpoints?: CheckpointSinkOf<Checkpoint>;
  /** Continue from checkpoints.latest() when there is one. */
  resume?: boolean;
  /** Called after each optimizer step. */
  onStep?: (point: Point) => void;
}

export interface TrainingLoopSpec<Point extends { loss: number }, Checkpoint, Name extends string> {
  /** Names the run in cancellation and divergence messages, e.g. 'DPO training'. */
  what: string;
  /** What to try when the loss is not finite. */
  divergenceHint: string;
  variables: readonly tf.Variable[];
  /** In order; the run's steps are their sum. */
  phases: readonly LoopPhase<Name>[];
  weightDecay: number;
  /** Global gradient-norm clip; 0 = off. */
  maxGradNorm: number;
  /** Measure the gradient norm even when not clipping (the curve reports it). */
  measureGradNorm?: boolean;
  /** Save every N steps (and always at the end); 0 = only at the end. */
  checkpointEvery: number;
  /** The caller's choices: checkpoint sink, resume, callbacks, cancel. */
  run: TrainingRunOptions<Point, Checkpoint>;
  /** The trainer's checkpoint to the loop's state (throwing when it belongs to another run), and back. */
  readCheckpoint(checkpoint: Checkpoint): LoopState<Point, Name>;
  writeCheckpoint(state: LoopState<Point, Name>): Checkpoint;
  /** Wording of a refused resume, e.g. (why) => new ExpandrError(`Cannot resume DPO: ${why}. …`). */
  refuseResume(why: string): Error;
  /** After resuming, before the first step (e.g. DPO's reference log-probs, unless the checkpoint had them). */
  beforeFirstStep?(): Promise<void>;
  /** Optimizer step `step` (0-based, over all phases) at rate `lr`. */
  step(step: number, lr: number, phase: Name): TrainingStep<Point, Name>;
  progressText(point: Point): string;
}

export interface TrainingLoopResult<Point> {
  curve: Point[];
  /** Step the run resumed from, or null. */
  resumedFrom: number | null;
  /** Steps this call ran (the curve also holds the resumed ones). */
  steps: number;
  /** Gradient accumulation, clipping and the AdamW updates, summed over the steps (ms). */
  optimizerMs: number;
}

interface PlacedPhase<Name extends string> extends LoopPhase<Name> {
  start: number;
  schedule: LinearSchedule;
}

/** The phase step `step` is in; past the end, the last phase. */
function phaseAt<Name extends string>(phases: readonly PlacedPhase<Name>[], step: number): PlacedPhase<Name> {
  return phases.find((p) => step < p.start + p.steps) ?? phases[phases.length - 1];
}

/** Copies a checkpoint's weights into the variables, after checking that every shape fits. */
function loadWeights(variables: readonly tf.Variable[], weights: LoopState<unknown, string>['weights'], refuse: (why: string) => Error): void {
  if (weights.length !== variables.length) throw refuse(`the checkpoint holds ${weights.length} tensors, this run trains ${variables.length}`);
  variables.forEach((v, i) => {
    if (weights[i].shape.join() !== v.shape.join()) throw refuse(`tensor ${i} is [${weights[i].shape}] in the checkpoint, [${v.shape}] here`);
  });
  variables.forEach((v, i) => tf.tidy(() => v.assign(tf.tensor(weights[i].data, v.shape))));
}

export async function runTrainingLoop<Point extends { loss: number }, Checkpoint, Name extends string>(
  spec: TrainingLoopSpec<Point, Checkpoint, Name>,
): Promise<TrainingLoopResult<Point>> {
  if (spec.phases.length === 0) throw new RangeError('runTrainingLoop: at least one phase');
  let start = 0;
  const phases = spec.phases.map((p): PlacedPhase<Name> => {
    const placed = { ...p, start, schedule: { lr: p.lr, warmupSteps: warmupSteps(p.steps, p.warmupRatio), totalSteps: p.steps } };
    start += p.steps;
    return placed;
  });
  const total = start;
  const { variables } = spec;
  const fresh = () => new AdamW(variables, { weightDecay: spec.weightDecay });
  let optimizer = fresh();
  let optimizerPhase = phaseAt(phases, 0).name;
  let curve: Point[] = [];
  let first = 0;
  let resumedFrom: number | null = null;
  let steps = 0;
  let optimizerMs = 0;

  const { run } = spec;
  const save = async (step: number) => {
    if (!run.checkpoints) return;
    const weights = await Promise.all(variables.map(async (v) => ({ shape: [...v.shape], data: new Float32Array(await v.data()) })));
    const state = { step, weights, optimizer: await optimizer.getState(), phase: optimizerPhase, curve: [...curve] };
    await run.checkpoints.save(spec.writeCheckpoint(state));
  };

  try {
    if (run.resume && run.checkpoints) {
      const c = await run.checkpoints.latest();
      if (c) {
        const state = spec.readCheckpoint(c);
        loadWeights(variables, state.weights, spec.refuseResume);
        optimizer.setState(state.optimizer);
        optimizerPhase = state.phase;
        curve = [...state.curve];
        first = resumedFrom = state.step;
      }
    }
    await spec.beforeFirstStep?.();

    for (let step = first; step < total; step++) {
      throwIfAborted(run.signal, spec.what);
      const phase = phaseAt(phases, step);
      if (phase.name !== optimizerPhase) {
        optimizer.dispose();
        optimizer = fresh();
        optimizerPhase = phase.name;
      }
      const lr = lrAt(step - phase.start, phase.schedule);
      const plan = spec.step(step, lr, phase.name);
      const acc = new GradAccumulator(variables.length);
      let lossSum = 0;
      for (let m = 0; m < plan.microBatches; m++) {
        const micro = await plan.microBatch(m);
        lossSum += micro.loss;
        const tAdd = performance.now();
        acc.add(micro.grads);
        optimizerMs += performance.now() - tAdd;
      }
      const tOpt = performance.now();
      let grads = acc.mean();
      let gradNorm = NaN;
      if (spec.maxGradNorm > 0 || spec.measureGradNorm) {
        // With clipping off the scale is 1: a multiply by 1, exact, so the update is unchanged.
        ({ grads, norm: gradNorm } = await clipGradNorm(grads, spec.maxGradNorm > 0 ? spec.maxGradNorm : Infinity));
      }
      optimizer.step(grads, lr);
      grads.forEach((g) => g?.dispose());
      optimizerMs += performance.now() - tOpt;
      steps++;

      const point = plan.point({ step: step + 1, loss: lossSum / plan.microBatches, lr, gradNorm, phase: phase.name });
      if (!Number.isFinite(point.loss)) throw new ExpandrError(`${spec.what} diverged at step ${step + 1} (loss ${point.loss}). ${spec.divergenceHint}`);
      curve.push(point);
      run.onStep?.(point);
      run.onMetrics?.({ series: phase.stage, step: step + 1, values: numericValues(point) });
      run.onProgress?.({ stage: phase.stage, done: step + 1 - phase.start, total: phase.steps, unit: 'steps', text: spec.progressText(point) });
      if (step + 1 === total || (spec.checkpointEvery > 0 && (step + 1) % spec.checkpointEvery === 0)) await save(step + 1);
      // Let an abort message (worker) or SIGINT (runner) arrive between steps.
      await new Promise((r) => setTimeout(r, 0));
    }
  } finally {
    optimizer.dispose();
  }
  return { curve, resumedFrom, steps, optimizerMs };
}
