// The compiled wasm SIMD GELU (src/util/wasm-gelu-kernel.{c,ts}, plain-memory build; the shared-memory build:
// encoder-wasm-gelu-threads.test.ts) against float64 exact GELU and its derivative (helpers/gelu-reference.ts)
// and against the composed ops of src/encoder/gelu.ts on cpu; under a gradient tape (one kernel each way);
// then BertModel.forward and an InfoNCE gradient on wasm with the kernel on vs off vs cpu.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { afterEach, describe, expect, it } from 'vitest';
import { BertModel } from '../../src/encoder/bert.ts';
import type { BertConfig } from '../../src/encoder/config.ts';
import { gelu } from '../../src/encoder/gelu.ts';
import { maskTensor, meanPool } from '../../src/encoder/pooling.ts';
import type { TokenizedBatch } from '../../src/encoder/types.ts';
import { infoNceLoss } from '../../src/train/infonce.ts';
import { WASM_GELU, WASM_GELU_GRAD, wasmGelu, wasmGeluGrad } from '../../src/util/wasm-gelu-kernel.ts';
import { wasmKernelSwitches } from '../../src/util/wasm-kernel-internals.ts';
import { prepareWasmKernels } from '../../src/util/wasm-kernel-module.ts';
import { erf64, gelu64, geluGrad64, normalCdf64 } from './helpers/gelu-reference.ts';
import { maxDiff } from './helpers/attention-reference.ts';
import { heldForBackward } from './helpers/encoder-grads.ts';

/** |gelu − exact| ≤ GELU_TOL·max(1, |x|): Φ within 7.5e-8 (wasm-gelu-kernel.c), times x, plus x·Φ's rounding. */
const GELU_TOL = 1.5e-7;
/** For x < 0 relative to |gelu(x)|, down to gelu ~ 1e-36: x² rounded in e^(−x²/2) gives ~x²/2·6e-8. */
const GELU_NEG_REL_TOL = 1e-5;
/** |gelu' − exact| ≤ GRAD_TOL·max(1, |x|): Φ's error plus x·φ(x)'s (a few ulp of e^(−x²/2)). */
const GRAD_TOL = 2e-7;
/** Against tfjs' composed ops on cpu: its Erf (Abramowitz–Stegun 7.1.26, ≤ 1.5e-7) adds its own error. */
const COMPOSED_TOL = 3e-7;
/** The 2-layer model and its loss: GELU's differences carried through LayerNorms and attention. */
const MODEL_TOL = 2e-5;
/** The reference itself against tabulated erf (A&S Table 7.1, 10 digits) and Φ(−8) (R pnorm). */
const REFERENCE_TOL = 1e-15;

async function on<T>(backend: string, f: () => T | Promise<T>): Promise<T> {
  expect(await tf.setBackend(backend)).toBe(true);
  return f();
}

/** x spread over [−14, 14], n values, not a multiple of 4 in general. */
const grid = (n: number, lo = -14, hi = 14) => Float32Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));

function kernelValues(xs: Float32Array, f: (x: tf.Tensor) => tf.Tensor): Float32Array {
  const x = tf.tensor1d(xs);
  const before = tf.memory().numTensors;
  const y = f(x);
  expect(tf.memory().numTensors).toBe(before + 1);
  const v = y.dataSync() as Float32Array;
  tf.dispose([x, y]);
  return v;
}

/** max over i of |got − want| / max(1, |x|). */
function scaledError(xs: Float32Array, got: Float32Array, want: (x: number, i: number) => number): number {
  let m = 0;
  xs.forEach((x, i) => (m = Math.max(m, Math.abs(got[i] - want(x, i)) / Math.max(1, Math.abs(x)))));
  return m;
}

afterEach(() => {
  wasmKernelSwitches.gelu = true;
});

describe('float64 GELU reference', () => {
  it('matches tabulated erf and Φ', () => {
    for (const [z, v] of [[0.5, 0.5204998778], [1, 0.8427007929], [2, 0.9953222650], [3, 0.9999779095]]) expect(Math.abs(erf64(z) - v)).toBeLessThan(1e-10);
    expect(Math.abs(normalCdf64(-8) / 6.22096057427178e-16 - 1)).toBeLessThan(1e-12); // pnorm(-8)
    expect(Math.abs(normalCdf64(1.5) - 0.9331927987311419)).toBeLessThan(REFERENCE_TOL);
  });
});

