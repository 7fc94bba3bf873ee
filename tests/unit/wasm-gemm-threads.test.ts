// The compiled GEMM with its rows split over a helper thread (src/util/gemm-helpers.ts, started for Node by
// src/cli/gemm-helpers-node.ts) on tfjs-wasm's threaded build (2 threads, shared memory), against tf.matMul on
// cpu; the helper must really have run rows, and matmul.ts must then use the GEMM although tfjs has 2 threads.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { describe, expect, it } from 'vitest';
import { enableRelaxedSimd } from '../../src/cli/backend.ts';
import { startGemmHelpers } from '../../src/cli/gemm-helpers-node.ts';
import { gemmHelperJobs, GEMM_SPLIT_MIN_ROWS } from '../../src/util/gemm-helpers.ts';
import { linear2d } from '../../src/util/matmul.ts';
import { WASM_GEMM, wasmGemm } from '../../src/util/wasm-gemm-kernel.ts';
import { maxDiff } from './helpers/attention-reference.ts';
import { useThreadedWasm } from './helpers/threaded-wasm.ts';

/** As tests/unit/wasm-gemm.test.ts: sums of ≤ 300 products of values in [−1, 1], another order, fused multiply-adds. */
const GEMM_TOL = 2e-5;

enableRelaxedSimd();
const sharedWasmKernels = useThreadedWasm();
const uniform = (shape: [number, number] | [number], seed: number) => tf.randomUniform(shape, -1, 1, 'float32', seed);

describe('wasmGemm split over a helper thread', () => {
  it('equals tf.matMul on cpu in every transpose, the helper running the second half of the rows', async (ctx) => {
    await sharedWasmKernels(ctx);
    expect(await startGemmHelpers(1)).toBe(1);
    const [M, K, N] = [GEMM_SPLIT_MIN_ROWS + 37, 300, 70];
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const a = () => uniform(ta ? [K, M] : [M, K], 1) as tf.Tensor2D;
      const b = () => uniform(tb ? [N, K] : [K, N], 2) as tf.Tensor2D;
      const bias = () => uniform([N], 3) as tf.Tensor1D;
      const jobs = gemmHelperJobs()[0];
      const got = tf.tidy(() => wasmGemm(a(), b(), { transposeA: ta, transposeB: tb, bias: bias() }).dataSync());
      expect(gemmHelperJobs()[0], 'the helper ran a range').toBe(jobs + 1);
      expect(await tf.setBackend('cpu')).toBe(true);
      const cpu = tf.tidy(() => tf.add(tf.matMul(a(), b(), ta, tb), bias()).dataSync());
      expect(await tf.setBackend('wasm')).toBe(true);
      expect(maxDiff(got, cpu), `transposeA ${ta}, transposeB ${tb}`).toBeLessThan(GEMM_TOL);
    }
  });

  it('with a helper per extra thread, linear2d takes the GEMM on 2 tfjs threads; below the split size it runs alone', async (ctx) => {
    await sharedWasmKernels(ctx);
    expect(await startGemmHelpers(1)).toBe(1);
    const names = async (rows: number) =>
      (await tf.profile(() => void tf.tidy(() => linear2d(uniform([rows, 8], 1) as tf.Tensor2D, uniform([8, 4], 2) as tf.Tensor2D, uniform([4], 3) as tf.Tensor1D).dataSync()))).kernels.map((k) => k.name);
    const jobs = gemmHelperJobs()[0];
    expect(await names(40)).toContain(WASM_GEMM);
    expect(gemmHelperJobs()[0]).toBe(jobs); // 40 rows < GEMM_SPLIT_MIN_ROWS: no hand-over
    expect(await names(GEMM_SPLIT_MIN_ROWS)).toContain(WASM_GEMM);
    expect(gemmHelperJobs()[0]).toBe(jobs + 1);
  });
});
