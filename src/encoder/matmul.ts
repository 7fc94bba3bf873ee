// Matrix products that stay on tfjs-wasm's fast path. Measured here (tfjs 4.22, 2 cores): the wasm
// BatchMatMul kernel reaches XNNPACK only for one plain 2D product; with transposeA/B or a batch > 1 it
// falls back to a loop ~10× slower (1 vs 11 GFLOP/s). So on wasm every product — forward and the two
// of each backward — is a plain 2D matMul, with explicit transposes. Other backends use tf.matMul as is.
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

/** a (..., M, K) @ b (..., K, N) → (..., M, N) with equal leading dims; on wasm one 2D product per entry. */
export function batchMatMul<T extends tf.Tensor>(a: T, b: T): T {
  if (!onWasm()) return tf.matMul(a, b) as T;
  const lead = a.shape.slice(0, -2);
  const [m, k] = a.shape.slice(-2);
  const n = b.shape[b.rank - 1];
  const count = lead.reduce((x, y) => x * y, 1);
  const as = tf.unstack(tf.reshape(a, [count, m, k])) as tf.Tensor2D[]; // count × (M, K)
  const bs = tf.unstack(tf.reshape(b, [count, k, n])) as tf.Tensor2D[]; // count × (K, N)
  return tf.reshape(tf.stack(as.map((x, i) => matMul2d(x, bs[i]))), [...lead, m, n]) as T;
}
