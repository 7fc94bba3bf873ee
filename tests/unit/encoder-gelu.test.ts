// The custom-gradient GELU (src/encoder/gelu.ts) against tfjs autograd of the composed ops (tfjs' own Erf
// gradient): same forward values bit for bit, same gradient within float rounding, one saved tensor.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { beforeAll, describe, expect, it } from 'vitest';
import { gelu } from '../../src/encoder/gelu.ts';
import { heldForBackward } from './helpers/encoder-grads.ts';

/** Max |Δ| between the two gradients: float32 rounding of a differently ordered formula. */
const GRAD_TOL = 1e-6;

const composed = (x: tf.Tensor) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('gelu', () => {
  const xs = Array.from({ length: 201 }, (_, i) => -8 + i * 0.08);

  it('forward equals the composed exact GELU bit for bit', () => {
    const x = tf.tensor1d(xs);
    expect(Array.from(gelu(x).dataSync())).toEqual(Array.from(composed(x).dataSync()));
    x.dispose();
  });

  it('gradient equals autograd of the composed ops (with an upstream dy)', () => {
    const x = tf.tensor1d(xs);
    const dy = tf.tensor1d(xs.map((_, i) => Math.sin(i)));
    const [ours] = tf.grads((t: tf.Tensor) => gelu(t))([x], dy);
    const [ref] = tf.grads((t: tf.Tensor) => composed(t))([x], dy);
    const a = ours.dataSync();
    const b = ref.dataSync();
    let max = 0;
    a.forEach((v, i) => (max = Math.max(max, Math.abs(v - b[i]))));
    expect(max).toBeLessThanOrEqual(GRAD_TOL);
    // Known values: GELU'(0) = 0.5, GELU'(large) → 1, GELU'(very negative) → 0.
    const [g] = tf.grads((t: tf.Tensor) => gelu(t))([tf.tensor1d([0, 8, -8])]);
    const gv = g.dataSync();
    expect(gv[0]).toBeCloseTo(0.5, 7);
    expect(gv[1]).toBeCloseTo(1, 6);
    expect(gv[2]).toBeCloseTo(0, 6);
    tf.dispose([x, dy, ours, ref, g]);
  });

  it('keeps far less for the backward pass than the composed ops', async () => {
    const x = tf.variable(tf.randomNormal([64, 256], 0, 1, 'float32', 3));
    const held = (f: (t: tf.Tensor) => tf.Tensor) => heldForBackward(f, x);
    // Tensors alive at the end of the forward pass, in units of x: the composed ops hold 7, ours 2 (the
    // saved x and tfjs' customGrad record of the output).
    const ours = held(gelu);
    const stock = held(composed);
    expect(ours).toBeLessThanOrEqual(2.01);
    expect(stock - ours).toBeGreaterThanOrEqual(4);
    x.dispose();
  });
});
