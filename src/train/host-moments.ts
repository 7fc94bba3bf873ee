// AdamW's moments on its host path (optimizer.ts hostStep, the wasm default), per variable in one of two forms:
// a Float32Array for the JavaScript loop, or — where the compiled kernel runs (src/util/wasm-adamw-kernel.ts) — a
// float32 tensor on the wasm heap that the kernel updates in place. Only the optimizer holds them; a moment moves
// from one form to the other when the kernel's switch changes between steps, values unchanged.
import * as tf from '@tensorflow/tfjs-core';

/** One moment: host array, heap tensor, or null before the variable's first update. */
export type HostMoment = Float32Array | tf.Tensor | null;

/** x as a Float32Array of n values: a tensor is read back and disposed; null gives zeros. */
export function momentArray(x: HostMoment, n: number): Float32Array {
  if (x instanceof Float32Array) return x;
  if (!x) return new Float32Array(n);
  const a = (x.dataSync() as Float32Array).slice();
  x.dispose();
  return a;
}

/**
 * x as a float32 tensor of `shape`, kept out of any enclosing tf.tidy: an array is copied onto the backend (the
 * tensor owns its buffer: the kernel may write it in place); null gives zeros.
 */
export function momentTensor(x: HostMoment, shape: number[]): tf.Tensor {
  if (x instanceof tf.Tensor) return x;
  return tf.keep(x ? tf.tensor(x, shape, 'float32') : tf.zeros(shape, 'float32'));
}

/** A copy of x's values (getState); null stays null. */
export async function momentCopy(x: HostMoment): Promise<Float32Array | null> {
  if (!x) return null;
  return x instanceof Float32Array ? x.slice() : new Float32Array(await x.data());
}

export function disposeMoment(x: HostMoment): void {
  if (x instanceof tf.Tensor) x.dispose();
}
