// The compiled attention probabilities (src/util/wasm-attention-probs-kernel.{c,ts}, used by
// src/encoder/attention-probs.ts on wasm) against the composed tfjs ops on the cpu backend (tf.softmax, tf.dropout
// and their autograd): forward and gradient within float32 rounding, for key counts that are and are not multiples
// of 4, with and without dropout (tf.dropout's masks, bit for bit in where they drop); and the dropout pass's
// lanes and helper threads, which start where Alea's stream reaches them (aleaJump), against seedrandom itself.
// On tfjs-wasm's threaded build with one helper, so the row and range splits are exercised too.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import * as seedrandomModule from 'seedrandom';
import { describe, expect, it } from 'vitest';
import { startKernelHelpers } from '../../src/cli/wasm-helper-threads-node.ts';
import { attentionProbs, type ProbsDropout } from '../../src/encoder/attention-probs.ts';
import { kernelHelperJobs } from '../../src/util/wasm-helper-threads.ts';
import { WASM_ATTENTION_PROBS, WASM_ATTENTION_PROBS_GRAD, wasmAttentionProbs } from '../../src/util/wasm-attention-probs-kernel.ts';
import { aleaJump, DROPOUT_SPLIT_MIN, seededDropout, wasmDropoutMultiplier } from '../../src/util/wasm-dropout-kernel.ts';
import { wasmKernelSwitches } from '../../src/util/wasm-kernel-internals.ts';
import { maxDiff } from './helpers/attention-reference.ts';
import { useThreadedWasm } from './helpers/threaded-wasm.ts';

/** Probabilities: another exp (Cephes' on 4 lanes vs Math.exp) and sum order: |Δ| of a few float32 ulps of 1. */
const PROBS_TOL = 1e-6;
/** Gradients: the same formula with sums of ≤ T terms in another order, times 1/keep. */
const GRAD_TOL = 2e-6;

type Alea = (seed: string, options?: { state: unknown }) => (() => number) & { state(): { s0: number; s1: number; s2: number; c: number } };
const seedrandom = seedrandomModule as unknown as { alea?: Alea; default?: { alea: Alea } };
const alea: Alea = seedrandom.alea ?? seedrandom.default!.alea;

const sharedWasmKernels = useThreadedWasm();
const helperJobs = async (f: () => Promise<void> | void) => {
  const jobs = kernelHelperJobs()[0];
  await f();
  return kernelHelperJobs()[0] - jobs;
};

function inputs(B: number, H: number, T: number) {
  const scores = tf.randomNormal([B, H, T, T], 0, 3, 'float32', 4) as tf.Tensor4D;
  // Batch b masks its last 3·b keys, as padding does (the bert.ts mask value).
  const mask = tf.tensor4d(Array.from({ length: B * T }, (_, i) => (i % T >= T - 3 * Math.floor(i / T) ? -1e9 : 0)), [B, 1, 1, T]);
  const dy = tf.randomNormal([B, H, T, T], 0, 1, 'float32', 5);
  return { scores, mask, dy };
}

const composed = (s: tf.Tensor4D, mask: tf.Tensor, scale: number, d: ProbsDropout | null) => {
  const p = tf.softmax(tf.add(tf.mul(s, scale), mask));
  return d ? tf.dropout(p, d.rate, undefined, d.seed) : p;
};

/** Forward values and the scores' gradient of f on the active backend. */
function run(f: typeof composed, B: number, H: number, T: number, scale: number, d: ProbsDropout | null) {
  return tf.tidy(() => {
    const { scores, mask, dy } = inputs(B, H, T);
    const y = f(scores, mask, scale, d).dataSync();
    const [g] = tf.grads((s: tf.Tensor) => f(s as tf.Tensor4D, mask, scale, d))([scores], dy);
    return { y, g: g.dataSync() };
  });
}

