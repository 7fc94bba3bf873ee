// The compiled kernels with their work split over a helper thread (src/util/wasm-helper-threads.ts, started for
// Node by src/cli/wasm-helper-threads-node.ts) on tfjs-wasm's threaded build (2 threads, shared memory): the
// GEMM's rows and slices, attention's (row, head) pairs, GELU's elements, the embeddings' and LayerNorm's rows, each against
// its reference on cpu or in float64; the helper must really have run a part, and matmul.ts must then use the
// GEMM although tfjs has 2 threads.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { describe, expect, it } from 'vitest';
import { enableRelaxedSimd } from '../../src/cli/backend.ts';
import { startKernelHelpers } from '../../src/cli/wasm-helper-threads-node.ts';
import { kernelHelperChunks, kernelHelperJobs, splitRange } from '../../src/util/wasm-helper-threads.ts';
import { wasmKernelSwitches } from '../../src/util/wasm-kernel-internals.ts';
import { linear2d } from '../../src/util/matmul.ts';
import { ATTENTION_SPLIT_MIN_SCORES, wasmFusedAttention, wasmPackedAttention } from '../../src/util/wasm-attention-kernel.ts';
import { GELU_SPLIT_MIN, wasmGelu, wasmGeluGrad } from '../../src/util/wasm-gelu-kernel.ts';
import { BATCH_SPLIT_MIN_WORK, GEMM_MIN_CHUNKS_PER_THREAD, GEMM_SPLIT_MIN_ROWS, WASM_GEMM, wasmBatchGemm, wasmGemm } from '../../src/util/wasm-gemm-kernel.ts';
import { ROWS_SPLIT_MIN, wasmAddLayerNorm, wasmEmbeddings } from '../../src/util/wasm-layer-norm-kernel.ts';
import { attentionCase, composedAttention, maxDiff, packedCase } from './helpers/attention-reference.ts';
import { gelu64, geluGrad64 } from './helpers/gelu-reference.ts';
import { GEMM_TOL } from './helpers/gemm-tolerances.ts';
import { useThreadedWasm } from './helpers/threaded-wasm.ts';

/** As encoder-wasm-attention.test.ts: the same kernel, the same sums. */
const ATTENTION_TOL = 1e-5;
/** As encoder-wasm-layer-norm.test.ts: sums of ≤ 384 terms in another order. */
const LAYER_NORM_TOL = 2e-6;
/** As encoder-wasm-gelu.test.ts: |Δ| ≤ TOL·max(1, |x|) against float64. */
const GELU_TOL = 1.5e-7;
const GRAD_TOL = 2e-7;
/** Calls of one kernel before the test gives up waiting for the helper to take a chunk. */
const MAX_SHARED_ROUNDS = 200;

enableRelaxedSimd();
const sharedWasmKernels = useThreadedWasm();
const uniform = (shape: [number, number] | [number], seed: number) => tf.randomUniform(shape, -1, 1, 'float32', seed);
/** Jobs the (one) helper has finished after f runs, minus before. */
const helperJobs = (f: () => void) => {
  const jobs = kernelHelperJobs()[0];
  f();
  return kernelHelperJobs()[0] - jobs;
};

describe('splitRange', () => {
  it('covers [0, n) in aligned, ordered ranges, no more than asked', () => {
    expect(splitRange(10, 1)).toEqual([[0, 10]]);
    expect(splitRange(133, 2, 6)).toEqual([[0, 72], [72, 133]]);
    expect(splitRange(5, 2, 6)).toEqual([[0, 5]]);
    expect(splitRange(9, 2)).toEqual([[0, 5], [5, 9]]);
    expect(splitRange(0, 2)).toEqual([]);
  });
});

