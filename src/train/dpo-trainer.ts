// The DPO training (ExpandR §3.3, Eq. 17) on a LoRA-adapted decoder: reference log-probs once with the
// adapters off (src/llm/dpo-eval.ts; cached, also in checkpoints), then per optimizer step `accumulation`
// micro-batches of `batchSize` pairs → policy log-probs (adapters on, dropout) → loss → LoRA gradients.
// The loop (averaging, max_grad_norm clipping, AdamW on the HF linear schedule, checkpoints, resume) is
// training-loop.ts; this file holds what is DPO's: pair order, dropout streams, the step's metrics and the
// checkpoint record. Seeded and resumable: pair order and dropout masks derive from (seed, micro-batch
// index), so a run resumed from its step-k checkpoint ends with the adapters of an uninterrupted run.
//
// Pair order: epoch e visits the pairs in a seeded shuffle; micro-batches take consecutive positions of
// that endless sequence (a batch may straddle two epochs, unlike HF's smaller last batch).
import { Fnv1a } from '../util/fnv1a.ts';
import * as tf from '@tensorflow/tfjs-core';
import { ExpandrError } from '../errors.ts';
import { collatePairs, type TokenizedPair } from '../llm/dpo-data.ts';
import { referenceLogProbs, type ReferenceLogProbs } from '../llm/dpo-eval.ts';
import { dpoLoss, dpoMetrics, dpoSettings, dpoTotalSteps, type DpoSettings } from '../llm/dpo.ts';
import type { LlamaModel } from '../llm/llama.ts';
import { sequenceLogProbs } from '../llm/logprobs.ts';
import type { LoraAdapters } from '../llm/lora.ts';
import { createRng, deriveSeed, shuffleInPlace } from '../util/random.ts';
import { DPO_CHECKPOINT_FORMAT, DPO_CHECKPOINT_VERSION, type DpoCheckpoint, type DpoStepMetrics } from './dpo-checkpoint.ts';
import { runTrainingLoop, type LoopState, type MicroBatch, type TrainingRunOptions } from './training-loop.ts';

/** Sub-stream of the seed for LoRA dropout masks (the pair order uses the epoch streams). */
const DROPOUT_STREAM = 7;

/** Checkpoints (every settings.checkpointEvery steps and at the end), resume, onStep, progress, cancel. */
export interface TrainDpoOptions extends TrainingRunOptions<DpoStepMetrics, DpoCheckpoint> {
  settings?: Partial<DpoSettings>;
  /** Reference log-probs already computed for these pairs (else computed here, adapters off). */
  reference?: ReferenceLogProbs;
  /** Id at padded positions (masked; default 0). */
  padId?: number;
}

export interface TrainDpoResult {
  settings: DpoSettings;
  totalSteps: number;
  curve: DpoStepMetrics[];
  /** Loss of the last step (NaN when none ran). */
  finalLoss: number;
  resumedFrom: number | null;
  reference: ReferenceLogProbs;
}

/** FNV-1a over the token ids: a short fingerprint of the training pairs. */
export function dpoDataKey(pairs: readonly TokenizedPair[]): string {
  const hash = new Fnv1a();
  // Ids shifted by one so that the 0 before each part separates it (the key format of earlier checkpoints).
  for (const pair of pairs) for (const part of [pair.prompt, pair.chosen, pair.rejected]) {
    hash.add(0);
    for (const id of part) hash.add(id + 1);
  }
  return `${pairs.length}:${hash.hex()}`;
}

/** Pair indices of micro-batch k: positions k·B … k·B + B − 1 of the epoch-shuffled sequence. */
function pairSchedule(n: number, batchSize: number, seed: number): (k: number) => number[] {
  const perms = new Map<number, number[]>();
  const perm = (epoch: number) => {
    let p = perms.get(epoch);
    if (!p) {
      p = shuffleInPlace([...Array(n).keys()], createRng(deriveSeed(seed, epoch)));
      perms.set(epoch, p);
    }
    return p;
  };
  return (k) => Array.from({ length: batchSize }, (_, j) => k * batchSize + j).map((pos) => perm(Math.floor(pos / n))[pos % n]);
}

