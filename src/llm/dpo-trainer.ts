// The DPO loop (ExpandR §3.3, Eq. 17) on a LoRA-adapted decoder: reference log-probs once with the
// adapters off (cached, also in checkpoints), then per optimizer step `accumulation` micro-batches of
// `batchSize` pairs → policy log-probs (adapters on, dropout) → loss → LoRA gradients, averaged, clipped
// (max_grad_norm), AdamW (src/train/optimizer.ts) on the HF linear schedule. Seeded and resumable: pair
// order and dropout masks derive from (seed, micro-batch index), so a run resumed from its step-k
// checkpoint ends with the adapters of an uninterrupted run.
//
// Pair order: epoch e visits the pairs in a seeded shuffle; micro-batches take consecutive positions of
// that endless sequence (a batch may straddle two epochs, unlike HF's smaller last batch).
import * as tf from '@tensorflow/tfjs-core';
import { ExpandrError, throwIfAborted } from '../errors.ts';
import { AdamW, clipGradNorm, GradAccumulator } from '../train/optimizer.ts';
import { lrAt, warmupSteps } from '../train/schedule.ts';
import type { WorkOptions } from '../util/progress.ts';
import { createRng, deriveSeed, shuffleInPlace } from '../util/random.ts';
import { DPO_CHECKPOINT_FORMAT, DPO_CHECKPOINT_VERSION, type DpoCheckpoint, type DpoCheckpointSink, type DpoStepMetrics } from './dpo-checkpoint.ts';
import { collatePairs, type TokenizedPair } from './dpo-data.ts';
import { dpoLoss, dpoMetrics, dpoSettings, dpoTotalSteps, type DpoPairMetrics, type DpoSettings } from './dpo.ts';
import type { LlamaModel } from './llama.ts';
import { sequenceLogProbs, sequenceLogProbsValues } from './logprobs.ts';
import type { LoraAdapters } from './lora.ts';

export interface ReferenceLogProbs {
  /** Per pair, log π_ref(chosen | prompt) and log π_ref(rejected | prompt). */
  chosen: Float64Array;
  rejected: Float64Array;
}