describe('wasmGelu (one compiled SIMD pass)', () => {
  it('starts on the wasm backend, with the plain-memory build', async () => {
    await on('wasm', async () => expect(await prepareWasmKernels()).toBe('plain'));
  });

  for (const n of [1, 2, 3, 5, 7, 4099, 200_003]) {
    it(`forward and gradient equal float64 exact GELU, n = ${n}`, async () => {
      const xs = n < 8 ? Float32Array.from({ length: n }, (_, i) => [-1.3, 0.4, 2.2, -6.5, 9.1, -0.01, 3.7][i]) : grid(n);
      const dys = Float32Array.from(xs, (_, i) => Math.cos(i));
      const [y, g] = await on('wasm', () => [
        kernelValues(xs, wasmGelu),
        kernelValues(xs, (x) => tf.tidy(() => wasmGeluGrad(x, tf.tensor1d(dys)))),
      ]);
      expect(scaledError(xs, y, gelu64)).toBeLessThan(GELU_TOL);
      expect(scaledError(xs, g, (x, i) => geluGrad64(x) * dys[i])).toBeLessThan(GRAD_TOL);
    });
  }

  it('keeps relative accuracy in the left tail (x·Φ(x) for x down to −13)', async () => {
    const xs = grid(20_001, -13, -0.5);
    const y = await on('wasm', () => kernelValues(xs, wasmGelu));
    let worst = 0;
    xs.forEach((x, i) => (worst = Math.max(worst, Math.abs(y[i] / gelu64(x) - 1))));
    expect(worst).toBeLessThan(GELU_NEG_REL_TOL);
  });

  it('large |x|, zeros, negative zero and NaN', async () => {
    const xs = Float32Array.from([10, -10, 40, -40, 0, -0, NaN, 1e30, -1e30]);
    const ones = Array.from(xs, () => 1);
    const [y, g] = await on('wasm', () => [kernelValues(xs, wasmGelu), kernelValues(xs, (x) => tf.tidy(() => wasmGeluGrad(x, tf.tensor1d(ones))))]);
    const rel = (got: number, want: number) => Math.abs(got / want - 1);
    // gelu: x·Φ(x) with Φ(10) = 1 in float32, Φ(−10) ~ 7.6e-24 kept to its relative accuracy, Φ(±40) = 1 or 0.
    expect([y[0], y[2], y[4], y[5], y[7], y[8]]).toEqual([10, 40, 0, -0, Math.fround(1e30), -0]); // toEqual: −0 ≠ 0
    expect(rel(y[1], gelu64(-10))).toBeLessThan(GELU_NEG_REL_TOL);
    expect(y[3]).toBe(-0);
    expect(y[6]).toBeNaN();
    // gelu' = Φ + x·φ: 1 on the right, Φ(−10) − 10·φ(−10) ~ −7.6e-22 (relative), 1/2 at ±0.
    expect([g[0], g[2], g[3], g[4], g[5], g[7], g[8]]).toEqual([1, 1, 0, 0.5, 0.5, 1, 0]); // Φ(−40) = +0, −40·φ = −0
    expect(rel(g[1], geluGrad64(-10))).toBeLessThan(GELU_NEG_REL_TOL);
    expect(g[6]).toBeNaN();
  });

  it('equals the composed ops on cpu (forward and tape gradient)', async () => {
    const xs = grid(10_007, -9, 9);
    const dy = Float32Array.from(xs, (_, i) => Math.sin(i));
    const run = () =>
      tf.tidy(() => {
        const x = tf.tensor1d(xs);
        const [g] = tf.grads((t: tf.Tensor) => gelu(t))([x], tf.tensor1d(dy));
        return [gelu(x).dataSync() as Float32Array, g.dataSync() as Float32Array];
      });
    const [cy, cg] = await on('cpu', run);
    const [wy, wg] = await on('wasm', run);
    expect(scaledError(xs, wy, (_, i) => cy[i])).toBeLessThan(COMPOSED_TOL);
    expect(maxDiff(wg, cg)).toBeLessThan(COMPOSED_TOL * 9);
  });

  it('under a gradient tape: one kernel forward, one backward, no Erf; nothing leaks', async () => {
    await on('wasm', async () => {
      const x = tf.tensor2d(grid(6 * 37), [6, 37]);
      const dy = tf.randomNormal([6, 37], 0, 1, 'float32', 5);
      const before = tf.memory().numTensors;
      const info = await tf.profile(() => {
        const [g] = tf.grads((t: tf.Tensor) => gelu(t))([x], dy);
        g.dispose();
      });
      const names = info.kernels.map((k) => k.name);
      expect(names.filter((k) => k === WASM_GELU).length).toBe(1);
      expect(names.filter((k) => k === WASM_GELU_GRAD).length).toBe(1);
      expect(names).not.toContain('Erf');
      expect(tf.memory().numTensors).toBe(before);
      // The switch off: the composed ops and their Erf.
      wasmKernelSwitches.gelu = false;
      const off = await tf.profile(() => tf.tidy(() => gelu(x)));
      expect(off.kernels.map((k) => k.name)).toContain('Erf');
      tf.dispose([x, dy]);
    });
  });

  it('holds only x for the backward pass, as the composed custom gradient', async () => {
    await on('wasm', () => {
      const x = tf.variable(tf.randomNormal([64, 256], 0, 1, 'float32', 3));
      const held = heldForBackward(gelu, x);
      x.dispose();
      expect(held).toBeLessThanOrEqual(2.01); // the output; the saved x shares x's data
    });
  });
});