export async function trainDpo(model: LlamaModel, lora: LoraAdapters, pairs: readonly TokenizedPair[], opts: TrainDpoOptions = {}): Promise<TrainDpoResult> {
  const s = dpoSettings(opts.settings);
  if (pairs.length === 0) throw new ExpandrError('DPO needs at least one preference pair.');
  if (lora.merged || lora.layers.some((l) => model.adapters.get(l.module) !== l)) throw new ExpandrError('Attach the LoRA adapters to the model (unmerged) before DPO training.');
  const total = dpoTotalSteps(s, pairs.length);
  const key = dpoDataKey(pairs);
  const padId = opts.padId ?? 0;
  const variables = lora.variables;
  const batchOf = pairSchedule(pairs.length, s.batchSize, s.seed);
  let reference = opts.reference ?? null;

  const refuse = (why: string) => new ExpandrError(`Cannot resume DPO: ${why}. Use the same settings and pairs, or start afresh.`);
  const stateOf = (c: DpoCheckpoint): LoopState<DpoStepMetrics, 'dpo'> => {
    if (c.dataKey !== key) throw refuse(`the checkpoint was trained on other pairs (${c.dataKey}, now ${key})`);
    const diff = (Object.keys(s) as (keyof DpoSettings)[]).filter((k) => k !== 'checkpointEvery' && JSON.stringify(c.settings[k]) !== JSON.stringify(s[k]));
    if (diff.length) throw refuse(`settings differ (${diff.join(', ')})`);
    if (JSON.stringify(c.lora) !== JSON.stringify(lora.settings)) throw refuse('the LoRA settings differ');
    reference = c.reference;
    return { step: c.step, weights: c.weights, optimizer: c.optimizer, phase: 'dpo', curve: c.curve };
  };
  const checkpointOf = (state: LoopState<DpoStepMetrics, 'dpo'>): DpoCheckpoint => ({
    format: DPO_CHECKPOINT_FORMAT,
    version: DPO_CHECKPOINT_VERSION,
    step: state.step,
    settings: s,
    lora: lora.settings,
    dataKey: key,
    rng: { seed: s.seed, nextMicroBatch: state.step * s.accumulation },
    weights: state.weights,
    optimizer: state.optimizer,
    reference: reference!,
    curve: state.curve,
  });

  /** Micro-batch k (over the run): policy log-probs → Eq. 17 → LoRA gradients; `seen` collects the step's log-probs for its metrics. */
  const microBatch = async (k: number, ref: ReferenceLogProbs, seen: Record<'pc' | 'pr' | 'rc' | 'rr', number[]>): Promise<MicroBatch> => {
    const idx = batchOf(k);
    const batch = collatePairs(idx.map((i) => pairs[i]), s.maxLength, padId);
    const rc = idx.map((i) => ref.chosen[i]);
    const rr = idx.map((i) => ref.rejected[i]);
    lora.setDropoutSeed(deriveSeed(deriveSeed(s.seed, DROPOUT_STREAM), k));
    if (!batch.scored.some((r) => r.includes(1))) {
      // Every completion cut away by maxLength: log-probs 0 = reference, loss log 2, no gradient (as in TRL).
      for (const arr of [seen.pc, seen.pr]) arr.push(...idx.map(() => 0));
      seen.rc.push(...idx.map(() => 0));
      seen.rr.push(...idx.map(() => 0));
      return { loss: Math.LN2, grads: variables.map(() => null) };
    }
    let policy: tf.Tensor | null = null;
    const { value, grads } = tf.variableGrads(() => {
      const lp = sequenceLogProbs(model, batch, { training: !s.disableDropout, chunk: s.vocabChunk }); // (2n): chosen rows, then rejected
      policy = tf.keep(tf.clone(lp));
      const n = idx.length;
      const parts = dpoLoss(tf.slice(lp, [0], [n]), tf.slice(lp, [n], [n]), tf.tensor1d(rc), tf.tensor1d(rr), s.beta);
      return parts.loss;
    }, variables);
    const loss = (await value.data())[0];
    value.dispose();
    const lp = await policy!.data();
    policy!.dispose();
    seen.pc.push(...lp.subarray(0, idx.length));
    seen.pr.push(...lp.subarray(idx.length));
    seen.rc.push(...rc);
    seen.rr.push(...rr);
    return { loss, grads: variables.map((v) => grads[v.name] ?? null) };
  };

  const loop = await runTrainingLoop<DpoStepMetrics, DpoCheckpoint, 'dpo'>({
    what: 'DPO training',
    divergenceHint: 'Lower the learning rate.',
    variables,
    phases: [{ name: 'dpo', steps: total, lr: s.lr, warmupRatio: s.warmupRatio, stage: 'train:llm' }],
    weightDecay: s.weightDecay,
    maxGradNorm: s.maxGradNorm,
    measureGradNorm: true, // the curve reports it (TRL's grad_norm)
    checkpointEvery: s.checkpointEvery,
    run: opts,
    readCheckpoint: stateOf,
    writeCheckpoint: checkpointOf,
    refuseResume: refuse,
    beforeFirstStep: async () => {
      reference ??= await referenceLogProbs(model, pairs, s, { ...opts, padId });
      if (reference.chosen.length !== pairs.length) throw new ExpandrError(`Reference log-probs cover ${reference.chosen.length} pairs, the data has ${pairs.length}.`);
    },
    step: (step) => {
      const seen = { pc: [] as number[], pr: [] as number[], rc: [] as number[], rr: [] as number[] };
      return {
        microBatches: s.accumulation,
        microBatch: (m) => microBatch(step * s.accumulation + m, reference!, seen),
        point: (n) => ({ step: n.step, lr: n.lr, gradNorm: n.gradNorm, ...dpoMetrics(seen.pc, seen.pr, seen.rc, seen.rr, s.beta), loss: n.loss }),
      };
    },
    progressText: (p) => `loss ${p.loss.toFixed(4)} · margin ${p.margin.toFixed(4)} · acc ${p.accuracy.toFixed(2)} · lr ${p.lr.toExponential(2)}`,
  });
  const curve = loop.curve;
  return { settings: s, totalSteps: total, curve, finalLoss: curve.length ? curve[curve.length - 1].loss : NaN, resumedFrom: loop.resumedFrom, reference: reference! };
}
