// Direct Preference Optimization (Rafailov et al. 2023, arXiv:2305.18290), as ExpandR's Eq. 17 uses it:
//   L = −log σ(β · [(log π(c|x) − log π_ref(c|x)) − (log π(r|x) − log π_ref(r|x))])
// with π the policy (LoRA on) and π_ref the same model with the adapter off. The implicit rewards are
// β·(log π − log π_ref) for the chosen and the rejected completion (TRL's rewards/chosen, rewards/rejected);
// the margin is their difference and the accuracy the share of pairs where chosen > rejected.
// Settings live here with their reasons; the loop is dpo-trainer.ts.
import * as tf from '@tensorflow/tfjs-core';
import { DPO_LENGTH_DEFAULTS, type DpoLengths } from './dpo-data.ts';
import { DEFAULT_VOCAB_CHUNK } from './logprobs.ts';

export interface DpoSettings extends DpoLengths {
  /** DPO β (Eq. 17). */
  beta: number;
  /** Peak AdamW learning rate. */
  lr: number;
  /** Pairs per micro-batch (each pair is two rows: chosen and rejected). */
  batchSize: number;
  /** Micro-batches per optimizer step. */
  accumulation: number;
  /** Optimizer steps; 0 = `epochs` passes over the pairs. */
  steps: number;
  epochs: number;
  /** Linear warmup share of the steps, then linear decay to 0 (HF Trainer's default schedule). */
  warmupRatio: number;
  weightDecay: number;
  /** Gradient-norm clip, 0 = off. */
  maxGradNorm: number;
  /** Seed of the pair order and of the dropout masks (LoRA's init has its own, in LoraSettings). */
  seed: number;
  /** Vocabulary slice of the chunked log-softmax. */
  vocabChunk: number;
  /** Save a checkpoint every N steps (and at the end when a sink is given); 0 = only at the end. */
  checkpointEvery: number;
  /** Train with every dropout off, LoRA's included (TRL's disable_dropout). */
  disableDropout: boolean;
}

export const DPO_DEFAULTS: Readonly<DpoSettings> = Object.freeze({
  beta: 0.1, // Eq. 17, paper §3.3 / reference code
  lr: 2e-5, // reference code
  batchSize: 2, // reference code (per device)
  accumulation: 8, // reference code
  steps: 0,
  epochs: 2, // reference code
  warmupRatio: 0, // HF TrainingArguments default, kept by the reference code
  weightDecay: 0, // ditto
  maxGradNorm: 10, // reference code's max_grad_norm
  seed: 0,
  vocabChunk: DEFAULT_VOCAB_CHUNK,
  checkpointEvery: 0,
  // TRL's DPOConfig default: the reference code's LoRA dropout 0.1 is in the config but off in training.
  disableDropout: true,
  ...DPO_LENGTH_DEFAULTS, // max_length 612, max_prompt_length 100 (reference code)
});

/** Defaults merged with overrides; throws on an unknown key or a value out of range. */
export function dpoSettings(over: Partial<DpoSettings> = {}): DpoSettings {
  for (const k of Object.keys(over)) if (!(k in DPO_DEFAULTS)) throw new RangeError(`Unknown DPO setting "${k}" (known: ${Object.keys(DPO_DEFAULTS).join(', ')})`);
  const s: DpoSettings = { ...DPO_DEFAULTS, ...over };
  const positiveInt = ['batchSize', 'accumulation', 'maxLength', 'maxPromptLength', 'vocabChunk'] as const;
  for (const k of positiveInt) if (!(Number.isInteger(s[k]) && s[k] > 0)) throw new RangeError(`DPO ${k} must be a positive integer, got ${s[k]}`);
  if (!(Number.isInteger(s.steps) && s.steps >= 0)) throw new RangeError(`DPO steps must be an integer ≥ 0, got ${s.steps}`);
  if (!(s.beta > 0 && s.lr >= 0 && s.epochs > 0 && s.maxGradNorm >= 0 && s.weightDecay >= 0)) throw new RangeError('DPO beta and epochs must be positive; lr, maxGradNorm, weightDecay ≥ 0');
  if (!(s.warmupRatio >= 0 && s.warmupRatio <= 1)) throw new RangeError(`DPO warmupRatio must be in [0, 1], got ${s.warmupRatio}`);
  if (s.maxCompletionLength !== null && !(Number.isInteger(s.maxCompletionLength) && s.maxCompletionLength > 0)) throw new RangeError('DPO maxCompletionLength must be a positive integer or null');
  return s;
}

/** Optimizer steps of a run: `steps`, or ⌈epochs · pairs / (batch · accumulation)⌉. */
export function dpoTotalSteps(settings: DpoSettings, pairs: number): number {
  if (settings.steps > 0) return settings.steps;
  return Math.max(1, Math.ceil((settings.epochs * pairs) / (settings.batchSize * settings.accumulation)));
}

export interface DpoLossParts {
  /** Mean of the per-pair losses (scalar). */
  loss: tf.Scalar;
  /** (n,) per-pair −log σ(β·h). */
  losses: tf.Tensor1D;
  /** (n,) β·(log π(c) − log π_ref(c)). */
  chosenRewards: tf.Tensor1D;
  /** (n,) β·(log π(r) − log π_ref(r)). */
  rejectedRewards: tf.Tensor1D;
}

/** Eq. 17 on (n,) log-probs; differentiable in the policy terms. */
export function dpoLoss(policyChosen: tf.Tensor1D, policyRejected: tf.Tensor1D, refChosen: tf.Tensor1D, refRejected: tf.Tensor1D, beta: number): DpoLossParts {
  return tf.tidy(() => {
    const chosenRewards = tf.mul(tf.sub(policyChosen, refChosen), beta) as tf.Tensor1D;
    const rejectedRewards = tf.mul(tf.sub(policyRejected, refRejected), beta) as tf.Tensor1D;
    // −log σ(z) = softplus(−z), z = β·h = r_c − r_r. (tf.logSigmoid's custom gradient reads its input from a
    // closure, which this tidy would already have disposed when the backward pass runs.)
    const losses = tf.softplus(tf.neg(tf.sub(chosenRewards, rejectedRewards))) as tf.Tensor1D;
    return { loss: tf.mean(losses) as tf.Scalar, losses, chosenRewards, rejectedRewards };
  });
}

/** Pair metrics as TRL logs them: mean rewards, mean margin, accuracy (chosen reward > rejected). */
export interface DpoPairMetrics {
  loss: number;
  chosenReward: number;
  rejectedReward: number;
  margin: number;
  accuracy: number;
}

/** The metrics of per-pair log-probs (plain numbers, float64): policy and reference for chosen and rejected. */
export function dpoMetrics(pc: ArrayLike<number>, pr: ArrayLike<number>, rc: ArrayLike<number>, rr: ArrayLike<number>, beta: number): DpoPairMetrics {
  const n = pc.length;
  let loss = 0;
  let chosen = 0;
  let rejected = 0;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const c = beta * (pc[i] - rc[i]);
    const r = beta * (pr[i] - rr[i]);
    const z = c - r;
    loss += z >= 0 ? Math.log1p(Math.exp(-z)) : -z + Math.log1p(Math.exp(z)); // −log σ(z), stable
    chosen += c;
    rejected += r;
    if (c > r) correct++;
  }
  const mean = (x: number) => (n ? x / n : NaN);
  return { loss: mean(loss), chosenReward: mean(chosen), rejectedReward: mean(rejected), margin: mean(chosen - rejected), accuracy: mean(correct) };
}
