// The project's own tfjs-wasm kernel (src/util/wasm-matmul-kernel.ts) against the cpu backend: values,
// gradients through its caller (batchMatMul), the switched-off path it replaced, and no tensor leaks.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { describe, expect, it } from 'vitest';
import { batchMatMul } from '../../src/util/matmul.ts';
import { wasmKernelSwitches } from '../../src/util/wasm-kernel-internals.ts';
import { wasmSlicedBatchMatMul } from '../../src/util/wasm-matmul-kernel.ts';

/** float32 products of length ≤ 64 summed in another order: a few ulp of values ~10. */
const PRODUCT_TOL = 1e-5;

const seq = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
};

async function on<T>(backend: string, f: () => T): Promise<T> {
  expect(await tf.setBackend(backend)).toBe(true);
  return f();
}

describe('wasmSlicedBatchMatMul (2D XNNPACK products on heap slices)', () => {
  const a = () => tf.tensor3d(seq(5 * 7 * 3, (i) => Math.sin(i)), [5, 7, 3]);
  const b = () => tf.tensor3d(seq(5 * 3 * 4, (i) => Math.cos(0.7 * i)), [5, 3, 4]);

  it('equals tf.matMul on cpu, and leaves no tensors behind', async () => {
    const want = await on('cpu', () => tf.tidy(() => tf.matMul(a(), b()).dataSync()));
    const got = await on('wasm', () => {
      const [x, y] = [a(), b()];
      const before = tf.memory().numTensors;
      const out = wasmSlicedBatchMatMul(x, y);
      expect(out.shape).toEqual([5, 7, 4]);
      expect(tf.memory().numTensors).toBe(before + 1);
      const v = out.dataSync();
      tf.dispose([x, y, out]);
      return v;
    });
    expect(maxDiff(got, want)).toBeLessThan(PRODUCT_TOL);
  });

  it('reuses no stale XNNPACK operator: the same shapes with new data give new products', async () => {
    await on('wasm', () => {
      for (const s of [1, -2]) {
        const [x, y] = [a(), tf.mul(b(), s) as tf.Tensor3D];
        const got = wasmSlicedBatchMatMul(x, y).dataSync();
        const want = tf.matMul(x, y).dataSync(); // wasm's own (slow-path) batched product
        expect(maxDiff(got, want)).toBeLessThan(PRODUCT_TOL);
        tf.dispose([x, y]);
      }
    });
  });

  it('batchMatMul gives the same values and gradients with the kernel on and off', async () => {
    const run = () =>
      tf.tidy(() => {
        const [x, y] = [a(), b()];
        const dy = tf.tensor3d(seq(5 * 7 * 4, (i) => Math.sin(0.3 * i)), [5, 7, 4]);
        const [gx, gy] = tf.grads((p: tf.Tensor, q: tf.Tensor) => batchMatMul(p as tf.Tensor3D, q as tf.Tensor3D))([x, y], dy);
        return [batchMatMul(x, y).dataSync(), gx.dataSync(), gy.dataSync()];
      });
    const on1 = await on('wasm', run);
    wasmKernelSwitches.slicedMatMul = false;
    try {
      const off = await on('wasm', run);
      on1.forEach((v, i) => expect(maxDiff(v, off[i])).toBeLessThan(PRODUCT_TOL));
    } finally {
      wasmKernelSwitches.slicedMatMul = true;
    }
  });
});