describe('compiled attention probabilities', () => {
  const cases: [number, number, number, ProbsDropout | null][] = [
    [2, 3, 16, null],
    [2, 3, 13, null],
    [2, 3, 13, { rate: 0.1, seed: 77 }],
    [3, 12, 40, { rate: 0.1, seed: 2 ** 31 + 5 }], // 1,440 rows: split over the helper
  ];
  it.each(cases)('equal the composed ops on cpu: B %i, heads %i, T %i, dropout %j', async (B, H, T, d) => {
    await tf.setBackend('cpu');
    const want = run(composed, B, H, T, 0.35, d);
    await tf.setBackend('wasm');
    let got = { y: new Float32Array(), g: new Float32Array() } as ReturnType<typeof run>;
    const { kernels } = await tf.profile(() => void (got = run(attentionProbs, B, H, T, 0.35, d)));
    expect(kernels.map((k) => k.name)).toEqual(expect.arrayContaining([WASM_ATTENTION_PROBS, WASM_ATTENTION_PROBS_GRAD]));
    expect(maxDiff(got.y, want.y)).toBeLessThan(PROBS_TOL * (d ? 1 / (1 - d.rate) : 1));
    // Dropped exactly where tf.dropout drops.
    expect(Array.from(got.y).every((v, i) => (v === 0) === (want.y[i] === 0))).toBe(true);
    expect(Math.max(...Array.from(want.g, Math.abs))).toBeGreaterThan(0.01);
    expect(maxDiff(got.g, want.g)).toBeLessThan(GRAD_TOL);
  });

  it('split over the helper thread equals one thread bit for bit, the helper running a part', async (ctx) => {
    await sharedWasmKernels(ctx);
    expect(await startKernelHelpers(1)).toBe(1);
    const d = { rate: 0.1, seed: 9 };
    let split = {} as ReturnType<typeof run>;
    expect(await helperJobs(() => void (split = run(attentionProbs, 3, 12, 40, 0.35, d)))).toBeGreaterThanOrEqual(3); // probs, dropout, grad
    wasmKernelSwitches.helperThreads = false;
    try {
      const alone = run(attentionProbs, 3, 12, 40, 0.35, d);
      expect(Array.from(split.y)).toEqual(Array.from(alone.y));
      expect(Array.from(split.g)).toEqual(Array.from(alone.g));
    } finally {
      wasmKernelSwitches.helperThreads = true;
    }
  });

  it('refuses scores that are not (B, heads, T, T) with a mask of B·T', async () => {
    await tf.setBackend('wasm');
    expect(() => tf.tidy(() => wasmAttentionProbs(tf.zeros([1, 2, 3, 4]) as tf.Tensor4D, tf.zeros([1, 1, 1, 4]), 1))).toThrow(/expects float32 scores \(B, heads, T, T\)/);
    expect(() => tf.tidy(() => wasmAttentionProbs(tf.zeros([2, 2, 4, 4]) as tf.Tensor4D, tf.zeros([1, 1, 1, 4]), 1))).toThrow(/mask of B·T/);
  });
});

describe('the dropout pass in lanes and threads (Alea jumped ahead)', () => {
  it('aleaJump lands where seedrandom gets by drawing', () => {
    const start = alea('1234', { state: true }).state();
    for (const ahead of [0, 1, 2, 3, 4, 1000, 100_003]) {
      const g = alea('', { state: { ...start } });
      for (let i = 0; i < ahead; i++) g();
      const h = alea('', { state: { ...aleaJump(start, ahead) } });
      expect([h(), h(), h()], `${ahead} ahead`).toEqual([g(), g(), g()]);
    }
  });

  it('gives tf.dropout\'s multiplier bit for bit over lanes and a helper thread', async (ctx) => {
    await sharedWasmKernels(ctx);
    expect(await startKernelHelpers(1)).toBe(1);
    const shape = [3, DROPOUT_SPLIT_MIN + 7]; // parts and lanes of uneven length
    await tf.setBackend('cpu');
    const want = tf.tidy(() => tf.dropout(tf.ones(shape), 0.1, undefined, 31).dataSync());
    await tf.setBackend('wasm');
    let got: ArrayLike<number> = [];
    expect(await helperJobs(() => void (got = tf.tidy(() => wasmDropoutMultiplier(shape, 0.1, 31).dataSync())))).toBe(1);
    expect(maxDiff(got, want)).toBe(0);
    // seededDropout's gradient (the multiplier drawn again) is tf.dropout's.
    const grad = (f: (x: tf.Tensor) => tf.Tensor) => tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(f(x), tf.reshape(tf.range(0, shape[0] * shape[1]), shape))))(tf.ones(shape)).dataSync());
    const ours = grad((x) => seededDropout(x, 0.1, 31));
    await tf.setBackend('cpu');
    expect(maxDiff(ours, grad((x) => tf.dropout(x, 0.1, undefined, 31)))).toBe(0);
  });
});
