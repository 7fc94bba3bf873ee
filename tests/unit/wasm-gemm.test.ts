// The compiled GEMM (src/util/wasm-gemm-kernel.ts) on tfjs-backend-wasm, in both builds (plain wasm SIMD and
// relaxed SIMD's fused multiply-add), against tf.matMul on the cpu backend: every transpose, a bias, shapes
// that cut the 6 × 8 micro-tile, the 256-deep and 128-wide blocks at their edges; then the products of
// matmul.ts that use it, forward and gradients, against the composed ops on cpu.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { afterAll, describe, expect, it } from 'vitest';
import { enableRelaxedSimd } from '../../src/cli/backend.ts';
import { linear2d, matMul2d, matMulBT } from '../../src/util/matmul.ts';
import { WASM_GEMM, wasmGemm } from '../../src/util/wasm-gemm-kernel.ts';
import { wasmGelu } from '../../src/util/wasm-gelu-kernel.ts';
import { wasmKernelSwitches } from '../../src/util/wasm-kernel-internals.ts';
import { setWasmKernelsRelaxed, wasmKernelsAvailable } from '../../src/util/wasm-kernel-module.ts';
import { maxDiff } from './helpers/attention-reference.ts';
import { GEMM_TOL, GRAD_TOL } from './helpers/gemm-tolerances.ts';

enableRelaxedSimd();

async function on<T>(backend: string, f: () => T | Promise<T>): Promise<T> {
  expect(await tf.setBackend(backend)).toBe(true);
  return f();
}

const uniform = (shape: [number, number] | [number], seed: number) => tf.randomUniform(shape, -1, 1, 'float32', seed);

/** (M, K, N): one element; below a micro-tile; cutting rows (6) and columns (8); past KC 256 and NC 128. */
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [5, 3, 7],
  [37, 100, 13],
  [64, 300, 136],
  [13, 257, 129],
];

afterAll(() => {
  setWasmKernelsRelaxed(true);
  wasmKernelSwitches.gemm = true;
});

for (const relaxed of [false, true]) {
  describe(`wasmGemm, ${relaxed ? 'relaxed SIMD (f32x4.relaxed_madd)' : 'plain wasm SIMD'} build`, () => {
    it('is the build asked for', async () => {
      await on('wasm', () => {
        expect(setWasmKernelsRelaxed(relaxed)).toBe(relaxed);
        expect(wasmKernelsAvailable()).toBe(true);
      });
    });

    it.each(SHAPES)('equals tf.matMul on cpu for M %i, K %i, N %i in every transpose, with and without a bias', async (M, K, N) => {
      for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
        const a = () => uniform(ta ? [K, M] : [M, K], 1);
        const b = () => uniform(tb ? [N, K] : [K, N], 2);
        const bias = () => uniform([N], 3) as tf.Tensor1D;
        const cpu = await on('cpu', () => tf.tidy(() => [tf.matMul(a(), b(), ta, tb).dataSync(), tf.add(tf.matMul(a(), b(), ta, tb), bias()).dataSync()]));
        const got = await on('wasm', () =>
          tf.tidy(() => [wasmGemm(a() as tf.Tensor2D, b() as tf.Tensor2D, { transposeA: ta, transposeB: tb }).dataSync(), wasmGemm(a() as tf.Tensor2D, b() as tf.Tensor2D, { transposeA: ta, transposeB: tb, bias: bias() }).dataSync()]),
        );
        expect(maxDiff(got[0], cpu[0]), `transposeA ${ta}, transposeB ${tb}`).toBeLessThan(GEMM_TOL);
        expect(maxDiff(got[1], cpu[1]), `transposeA ${ta}, transposeB ${tb}, bias`).toBeLessThan(GEMM_TOL);
      }
    });
  });
}

describe('wasmGemm with GELU at its store', () => {
  // K 300 > 256: the GELU must apply after the last depth block only; N 37: a column edge; M 13: a row edge.
  it.each([[13, 300, 37], [64, 100, 136]])('equals the GELU kernel on the product bit for bit, both builds: M %i, K %i, N %i', async (M, K, N) => {
    for (const relaxed of [false, true]) {
      await on('wasm', () => {
        expect(setWasmKernelsRelaxed(relaxed)).toBe(relaxed);
        const [fused, apart] = tf.tidy(() => {
          const [a, b, bias] = [uniform([M, K], 1) as tf.Tensor2D, uniform([K, N], 2) as tf.Tensor2D, uniform([N], 3) as tf.Tensor1D];
          return [wasmGemm(a, b, { bias, activation: 'gelu' }).dataSync(), wasmGelu(wasmGemm(a, b, { bias })).dataSync()];
        });
        expect(Array.from(fused).filter((x, i) => !Object.is(x, apart[i])), `relaxed ${relaxed}`).toEqual([]);
        expect(Math.min(...fused)).toBeLessThan(0); // GELU's negative lobe: the activation did run
      });
    }
    setWasmKernelsRelaxed(true);
  });
});