describe('BertModel with the GELU kernel', () => {
  const config: BertConfig = { vocabSize: 50, hiddenSize: 64, numLayers: 2, numHeads: 2, intermediateSize: 96, hiddenAct: 'gelu', maxPositions: 16, typeVocabSize: 2, layerNormEps: 1e-12, hiddenDropout: 0.1, attentionDropout: 0.1, initializerRange: 0.02 };
  const batch: TokenizedBatch = { batch: 2, seqLen: 7, inputIds: Int32Array.from([2, 5, 9, 11, 3, 8, 1, 2, 7, 3, 0, 0, 0, 0]), tokenTypeIds: new Int32Array(14), attentionMask: Int32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]) };
  const docs: TokenizedBatch = { batch: 2, seqLen: 5, inputIds: Int32Array.from([2, 4, 6, 3, 0, 2, 13, 17, 19, 3]), tokenTypeIds: new Int32Array(10), attentionMask: Int32Array.from([1, 1, 1, 1, 0, 1, 1, 1, 1, 1]) };

  /** Kernel on (wasm), kernel off (wasm) and cpu. */
  async function threeWays<T>(f: () => T): Promise<{ kernel: T; composed: T; cpu: T }> {
    const cpu = await on('cpu', f);
    const kernel = await on('wasm', f);
    wasmKernelSwitches.gelu = false;
    const composed = await on('wasm', f);
    wasmKernelSwitches.gelu = true;
    return { kernel, composed, cpu };
  }

  it('forward: kernel on equals kernel off and cpu, no tensors left behind', async () => {
    const r = await threeWays(() => {
      const model = BertModel.random(config, 3);
      const before = tf.memory().numTensors;
      const h = model.forward(batch);
      expect(tf.memory().numTensors).toBe(before + 1);
      const v = h.dataSync();
      tf.dispose([h]);
      model.dispose();
      return v;
    });
    expect(maxDiff(r.kernel, r.composed)).toBeLessThan(MODEL_TOL);
    expect(maxDiff(r.kernel, r.cpu)).toBeLessThan(MODEL_TOL);
    expect(maxDiff(r.kernel, r.composed)).toBeGreaterThan(0); // the switch did change the path
  });

  it('InfoNCE gradient (training forward, dropout on): kernel on equals kernel off and cpu', async () => {
    const r = await threeWays(() => {
      const model = BertModel.random(config, 4);
      const before = tf.memory().numTensors;
      const embed = (b: TokenizedBatch, seed: number) => meanPool(model.forward(b, { training: true, seed }), maskTensor(b.attentionMask, b.batch, b.seqLen));
      const { value, grads } = tf.variableGrads(() => infoNceLoss(embed(batch, 1), embed(docs, 2), 0.05), model.variables);
      const inter = grads[model.variables.find((v) => v.name.includes('intermediate.dense.weight'))!.name].dataSync();
      const loss = value.dataSync()[0];
      tf.dispose([value, ...Object.values(grads)]);
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
      return { loss, inter };
    });
    // The loss is ~23 (random model, τ 0.05): compared relative to it.
    expect(Math.abs(r.kernel.loss / r.cpu.loss - 1)).toBeLessThan(MODEL_TOL);
    expect(Math.abs(r.kernel.loss / r.composed.loss - 1)).toBeLessThan(MODEL_TOL);
    expect(r.kernel.loss).not.toBe(r.composed.loss); // the switch did change the path
    const scale = Math.max(...r.cpu.inter.map(Math.abs));
    expect(scale).toBeGreaterThan(0);
    expect(maxDiff(r.kernel.inter, r.cpu.inter) / scale).toBeLessThan(MODEL_TOL * 10);
    expect(maxDiff(r.kernel.inter, r.composed.inter) / scale).toBeLessThan(MODEL_TOL * 10);
  });
});
