// Direct Preference Optimization (Rafailov et al. 2023, arXiv:2305.18290), as ExpandR's Eq. 17 uses it:
//   L = −log σ(β · [(log π(c|x) − log π_ref(c|x)) − (log π(r|x) − log π_ref(r|x))])
// with π the policy (LoRA on) and π_ref the same model with the adapter off. The implicit rewards are
// β·(log π − log π_ref) for the chosen and the rejected completion (TRL's rewards/chosen, rewards/rejected);
// the margin is their difference and the accuracy the share of pairs where chosen > rejected.
// Settings live here with their reasons; the loop is dpo-trainer.ts.
import * as tf from '@tensorflow/tfjs-core';

export { DPO_DEFAULTS, dpoSettings, dpoTotalSteps, type DpoSettings } from './dpo-settings.ts';

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