describe('wasmGemm input checks', () => {
  it('names the kernel and the shapes when K or the bias do not fit', async () => {
    await on('wasm', () => {
      const a = tf.zeros([4, 3]) as tf.Tensor2D;
      expect(() => wasmGemm(a, tf.zeros([5, 2]) as tf.Tensor2D)).toThrow(/ExpandrWasmGemm: expects float32 A \(M, K\), B \(K, N\).*got A \[4,3\] float32, B \[5,2\] float32/);
      expect(() => wasmGemm(a, tf.zeros([3, 2]) as tf.Tensor2D, { bias: tf.zeros([3]) as tf.Tensor1D })).toThrow(/bias \[3\]/);
      expect(wasmGemm(tf.zeros([0, 3]) as tf.Tensor2D, tf.zeros([3, 2]) as tf.Tensor2D).shape).toEqual([0, 2]);
    });
  });
});

describe('matmul.ts on the GEMM (one tfjs-wasm thread): values and gradients equal the composed ops on cpu', () => {
  const M = 40; // ≥ GEMM_MIN_ROWS
  type Case = { name: string; run: (x: tf.Tensor2D, w: tf.Variable, b: tf.Variable) => tf.Tensor2D; wShape: [number, number] };
  const cases: Case[] = [
    { name: 'linear2d', run: (x, w, b) => linear2d(x, w as tf.Tensor2D, b as tf.Tensor1D), wShape: [70, 50] },
    { name: 'matMul2d', run: (x, w) => matMul2d(x, w as tf.Tensor2D), wShape: [70, 50] },
    { name: 'matMulBT', run: (x, w) => matMulBT(x, w as tf.Tensor2D), wShape: [50, 70] },
  ];
  for (const { name, run, wShape } of cases) {
    it(`${name}: the WASM_GEMM kernel runs, forward and backward`, async () => {
      const once = () => {
        const x = uniform([M, 70], 4) as tf.Tensor2D;
        const w = tf.variable(uniform(wShape, 5));
        const b = tf.variable(uniform([50], 6));
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(run(x, w, b))) as tf.Scalar, [w, b]);
        const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.square(run(t as tf.Tensor2D, w, b))))(x);
        const y = run(x, w, b);
        const out = { loss: value.dataSync()[0], dw: grads[w.name].dataSync() as Float32Array, dx: dx.dataSync() as Float32Array, y: y.dataSync() as Float32Array };
        tf.dispose([x, w, b, value, dx, y, ...Object.values(grads)]);
        return out;
      };
      const cpu = await on('cpu', once);
      const profile = await on('wasm', () => tf.profile(() => void once()));
      expect(profile.kernels.filter((k) => k.name === WASM_GEMM).length).toBeGreaterThanOrEqual(3); // value, dx, dw
      const wasm = await on('wasm', once);
      expect(Math.abs(wasm.loss - cpu.loss) / cpu.loss).toBeLessThan(GRAD_TOL);
      expect(maxDiff(wasm.dw, cpu.dw)).toBeLessThan(GRAD_TOL * 100); // dW sums 40 rows of products ~10
      expect(maxDiff(wasm.dx, cpu.dx)).toBeLessThan(GRAD_TOL * 100);
      expect(maxDiff(wasm.y, cpu.y)).toBeLessThan(GEMM_TOL * 10);
    });
  }

  it('a frozen weight (trainable false) gets no gradient and the input its own', async () => {
    const once = () =>
      tf.tidy(() => {
        const x = uniform([M, 70], 4) as tf.Tensor2D;
        const w = tf.variable(uniform([50, 70], 5), false) as tf.Variable<tf.Rank.R2>;
        const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.square(matMulBT(t as tf.Tensor2D, w))))(x).dataSync();
        w.dispose();
        return dx;
      });
    const cpu = await on('cpu', once);
    const wasm = await on('wasm', once);
    expect(maxDiff(wasm, cpu)).toBeLessThan(GRAD_TOL * 100);
  });

  it('below GEMM_MIN_ROWS rows, and with the switch off, the products stay with XNNPACK', async () => {
    await on('wasm', async () => {
      const names = async (rows: number) =>
        (await tf.profile(() => void tf.tidy(() => linear2d(uniform([rows, 8], 1) as tf.Tensor2D, uniform([8, 4], 2) as tf.Tensor2D, uniform([4], 3) as tf.Tensor1D).dataSync()))).kernels.map((k) => k.name);
      expect(await names(40)).toContain(WASM_GEMM);
      expect(await names(3)).not.toContain(WASM_GEMM);
      wasmKernelSwitches.gemm = false;
      expect(await names(40)).not.toContain(WASM_GEMM);
      wasmKernelSwitches.gemm = true;
    });
  });
});
