// The compiled batched GEMM (WASM_BATCH_GEMM, src/util/wasm-gemm-kernel.ts: op(A_s)·op(B_s) per slice) on
// tfjs-backend-wasm against tf.matMul on the cpu backend: every transpose, slices that cut the micro-tile and
// the 256-deep block; then matmul.ts' batchMatMul and attentionMatMul on it, forward and gradients, against
// the composed ops on cpu. Split over a helper thread: wasm-helper-threads.test.ts.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { describe, expect, it } from 'vitest';
import { enableRelaxedSimd } from '../../src/cli/backend.ts';
import { attentionMatMul, batchMatMul } from '../../src/util/matmul.ts';
import { WASM_BATCH_GEMM, wasmBatchGemm } from '../../src/util/wasm-gemm-kernel.ts';
import { wasmKernelSwitches } from '../../src/util/wasm-kernel-internals.ts';
import { maxDiff } from './helpers/attention-reference.ts';
import { GEMM_TOL, GRAD_TOL } from './helpers/gemm-tolerances.ts';

enableRelaxedSimd();

async function on<T>(backend: string, f: () => T | Promise<T>): Promise<T> {
  expect(await tf.setBackend(backend)).toBe(true);
  return f();
}

const uniform = (shape: number[], seed: number) => tf.randomUniform(shape as [number, number, number], -1, 1, 'float32', seed) as tf.Tensor3D;

/** (S, M, K, N): one slice of one element; below a micro-tile; cutting rows and columns; past KC 256. */
const SHAPES: [number, number, number, number][] = [
  [1, 1, 1, 1],
  [3, 5, 3, 7],
  [4, 37, 100, 13],
  [2, 13, 257, 40],
];

describe('wasmBatchGemm', () => {
  it.each(SHAPES)('equals tf.matMul on cpu for S %i, M %i, K %i, N %i in every transpose', async (S, M, K, N) => {
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const a = () => uniform(ta ? [S, K, M] : [S, M, K], 1);
      const b = () => uniform(tb ? [S, N, K] : [S, K, N], 2);
      const cpu = await on('cpu', () => tf.tidy(() => tf.matMul(a(), b(), ta, tb).dataSync()));
      const got = await on('wasm', () =>
        tf.tidy(() => {
          const out = wasmBatchGemm(a(), b(), { transposeA: ta, transposeB: tb });
          expect(out.shape).toEqual([S, M, N]);
          return out.dataSync();
        }),
      );
      expect(maxDiff(got, cpu), `transposeA ${ta}, transposeB ${tb}`).toBeLessThan(GEMM_TOL);
    }
  });

  it('names the kernel and the shapes when they do not fit', async () => {
    await on('wasm', () => {
      expect(() => wasmBatchGemm(tf.zeros([2, 4, 3]) as tf.Tensor3D, tf.zeros([2, 5, 2]) as tf.Tensor3D)).toThrow(/ExpandrWasmBatchGemm: .*got A \[2,4,3\] float32, B \[2,5,2\] float32/);
      expect(() => wasmBatchGemm(tf.zeros([2, 4, 3]) as tf.Tensor3D, tf.zeros([3, 3, 2]) as tf.Tensor3D)).toThrow(WASM_BATCH_GEMM);
    });
  });
});

describe('batchMatMul and attentionMatMul on the batched GEMM: values and gradients equal the composed ops on cpu', () => {
  const [S, M, K, N] = [6, 40, 24, 30]; // M ≥ GEMM_MIN_ROWS
  const cases = [
    { name: 'batchMatMul', run: (a: tf.Tensor3D, b: tf.Tensor3D) => batchMatMul(a, b), bShape: [S, K, N] },
    { name: 'attentionMatMul, b transposed', run: (a: tf.Tensor3D, b: tf.Tensor3D) => attentionMatMul(a, b, true), bShape: [S, N, K] },
    { name: 'attentionMatMul', run: (a: tf.Tensor3D, b: tf.Tensor3D) => attentionMatMul(a, b, false), bShape: [S, K, N] },
  ];
  for (const { name, run, bShape } of cases) {
    it(`${name}: the WASM_BATCH_GEMM kernel runs, forward and backward`, async () => {
      const once = () =>
        tf.tidy(() => {
          const a = uniform([S, M, K], 4);
          const b = uniform(bShape, 5);
          const [da, db] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(run(x as tf.Tensor3D, y as tf.Tensor3D))))([a, b]);
          return { y: run(a, b).dataSync(), da: da.dataSync(), db: db.dataSync() };
        });
      const cpu = await on('cpu', once);
      const profile = await on('wasm', () => tf.profile(() => void once()));
      expect(profile.kernels.filter((k) => k.name === WASM_BATCH_GEMM).length).toBeGreaterThanOrEqual(4); // value twice, da, db
      expect(profile.kernels.map((k) => k.name)).not.toContain('Transpose');
      const wasm = await on('wasm', once);
      expect(maxDiff(wasm.y, cpu.y)).toBeLessThan(GEMM_TOL * 10);
      expect(maxDiff(wasm.da, cpu.da)).toBeLessThan(GRAD_TOL * 100);
      expect(maxDiff(wasm.db, cpu.db)).toBeLessThan(GRAD_TOL * 100);
    });
  }

  it('with the GEMM switched off the products stay on the sliced XNNPACK path', async () => {
    await on('wasm', async () => {
      wasmKernelSwitches.gemm = false;
      try {
        const names = (await tf.profile(() => void tf.tidy(() => batchMatMul(uniform([S, M, K], 1), uniform([S, K, N], 2)).dataSync()))).kernels.map((k) => k.name);
        expect(names).not.toContain(WASM_BATCH_GEMM);
      } finally {
        wasmKernelSwitches.gemm = true;
      }
    });
  });
});
