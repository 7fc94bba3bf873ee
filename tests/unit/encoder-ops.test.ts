// The tfjs 4.22 backend gaps bert.ts works around, pinned down so a reader can see why: wasm has no
// UnsortedSegmentSum (tf.gather's gradient), and wasm's fused matMul with transposeB + bias returns wrong
// values; and matmul.ts's fast-path products (linear2d, matMulBT, batchMatMul), which must agree with the cpu
// backend in value and gradient.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { describe, expect, it } from 'vitest';
import { embeddingLookup } from '../../src/encoder/bert.ts';
import { batchMatMul, linear2d, matMulBT } from '../../src/util/matmul.ts';

const table = () => tf.tensor2d(Array.from({ length: 5 * 3 }, (_, i) => Math.sin(i)), [5, 3]);
const IDS = [1, 3, 3, 0, 1, 1]; // duplicates must add up in the gradient
const upstream = () => tf.tensor2d(Array.from({ length: IDS.length * 3 }, (_, i) => Math.cos(i)), [IDS.length, 3]);

async function onBackend<T>(name: string, f: () => Promise<T>): Promise<T> {
  expect(await tf.setBackend(name)).toBe(true);
  return f();
}

describe('embeddingLookup (gather with a ScatterNd gradient)', () => {
  const gradOf = (lookup: (t: tf.Tensor2D, ids: tf.Tensor1D) => tf.Tensor2D) => async () => {
    const t = table();
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(lookup(x as tf.Tensor2D, tf.tensor1d(IDS, 'int32')), upstream())))(t);
    return Array.from(await g.data());
  };

  it("equals tf.gather's gradient on cpu, and works on wasm where tf.gather's does not", async () => {
    const reference = await onBackend('cpu', gradOf((t, ids) => tf.gather(t, ids)));
    const ours = await onBackend('cpu', gradOf(embeddingLookup));
    const oursWasm = await onBackend('wasm', gradOf(embeddingLookup));
    for (const got of [ours, oursWasm]) got.forEach((v, i) => expect(v).toBeCloseTo(reference[i], 6)); // summation order may differ
    await expect(onBackend('wasm', gradOf((t, ids) => tf.gather(t, ids)))).rejects.toThrow(/UnsortedSegmentSum/);
  });
});

describe('tf.fused.matMul on wasm with transposeB (why BertModel.linear holds weights as [in, out])', () => {
  const x = () => tf.tensor2d(Array.from({ length: 6 * 8 }, (_, i) => Math.sin(i)), [6, 8]);
  const w = () => tf.tensor2d(Array.from({ length: 5 * 8 }, (_, i) => Math.cos(i)), [5, 8]); // [out, in]
  const b = () => tf.tensor1d([0, 1, 2, 3, 4]);
  const maxDiff = (a: Float32Array, c: Float32Array) => Math.max(...a.map((v, i) => Math.abs(v - c[i])));

  it('matMul(x, W, transposeB) + b agrees across backends; the fused kernel on wasm does not (tfjs 4.22)', async () => {
    const plain = () => tf.add(tf.matMul(x(), w(), false, true), b());
    const fused = () => tf.fused.matMul({ a: x(), b: w(), transposeB: true, bias: b() });
    const cpu = (await onBackend('cpu', async () => plain().data())) as Float32Array;
    const wasmPlain = (await onBackend('wasm', async () => plain().data())) as Float32Array;
    const wasmFused = (await onBackend('wasm', async () => fused().data())) as Float32Array;
    expect(maxDiff(wasmPlain, cpu)).toBeLessThan(1e-5);
    // If this starts failing, tfjs fixed the kernel and BertModel.linear could use it again.
    expect(maxDiff(wasmFused, cpu)).toBeGreaterThan(0.1);
  });
});

describe('matmul.ts products agree with tf.matMul on cpu, in value and gradient', () => {
  const seq = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));
  const maxDiff = (a: Float32Array, c: Float32Array) => Math.max(...a.map((v, i) => Math.abs(v - c[i])));
  /** Value and gradients (w.r.t. every input) of sum(f(...) · upstream), as flat arrays. */
  const valueAndGrads = (f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: () => tf.Tensor[]) => async () => {
    const xs = inputs();
    const value = f(...xs);
    const up = tf.tensor(seq(value.size, (i) => Math.cos(0.3 * i)), value.shape);
    const grads = tf.grads((...ys: tf.Tensor[]) => tf.sum(tf.mul(f(...ys), up)))(xs);
    const out = [(await value.data()) as Float32Array, ...(await Promise.all(grads.map((g) => g.data() as Promise<Float32Array>)))];
    tf.dispose([value, up, ...grads, ...xs]);
    return out;
  };

  it('linear2d: x·W + b with the bias fused on wasm', async () => {
    const inputs = () => [tf.tensor2d(seq(7 * 5, (i) => Math.sin(i)), [7, 5]), tf.tensor2d(seq(5 * 3, (i) => Math.cos(i)), [5, 3]), tf.tensor1d([0.5, -1, 2])];
    const reference = await onBackend('cpu', valueAndGrads((x, w, b) => tf.add(tf.matMul(x, w), b), inputs));
    const wasm = await onBackend('wasm', valueAndGrads((x, w, b) => linear2d(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D), inputs));
    expect(wasm).toHaveLength(4);
    wasm.forEach((got, k) => expect(maxDiff(got, reference[k]), `output ${k}`).toBeLessThan(1e-5));
  });

  it("matMulBT: x·Wᵀ with W as [out, in] (the decoder's Linear), as (W·xᵀ)ᵀ on wasm", async () => {
    const inputs = () => [tf.tensor2d(seq(7 * 5, (i) => Math.sin(i)), [7, 5]), tf.tensor2d(seq(3 * 5, (i) => Math.cos(1.3 * i)), [3, 5])];
    const reference = await onBackend('cpu', valueAndGrads((x, w) => tf.matMul(x, w, false, true), inputs));
    for (const backend of ['cpu', 'wasm']) {
      const before = tf.memory().numTensors;
      const got = await onBackend(backend, valueAndGrads((x, w) => matMulBT(x as tf.Tensor2D, w as tf.Tensor2D), inputs));
      expect(tf.memory().numTensors, backend).toBe(before);
      expect(got).toHaveLength(3);
      got.forEach((g, k) => expect(maxDiff(g, reference[k]), `${backend} output ${k}`).toBeLessThan(1e-5));
    }
  });

  it('batchMatMul: a (N, M, K) @ b (N, K, P), as N 2D products on wasm', async () => {
    const inputs = () => [tf.tensor3d(seq(3 * 4 * 5, (i) => Math.sin(i)), [3, 4, 5]), tf.tensor3d(seq(3 * 5 * 2, (i) => Math.cos(i)), [3, 5, 2])];
    const reference = await onBackend('cpu', valueAndGrads((a, b) => tf.matMul(a, b), inputs));
    for (const backend of ['cpu', 'wasm']) {
      const before = tf.memory().numTensors;
      const got = await onBackend(backend, valueAndGrads((a, b) => batchMatMul(a as tf.Tensor3D, b as tf.Tensor3D), inputs));
      expect(tf.memory().numTensors, backend).toBe(before); // slices and their products are freed
      expect(got).toHaveLength(3);
      got.forEach((g, k) => expect(maxDiff(g, reference[k]), `${backend} output ${k}`).toBeLessThan(1e-5));
    }
  });
});
