import { test, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
test('grad', async () => {
  await tf.setBackend('cpu');
  const x = tf.variable(tf.tensor1d([1, 2]));
  const g = tf.variableGrads(() => tf.sum(tf.square(x)) as tf.Scalar);
  console.log(await g.grads[x.name].data(), require.resolve ? 'cjs' : 'esm');
});