describe('compiled kernels split over a helper thread', () => {
  it('wasmGemm equals tf.matMul on cpu in every transpose, the helper sharing the rows', async (ctx) => {
    await sharedWasmKernels(ctx);
    expect(await startKernelHelpers(1)).toBe(1);
    const [M, K, N] = [GEMM_SPLIT_MIN_ROWS + 37, 300, 70];
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const a = () => uniform(ta ? [K, M] : [M, K], 1) as tf.Tensor2D;
      const b = () => uniform(tb ? [N, K] : [K, N], 2) as tf.Tensor2D;
      const bias = () => uniform([N], 3) as tf.Tensor1D;
      let got: ArrayLike<number> = [];
      expect(helperJobs(() => (got = tf.tidy(() => wasmGemm(a(), b(), { transposeA: ta, transposeB: tb, bias: bias() }).dataSync()))), 'the helper ran a range').toBe(1);
      expect(await tf.setBackend('cpu')).toBe(true);
      const cpu = tf.tidy(() => tf.add(tf.matMul(a(), b(), ta, tb), bias()).dataSync());
      expect(await tf.setBackend('wasm')).toBe(true);
      expect(maxDiff(got, cpu), `transposeA ${ta}, transposeB ${tb}`).toBeLessThan(GEMM_TOL);
    }
  });

  it('wasmGemm, wasmFusedAttention and wasmPackedAttention share their work in chunks claimed as the threads go: the one-thread result bit for bit, the helper taking some', async (ctx) => {
    await sharedWasmKernels(ctx);
    expect(await startKernelHelpers(1)).toBe(1);
    const [M, K, N] = [2 * GEMM_MIN_CHUNKS_PER_THREAD * 6 * 9 + 5, 384, 384]; // smallest chunk 9 micro-tiles; a short last chunk
    const a = uniform([M, K], 4) as tf.Tensor2D;
    const b = uniform([K, N], 5) as tf.Tensor2D;
    const bias = uniform([N], 6) as tf.Tensor1D;
    const shape = { B: 3, T: 128, heads: 12, hs: 32 };
    expect(shape.B * shape.heads * shape.T ** 2).toBeGreaterThanOrEqual(ATTENTION_SPLIT_MIN_SCORES);
    const [q, k, v, mask] = attentionCase(shape);
    const packed = packedCase(shape); // lengths 128, 126, 124: pairs of unequal work
    const runs = {
      gemm: () => wasmGemm(a, b, { bias, activation: 'gelu' }),
      attention: () => wasmFusedAttention(q, k, v, mask, shape.heads, 0.125),
      packedAttention: () => wasmPackedAttention(packed.q, packed.k, packed.v, packed.starts, packed.maxSeq, shape.heads, 0.125),
    };
    // Every result stays allocated to the end, so no output reuses a buffer that already holds the answer.
    const kept: tf.Tensor[] = [];
    try {
      for (const [name, run] of Object.entries(runs)) {
        wasmKernelSwitches.helperThreads = false;
        const alone = run();
        kept.push(alone);
        wasmKernelSwitches.helperThreads = true;
        const chunks = kernelHelperChunks()[0];
        // At least 5 calls, and on until the helper has taken a chunk: it wakes within microseconds on an idle
        // core, but on cores busy with other work a whole call (a few ms) may end before it is scheduled.
        for (let round = 0; round < 5 || (kernelHelperChunks()[0] === chunks && round < MAX_SHARED_ROUNDS); round++) {
          let shared: tf.Tensor | undefined;
          expect(helperJobs(() => (shared = run()))).toBe(1);
          kept.push(shared!);
          expect(maxDiff(shared!.dataSync(), alone.dataSync()), `${name}, round ${round}`).toBe(0);
        }
        expect(kernelHelperChunks()[0] - chunks, name).toBeGreaterThan(0);
      }
    } finally {
      wasmKernelSwitches.helperThreads = true;
      tf.dispose([a, b, bias, q, k, v, mask, packed.q, packed.k, packed.v, packed.starts, ...kept]);
    }
  });

  it('wasmBatchGemm equals tf.matMul on cpu in every transpose, the helper running the second half of the slices', async (ctx) => {
    await sharedWasmKernels(ctx);
    expect(await startKernelHelpers(1)).toBe(1);
    const [S, M, K, N] = [7, 64, 48, 56]; // an odd slice count: parts of 4 and 3
    expect(S * M * K * N).toBeGreaterThanOrEqual(BATCH_SPLIT_MIN_WORK);
    const cube = (shape: number[], seed: number) => tf.randomUniform(shape as [number, number, number], -1, 1, 'float32', seed) as tf.Tensor3D;
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const a = () => cube(ta ? [S, K, M] : [S, M, K], 1);
      const b = () => cube(tb ? [S, N, K] : [S, K, N], 2);
      let got: ArrayLike<number> = [];
      expect(helperJobs(() => (got = tf.tidy(() => wasmBatchGemm(a(), b(), { transposeA: ta, transposeB: tb }).dataSync())))).toBe(1);
      expect(await tf.setBackend('cpu')).toBe(true);
      const cpu = tf.tidy(() => tf.matMul(a(), b(), ta, tb).dataSync());
      expect(await tf.setBackend('wasm')).toBe(true);
      expect(maxDiff(got, cpu), `transposeA ${ta}, transposeB ${tb}`).toBeLessThan(GEMM_TOL);
    }
  });

  it('with a helper per extra thread, linear2d takes the GEMM on 2 tfjs threads; below the split size it runs alone', async (ctx) => {
    await sharedWasmKernels(ctx);
    expect(await startKernelHelpers(1)).toBe(1);
    const names = async (rows: number) =>
      (await tf.profile(() => void tf.tidy(() => linear2d(uniform([rows, 8], 1) as tf.Tensor2D, uniform([8, 4], 2) as tf.Tensor2D, uniform([4], 3) as tf.Tensor1D).dataSync()))).kernels.map((k) => k.name);
    const jobs = kernelHelperJobs()[0];
    expect(await names(40)).toContain(WASM_GEMM);
    expect(kernelHelperJobs()[0]).toBe(jobs); // 40 rows < GEMM_SPLIT_MIN_ROWS: no hand-over
    expect(await names(GEMM_SPLIT_MIN_ROWS)).toContain(WASM_GEMM);
    expect(kernelHelperJobs()[0]).toBe(jobs + 1);
  });

  it('wasmFusedAttention equals the composed ops on cpu, the helper running the second half of the (row, head) pairs', async (ctx) => {
    await sharedWasmKernels(ctx);
    expect(await startKernelHelpers(1)).toBe(1);
    // 9 pairs (an odd count: parts of 5 and 4) of 97 queries, padded keys in every row; above the split size.
    const shape = { B: 3, T: 97, heads: 3, hs: 32 };
    expect(shape.B * shape.heads * shape.T ** 2).toBeGreaterThanOrEqual(ATTENTION_SPLIT_MIN_SCORES);
    const scale = 1 / Math.sqrt(shape.hs);
    let got: ArrayLike<number> = [];
    expect(helperJobs(() => (got = tf.tidy(() => wasmFusedAttention(...attentionCase(shape), shape.heads, scale).dataSync())))).toBe(1);
    // Below the split size: this thread alone.
    const small = { B: 1, T: 9, heads: 2, hs: 8 };
    expect(helperJobs(() => tf.tidy(() => wasmFusedAttention(...attentionCase(small), small.heads, 0.5).dataSync()))).toBe(0);
    expect(await tf.setBackend('cpu')).toBe(true);
    const cpu = tf.tidy(() => composedAttention(...attentionCase(shape), shape.heads, scale).dataSync());
    expect(await tf.setBackend('wasm')).toBe(true);
    expect(maxDiff(got, cpu)).toBeLessThan(ATTENTION_TOL);
  });

  it('wasmGelu and wasmGeluGrad equal float64 GELU over a split range with a SIMD tail, the helper running one part of each', async (ctx) => {
    await sharedWasmKernels(ctx);
    expect(await startKernelHelpers(1)).toBe(1);
    const n = GELU_SPLIT_MIN + 5003;
    const xs = Float32Array.from({ length: n }, (_, i) => -12 + (24 * i) / (n - 1));
    const dys = Float32Array.from({ length: n }, (_, i) => 1 + (i % 7) / 8);
    let y: ArrayLike<number> = [];
    let g: ArrayLike<number> = [];
    expect(helperJobs(() => (y = tf.tidy(() => wasmGelu(tf.tensor1d(xs)).dataSync())))).toBe(1);
    expect(helperJobs(() => (g = tf.tidy(() => wasmGeluGrad(tf.tensor1d(xs), tf.tensor1d(dys)).dataSync())))).toBe(1);
    xs.forEach((x, i) => {
      const tol = Math.max(1, Math.abs(x));
      if (Math.abs(y[i] - gelu64(x)) > GELU_TOL * tol) expect.fail(`gelu(${x}) = ${y[i]}, float64 ${gelu64(x)} (element ${i})`);
      if (Math.abs(g[i] - dys[i] * geluGrad64(x)) > GRAD_TOL * tol * dys[i]) expect.fail(`gelu'(${x})·${dys[i]} = ${g[i]}, float64 ${dys[i] * geluGrad64(x)} (element ${i})`);
    });
  });

  it('wasmAddLayerNorm and wasmEmbeddings equal the composed ops on cpu, the helper running the second half of the rows', async (ctx) => {
    await sharedWasmKernels(ctx);
    expect(await startKernelHelpers(1)).toBe(1);
    const [rows, d, V, T] = [ROWS_SPLIT_MIN + 33, 384, 100, 97];
    const ids = tf.tensor1d(Int32Array.from({ length: rows }, (_, i) => (i * 37) % V), 'int32');
    const types = tf.tensor1d(Int32Array.from({ length: rows }, (_, i) => i % 2), 'int32');
    const norm = () => [uniform([rows, d], 1) as tf.Tensor2D, uniform([rows, d], 2) as tf.Tensor2D, uniform([d], 3) as tf.Tensor1D, uniform([d], 4) as tf.Tensor1D] as const;
    const tables = () => [uniform([V, d], 5) as tf.Tensor2D, uniform([T, d], 6) as tf.Tensor2D, uniform([2, d], 7) as tf.Tensor2D] as const;
    let got: ArrayLike<number> = [];
    let emb: ArrayLike<number> = [];
    expect(helperJobs(() => (got = tf.tidy(() => wasmAddLayerNorm(...norm(), 1e-12).dataSync())))).toBe(1);
    expect(helperJobs(() => (emb = tf.tidy(() => wasmEmbeddings(...tables(), ids, types, T).dataSync())))).toBe(1);
    const [idsData, typesData] = [ids.dataSync(), types.dataSync()];
    expect(await tf.setBackend('cpu')).toBe(true);
    const cpu = tf.tidy(() => {
      const [x, r, g, b] = norm();
      const y = tf.add(x, r);
      const centred = tf.sub(y, tf.mean(y, -1, true));
      return tf.add(tf.mul(tf.mul(centred, tf.rsqrt(tf.add(tf.mean(tf.square(centred), -1, true), 1e-12))), g), b).dataSync();
    });
    const cpuEmb = tf.tidy(() => {
      const [word, pos, type] = tables();
      return tf.add(tf.add(tf.gather(word, tf.tensor1d(idsData, 'int32')), pos), tf.gather(type, tf.tensor1d(typesData, 'int32'))).dataSync();
    });
    expect(await tf.setBackend('wasm')).toBe(true);
    expect(maxDiff(got, cpu)).toBeLessThan(LAYER_NORM_TOL);
    expect(maxDiff(emb, cpuEmb)).toBe(0);
  });
});