export interface TrainDpoOptions extends WorkOptions {
  settings?: Partial<DpoSettings>;
  checkpoints?: DpoCheckpointSink;
  /** Continue from checkpoints.latest() when there is one. */
  resume?: boolean;
  /** Reference log-probs already computed for these pairs (else computed here, adapters off). */
  reference?: ReferenceLogProbs;
  /** Id at padded positions (masked; default 0). */
  padId?: number;
  onStep?: (m: DpoStepMetrics) => void;
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

type Lengths = Pick<DpoSettings, 'maxLength' | 'vocabChunk' | 'batchSize'>;

/** Per-pair log-probs of chosen and rejected under the model as it is (no gradients, no dropout). */
async function pairLogProbs(model: LlamaModel, pairs: readonly TokenizedPair[], s: Lengths, padId: number, work: WorkOptions, stage: string): Promise<ReferenceLogProbs> {
  const chosen = new Float64Array(pairs.length);
  const rejected = new Float64Array(pairs.length);
  for (let i = 0; i < pairs.length; i += s.batchSize) {
    throwIfAborted(work.signal, 'DPO log-probs');
    const part = pairs.slice(i, i + s.batchSize);
    const lp = await sequenceLogProbsValues(model, collatePairs(part, s.maxLength, padId), { chunk: s.vocabChunk }); // (2n): chosen, rejected
    chosen.set(lp.subarray(0, part.length), i);
    rejected.set(lp.subarray(part.length), i);
    work.onProgress?.({ stage, done: i + part.length, total: pairs.length, unit: 'pairs' });
  }
  return { chosen, rejected };
}

/** π_ref: the same model with its adapters switched off (Eq. 17's reference policy). */
export async function referenceLogProbs(model: LlamaModel, pairs: readonly TokenizedPair[], settings: Partial<DpoSettings> = {}, work: WorkOptions & { padId?: number } = {}): Promise<ReferenceLogProbs> {
  const was = model.adaptersEnabled;
  model.adaptersEnabled = false;
  try {
    return await pairLogProbs(model, pairs, dpoSettings(settings), work.padId ?? 0, work, 'llm:reference');
  } finally {
    model.adaptersEnabled = was;
  }
}

/** DPO loss, implicit rewards, margin and accuracy of the current policy on `pairs` (eval mode). */
export async function evaluateDpo(model: LlamaModel, pairs: readonly TokenizedPair[], reference: ReferenceLogProbs, settings: Partial<DpoSettings> = {}, work: WorkOptions & { padId?: number } = {}): Promise<DpoPairMetrics> {
  const s = dpoSettings(settings);
  const policy = await pairLogProbs(model, pairs, s, work.padId ?? 0, work, 'llm:evaluate');
  return dpoMetrics(policy.chosen, policy.rejected, reference.chosen, reference.rejected, s.beta);
}

/** FNV-1a over the token ids: a short fingerprint of the training pairs. */
export function dpoDataKey(pairs: readonly TokenizedPair[]): string {
  let h = 0x811c9dc5;
  const mix = (x: number) => (h = Math.imul(h ^ (x + 1), 0x01000193));
  for (const p of pairs) for (const part of [p.prompt, p.chosen, p.rejected]) {
    mix(-1);
    part.forEach(mix);
  }
  return `${pairs.length}:${(h >>> 0).toString(16)}`;
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
  const schedule = { lr: s.lr, warmupSteps: warmupSteps(total, s.warmupRatio), totalSteps: total };
  const key = dpoDataKey(pairs);
  const padId = opts.padId ?? 0;
  const variables = lora.variables;
  const optimizer = new AdamW(variables, { weightDecay: s.weightDecay });
  const batchOf = pairSchedule(pairs.length, s.batchSize, s.seed);
  let curve: DpoStepMetrics[] = [];
  let start = 0;
  let resumedFrom: number | null = null;
  let reference = opts.reference ?? null;

  if (opts.resume && opts.checkpoints) {
    const c = await opts.checkpoints.latest();
    if (c) {
      const fail = (why: string) => new ExpandrError(`Cannot resume DPO: ${why}. Use the same settings and pairs, or start afresh.`);
      if (c.dataKey !== key) throw fail(`the checkpoint was trained on other pairs (${c.dataKey}, now ${key})`);
      const diff = (Object.keys(s) as (keyof DpoSettings)[]).filter((k) => k !== 'checkpointEvery' && JSON.stringify(c.settings[k]) !== JSON.stringify(s[k]));
      if (diff.length) throw fail(`settings differ (${diff.join(', ')})`);
      if (JSON.stringify(c.lora) !== JSON.stringify(lora.settings)) throw fail('the LoRA settings differ');
      if (c.weights.length !== variables.length) throw fail(`the checkpoint holds ${c.weights.length} tensors, the adapters ${variables.length}`);
      variables.forEach((v, i) => {
        if (c.weights[i].shape.join() !== v.shape.join()) throw fail(`tensor ${i} is [${c.weights[i].shape}] in the checkpoint, [${v.shape}] here`);
        tf.tidy(() => v.assign(tf.tensor(c.weights[i].data, v.shape)));
      });
      optimizer.setState(c.optimizer);
      reference = c.reference;
      curve = [...c.curve];
      start = resumedFrom = c.step;
    }
  }
  reference ??= await referenceLogProbs(model, pairs, s, { ...opts, padId });
  if (reference.chosen.length !== pairs.length) throw new ExpandrError(`Reference log-probs cover ${reference.chosen.length} pairs, the data has ${pairs.length}.`);
  const ref = reference;

  const save = async (step: number) => {
    if (!opts.checkpoints) return;
    const c: DpoCheckpoint = {
      format: DPO_CHECKPOINT_FORMAT,
      version: DPO_CHECKPOINT_VERSION,
      step,
      settings: s,
      lora: lora.settings,
      dataKey: key,
      rng: { seed: s.seed, nextMicroBatch: step * s.accumulation },
      weights: await Promise.all(variables.map(async (v) => ({ shape: [...v.shape], data: new Float32Array(await v.data()) }))),
      optimizer: await optimizer.getState(),
      reference: ref,
      curve: [...curve],
    };
    await opts.checkpoints.save(c);
  };

  try {
    for (let step = start; step < total; step++) {
      throwIfAborted(opts.signal, 'DPO training');
      const lr = lrAt(step, schedule);
      const acc = new GradAccumulator(variables.length);
      const seen = { pc: [] as number[], pr: [] as number[], rc: [] as number[], rr: [] as number[] };
      let lossSum = 0;
      for (let m = 0; m < s.accumulation; m++) {
        const k = step * s.accumulation + m;
        const idx = batchOf(k);
        const batch = collatePairs(idx.map((i) => pairs[i]), s.maxLength, padId);
        const rc = idx.map((i) => ref.chosen[i]);
        const rr = idx.map((i) => ref.rejected[i]);
        lora.setDropoutSeed(deriveSeed(deriveSeed(s.seed, 7), k));
        if (!batch.scored.some((r) => r.includes(1))) {
          // Every completion cut away by maxLength: log-probs 0 = reference, loss log 2, no gradient (as in TRL).
          lossSum += Math.LN2;
          for (const arr of [seen.pc, seen.pr]) arr.push(...idx.map(() => 0));
          seen.rc.push(...idx.map(() => 0));
          seen.rr.push(...idx.map(() => 0));
          acc.add(variables.map(() => null));
          continue;
        }
        let policy: tf.Tensor | null = null;
        const { value, grads } = tf.variableGrads(() => {
          const lp = sequenceLogProbs(model, batch, { training: !s.disableDropout, chunk: s.vocabChunk }); // (2n): chosen rows, then rejected
          policy = tf.keep(tf.clone(lp));
          const n = idx.length;
          const parts = dpoLoss(tf.slice(lp, [0], [n]), tf.slice(lp, [n], [n]), tf.tensor1d(rc), tf.tensor1d(rr), s.beta);
          return parts.loss;
        }, variables);
        lossSum += (await value.data())[0];
        value.dispose();
        const lp = await policy!.data();
        policy!.dispose();
        seen.pc.push(...lp.subarray(0, idx.length));
        seen.pr.push(...lp.subarray(idx.length));
        seen.rc.push(...rc);
        seen.rr.push(...rr);
        acc.add(variables.map((v) => grads[v.name] ?? null));
      }
      const clipped = await clipGradNorm(acc.mean(), s.maxGradNorm > 0 ? s.maxGradNorm : Infinity);
      optimizer.step(clipped.grads, lr);
      clipped.grads.forEach((g) => g?.dispose());

      const point: DpoStepMetrics = { step: step + 1, lr, gradNorm: clipped.norm, ...dpoMetrics(seen.pc, seen.pr, seen.rc, seen.rr, s.beta), loss: lossSum / s.accumulation };
      if (!Number.isFinite(point.loss)) throw new ExpandrError(`DPO diverged at step ${step + 1} (loss ${point.loss}). Lower the learning rate.`);
      curve.push(point);
      opts.onStep?.(point);
      opts.onProgress?.({
        stage: 'train:llm',
        done: step + 1,
        total,
        unit: 'steps',
        text: `loss ${point.loss.toFixed(4)} · margin ${point.margin.toFixed(4)} · acc ${point.accuracy.toFixed(2)} · lr ${lr.toExponential(2)}`,
      });
      if (step + 1 === total || (s.checkpointEvery > 0 && (step + 1) % s.checkpointEvery === 0)) await save(step + 1);
      await new Promise((r) => setTimeout(r, 0)); // let a cancel (worker message, SIGINT) arrive
    }
  } finally {
    optimizer.dispose();
  }
  return { settings: s, totalSteps: total, curve, finalLoss: curve.length ? curve[curve.length - 1].loss : NaN, resumedFrom, reference: ref };
}
