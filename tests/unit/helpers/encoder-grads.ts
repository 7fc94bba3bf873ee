// What the fused-kernel tests compare across backends under a gradient tape: a random BertModel's loss and the
// gradient of a query weight, and how much a function keeps alive for its backward pass.
import * as tf from '@tensorflow/tfjs-core';
import { BertModel } from '../../../src/encoder/bert.ts';
import type { BertConfig } from '../../../src/encoder/config.ts';
import type { TokenizedBatch } from '../../../src/encoder/types.ts';

/** sum(forward²) of BertModel.random(config, 4) on the current backend, and ∂/∂ of variable 5 (a query weight: reached only through attention). */
export async function lossAndQueryGrad(config: BertConfig, batch: TokenizedBatch): Promise<{ loss: number; query: Float32Array }> {
  const model = BertModel.random(config, 4);
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(model.forward(batch))) as tf.Scalar, model.variables);
  const query = (await grads[model.variables[5].name].data()) as Float32Array;
  const loss = (await value.data())[0];
  tf.dispose([value, ...Object.values(grads)]);
  model.dispose();
  return { loss, query };
}

/** Bytes alive at the end of the forward pass of sum(f(x)) under a tape, in units of x's bytes. */
export function heldForBackward(f: (t: tf.Tensor) => tf.Tensor, x: tf.Variable): number {
  let during = 0;
  const before = tf.memory().numBytes;
  const r = tf.variableGrads(() => {
    const y = tf.tidy(() => tf.sum(f(x)) as tf.Scalar);
    during = tf.memory().numBytes - before;
    return y;
  }, [x]);
  tf.dispose([r.value, ...Object.values(r.grads)]);
  return during / (x.size * 4);
}
