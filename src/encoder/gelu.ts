// Exact GELU, 0.5·x·(1 + erf(x/√2)) (BERT's "gelu", not the tanh approximation), with its own gradient.
// Composed from tfjs ops, the tape would save four [tokens, intermediate] tensors per layer (x, x/2, x/√2,
// 1 + erf) — the largest activations of a BERT layer; this saves only x and recomputes the rest in the
// backward pass, as PyTorch's GeluBackward does: d/dx = Φ(x) + x·φ(x), Φ(x) = (1 + erf(x/√2))/2,
// φ(x) = exp(−x²/2)/√(2π). Forward values are those of the composed ops, bit for bit.
// On wasm (wasmKernelSwitches.gelu, kernels started) both directions are one compiled SIMD pass each
// instead (src/util/wasm-gelu-kernel.ts, |Φ − Φ_exact| ≤ 7.5e-8); other backends keep the composed ops.
import * as tf from '@tensorflow/tfjs-core';
import { wasmGelu } from '../util/wasm-gelu-kernel.ts';
import { wasmKernelSwitches } from '../util/wasm-kernel-internals.ts';
import { wasmKernelsAvailable } from '../util/wasm-kernel-module.ts';

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

function geluValue<T extends tf.Tensor>(x: T): T {
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
}

export function gelu<T extends tf.Tensor>(x: T): T {
  if (wasmKernelSwitches.gelu && x.dtype === 'float32' && wasmKernelsAvailable()) return wasmGelu(x);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, save] = args as [tf.Tensor, tf.GradSaveFunc];
    save([xi]);
    return {
      value: geluValue(xi),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [xs] = saved;
          const cdf = tf.mul(tf.add(1, tf.erf(tf.mul(xs, Math.SQRT1_2))), 0.5);
          const pdf = tf.mul(tf.exp(tf.mul(tf.square(xs), -0.5)), INV_SQRT_2PI);
          return tf.mul(dy, tf.add(cdf, tf.mul(xs, pdf)));
        }),
    };
  });
  return op(x) as T;
}
