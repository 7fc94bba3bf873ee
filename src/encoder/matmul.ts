// A 2D matrix product that stays on tfjs-wasm's fast path. Measured here (tfjs 4.22, 2 cores): the wasm
// BatchMatMul kernel reaches XNNPACK only for a plain 2D product; with transposeA or transposeB it falls
// back to a loop ~10× slower (1 vs 11 GFLOP/s). So on wasm the forward product and both backward ones
// are plain, with explicit transposes (cheap: O(size) against O(size·N)). Other backends use tf.matMul.
// (Batched products, as in attention, take the slow loop whatever the flags; splitting them into 2D
// slices costs as much again in tfjs-wasm's Slice/Gather, so attention keeps tf.matMul.)
import * as tf from '@tensorflow/tfjs-core';

const onWasm = () => tf.getBackend() === 'wasm';

/** a (M, K) @ b (K, N) → (M, N), differentiable. */
export function matMul2d(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (!onWasm()) return tf.matMul(a, b);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, y, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    save([x, y]);
    return {
      value: tf.matMul(x, y) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [xs, ys] = saved as [tf.Tensor2D, tf.Tensor2D];
        return [tf.matMul(dy, tf.transpose(ys)), tf.matMul(tf.transpose(xs), dy)]; // (M, K), (K, N)
      },
    };
  });
  return op(a, b) as tf.Tensor2D;
}
