// Attention probabilities, dropout(softmax(scores·scale + mask)), with their own gradient. Composed from
// tfjs ops, the tape would save five (batch, heads, T, T) tensors per layer — the scores (for the scale's
// Mul), the scaled scores (Add), the softmax output, the dropout multiplier and the dropped
// probabilities — the largest activations at long sequence lengths. This saves the softmax output p and
// the result y (which the next product saves anyway, sharing the buffer) and rebuilds the multiplier from
// y: it is 1/keep where y > 0, else 0. Backward, as PyTorch's softmax_backward_data:
//   dp = dy ⊙ multiplier;  ds = scale · p ⊙ (dp − Σ_keys dp ⊙ p).
// Forward values are those of the composed ops (tf.dropout with the same seed), bit for bit (on wasm its
// multiplier comes from a compiled pass: wasm-dropout-kernel.ts). On wasm the softmax and the whole backward are
// compiled passes too (wasm-attention-probs-kernel.ts): values within float32 rounding of the composed ops.
import * as tf from '@tensorflow/tfjs-core';
import { seededDropout, wasmDropoutValues } from '../util/wasm-dropout-kernel.ts';
import { wasmAttentionProbs, wasmAttentionProbsGrad } from '../util/wasm-attention-probs-kernel.ts';
import { wasmKernelsAvailable } from '../util/wasm-kernel-module.ts';
import { wasmKernelSwitches } from '../util/wasm-kernel-internals.ts';

/** Dropout of the probabilities: rate and seed, or null when not training. */
export interface ProbsDropout {
  rate: number;
  seed: number;
}

/** Whether the compiled passes apply: wasm with its kernels and switches on, float32. */
const compiled = (scores: tf.Tensor) => wasmKernelSwitches.attentionProbs && wasmKernelSwitches.dropout && scores.dtype === 'float32' && wasmKernelsAvailable();

export function attentionProbs(scores: tf.Tensor4D, maskAdd: tf.Tensor, scale: number, dropout: ProbsDropout | null): tf.Tensor4D {
  if (compiled(scores)) return compiledAttentionProbs(scores, maskAdd, scale, dropout);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [s, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
    const p = tf.softmax(tf.add(tf.mul(s, scale), maskAdd)) as tf.Tensor4D; // over keys; padding keys get 0
    const y = dropout ? seededDropout(p, dropout.rate, dropout.seed) : p;
    save(dropout ? [p, y] : [p]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [ps, ys] = saved;
          // tf.dropout's multiplier is floor(u + keep) / keep in float32: 0 or (1 / keep).
          const dp = ys ? tf.mul(dy, tf.div(tf.cast(tf.greater(ys, 0), 'float32'), 1 - dropout!.rate)) : dy;
          const dpP = tf.mul(dp, ps);
          return tf.mul(tf.sub(dpP, tf.mul(tf.sum(dpP, -1, true), ps)), scale);
        }),
    };
  });
  return op(scores) as tf.Tensor4D;
}

/** attentionProbs() as compiled passes: softmax, dropout (tf.dropout's values) and one backward pass. */
function compiledAttentionProbs(scores: tf.Tensor4D, maskAdd: tf.Tensor, scale: number, dropout: ProbsDropout | null): tf.Tensor4D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [s, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
    const p = wasmAttentionProbs(s, maskAdd, scale);
    const y = dropout ? wasmDropoutValues(p, dropout.rate, dropout.seed) : p;
    save(dropout ? [p, y] : [p]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => wasmAttentionProbsGrad(dy, saved[0] as tf.Tensor4D, (saved[1] as tf.Tensor4D) ?? null, dropout ? 1 - dropout.rate : 1, scale),
    };
  });
  return op(scores) as tf.Tensor4D;
}
