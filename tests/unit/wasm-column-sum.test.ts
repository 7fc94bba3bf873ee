// The compiled column sum (src/util/wasm-column-sum-kernel.{c,ts}), a bias's gradient in matmul.ts' products,
// against tf.sum(x, 0) on the cpu backend (float32 sums in row order against the cpu's): any column count, a
// column split over a helper thread equal to one thread bit for bit, and linear2d's bias gradient taking it.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { describe, expect, it } from 'vitest';
import { startKernelHelpers } from '../../src/cli/wasm-helper-threads-node.ts';
import { linear2d } from '../../src/util/matmul.ts';
import { COLUMN_SUM_SPLIT_MIN, WASM_COLUMN_SUM, wasmColumnSum } from '../../src/util/wasm-column-sum-kernel.ts';
import { kernelHelperJobs } from '../../src/util/wasm-helper-threads.ts';
import { wasmKernelSwitches } from '../../src/util/wasm-kernel-internals.ts';
import { maxDiff } from './helpers/attention-reference.ts';
import { useThreadedWasm } from './helpers/threaded-wasm.ts';

/** Sums of ≤ 2,100 terms of |x| ≤ 1 in float32, in another order than the cpu backend's. */
const SUM_TOL = 2e-4;

const sharedWasmKernels = useThreadedWasm();
const matrix = (rows: number, cols: number, seed: number) => tf.randomUniform([rows, cols], -1, 1, 'float32', seed) as tf.Tensor2D;
const read = (t: tf.Tensor) => {
  const data = t.dataSync();
  t.dispose();
  return data;
};

describe('wasmColumnSum', () => {
  it.each([[1, 1], [3, 7], [50, 384], [2100, 37]])('equals tf.sum over axis 0 on cpu: %i × %i', async (rows, cols) => {
    await tf.setBackend('cpu');
    const want = read(tf.tidy(() => tf.sum(matrix(rows, cols, 3), 0)));
    await tf.setBackend('wasm');
    const got = read(tf.tidy(() => wasmColumnSum(matrix(rows, cols, 3))));
    expect(got.length).toBe(cols);
    expect(maxDiff(got, want)).toBeLessThan(SUM_TOL);
  });

  it('split over the helper thread equals one thread bit for bit, the helper running a part', async (ctx) => {
    await sharedWasmKernels(ctx);
    expect(await startKernelHelpers(1)).toBe(1);
    const [rows, cols] = [300, 391];
    expect(rows * cols).toBeGreaterThanOrEqual(COLUMN_SUM_SPLIT_MIN);
    const jobs = kernelHelperJobs()[0];
    const split = read(tf.tidy(() => wasmColumnSum(matrix(rows, cols, 5))));
    expect(kernelHelperJobs()[0] - jobs).toBe(1);
    wasmKernelSwitches.helperThreads = false;
    try {
      expect(Array.from(split)).toEqual(Array.from(read(tf.tidy(() => wasmColumnSum(matrix(rows, cols, 5))))));
    } finally {
      wasmKernelSwitches.helperThreads = true;
    }
  });

  it("gives linear2d's bias gradient, as tf.sum does with the switch off", async () => {
    await tf.setBackend('wasm');
    const grads = () => tf.tidy(() => tf.grads((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => linear2d(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D))([matrix(64, 24, 1), matrix(24, 40, 2), tf.randomUniform([40], -1, 1, 'float32', 3)], matrix(64, 40, 4))[2]);
    let ours: ArrayLike<number> = [];
    const { kernels } = await tf.profile(() => void (ours = read(grads())));
    expect(kernels.map((k) => k.name)).toContain(WASM_COLUMN_SUM);
    wasmKernelSwitches.columnSum = false;
    try {
      expect(maxDiff(ours, read(grads()))).toBeLessThan(SUM_TOL);
    } finally {
      wasmKernelSwitches.columnSum = true;
    }
  });

  it('refuses what is not a float32 matrix', async () => {
    await tf.setBackend('wasm');
    expect(() => tf.tidy(() => wasmColumnSum(tf.zeros([2, 3, 4]) as unknown as tf.Tensor2D))).toThrow(/expects a float32 matrix/);
  });
});
