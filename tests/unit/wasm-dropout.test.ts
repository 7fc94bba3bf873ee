// The compiled dropout multiplier (src/util/wasm-dropout-kernel.{c,ts}) against tf.dropout itself: the same
// seed must give the same mask and the same values bit for bit (seedrandom's Alea run in the kernel in double
// precision as in JavaScript), on the wasm backend and against the cpu backend, for rates, shapes and seeds
// of the trainers; gradients through it equal tf.dropout's; BertModel's training forward is unchanged.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { describe, expect, it } from 'vitest';
import { seededDropout, WASM_DROPOUT, wasmDropoutMultiplier } from '../../src/util/wasm-dropout-kernel.ts';
import { wasmKernelSwitches } from '../../src/util/wasm-kernel-internals.ts';

async function on<T>(backend: string, f: () => T | Promise<T>): Promise<T> {
  expect(await tf.setBackend(backend)).toBe(true);
  return f();
}

const input = (shape: number[]) => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(0.31 * i) * 3), shape);
/** Indices where two arrays differ (bit for bit: NaN never occurs here, -0 and 0 would count as equal). */
const differing = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).flatMap((x, i) => (Object.is(x, b[i]) ? [] : [i]));

describe('seededDropout (tf.dropout with a compiled multiplier)', () => {
  const cases: [number[], number, number][] = [
    [[1], 0.1, 0],
    [[7, 13], 0.1, 42],
    [[2, 3, 17, 17], 0.1, 123456789],
    [[64, 384], 0.5, 7],
    [[3, 1000], 0.05, 2 ** 31 + 5],
  ];
  it.each(cases)('equals tf.dropout on cpu and on wasm bit for bit: shape %j, rate %f, seed %i', async (shape, rate, seed) => {
    const cpu = await on('cpu', () => tf.tidy(() => tf.dropout(input(shape), rate, undefined, seed).dataSync()));
    const [wasmTf, ours, names] = await on('wasm', async () => {
      const reference = tf.tidy(() => tf.dropout(input(shape), rate, undefined, seed).dataSync());
      let got: ArrayLike<number> = [];
      const { kernels } = await tf.profile(() => void (got = tf.tidy(() => seededDropout(input(shape), rate, seed).dataSync())));
      return [reference, got, kernels.map((k) => k.name)] as const;
    });
    expect(names).toContain(WASM_DROPOUT);
    expect(differing(ours, cpu)).toEqual([]);
    expect(differing(ours, wasmTf)).toEqual([]);
    // Some dropped, some kept and scaled.
    const x = input(shape).dataSync();
    expect(Array.from(ours).some((v, i) => v === 0 && x[i] !== 0) || ours.length < 10).toBe(true);
  });

  it('gives the multiplier 0 or float32(1/keep), and tf.dropout at rate 0 or with the switch off', async () => {
    await on('wasm', () => {
      const m = tf.tidy(() => wasmDropoutMultiplier([4000], 0.1, 9).dataSync());
      expect(new Set(m)).toEqual(new Set([0, Math.fround(1 / Math.fround(0.9))]));
      const kept = Array.from(m).filter((v) => v > 0).length / m.length;
      expect(Math.abs(kept - 0.9)).toBeLessThan(0.03);
      expect(tf.tidy(() => Array.from(seededDropout(input([5]), 0, 1).dataSync()))).toEqual(Array.from(input([5]).dataSync()));
      wasmKernelSwitches.dropout = false;
      try {
        const a = tf.tidy(() => seededDropout(input([50]), 0.3, 4).dataSync());
        const b = tf.tidy(() => tf.dropout(input([50]), 0.3, undefined, 4).dataSync());
        expect(differing(a, b)).toEqual([]);
      } finally {
        wasmKernelSwitches.dropout = true;
      }
    });
  });

  it('passes gradients as tf.dropout does (dy times the multiplier)', async () => {
    const grad = (f: (x: tf.Tensor) => tf.Tensor) => tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(f(x), input([6, 20]))))(input([6, 20])).dataSync());
    const want = await on('cpu', () => grad((x) => tf.dropout(x, 0.2, undefined, 11)));
    const got = await on('wasm', () => grad((x) => seededDropout(x, 0.2, 11)));
    expect(differing(got, want)).toEqual([]);
  });
});
