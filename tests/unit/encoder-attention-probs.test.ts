// The fused attention probabilities (src/encoder/attention-probs.ts) against the composed tfjs ops they
// replace (tfjs' own Mul/Add/Softmax/dropout gradients): same forward values bit for bit (dropout
// seeded alike), same gradient within float rounding, and fewer (B, heads, T, T) tensors kept for backward.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { beforeAll, describe, expect, it } from 'vitest';
import { attentionProbs, type ProbsDropout } from '../../src/encoder/attention-probs.ts';

/** Max |Δ| between the gradients: float32 rounding of the same formula in another order. */
const GRAD_TOL = 1e-6;
const [B, H, T] = [2, 3, 16];
const SCALE = 1 / Math.sqrt(8);

const composed = (s: tf.Tensor4D, mask: tf.Tensor, d: ProbsDropout | null) => {
  const p = tf.softmax(tf.add(tf.mul(s, SCALE), mask));
  return d ? tf.dropout(p, d.rate, undefined, d.seed) : p;
};

function inputs() {
  const scores = tf.randomNormal([B, H, T, T], 0, 3, 'float32', 4) as tf.Tensor4D;
  // Row b masks its last 3·b keys, as padding does.
  const mask = tf.tensor4d(Array.from({ length: B * T }, (_, i) => (i % T >= T - 3 * Math.floor(i / T) ? -1e9 : 0)), [B, 1, 1, T]);
  const dy = tf.randomNormal([B, H, T, T], 0, 1, 'float32', 5);
  return { scores, mask, dy };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('attentionProbs', () => {
  for (const d of [null, { rate: 0.1, seed: 77 }] as (ProbsDropout | null)[]) {
    const name = d ? 'with dropout' : 'without dropout';

    it(`forward equals the composed ops bit for bit (${name})`, () => {
      const { scores, mask, dy } = inputs();
      expect(Array.from(attentionProbs(scores, mask, SCALE, d).dataSync())).toEqual(Array.from(composed(scores, mask, d).dataSync()));
      tf.dispose([scores, mask, dy]);
    });

    it(`gradient equals autograd of the composed ops (${name})`, () => {
      const { scores, mask, dy } = inputs();
      const [ours] = tf.grads((s: tf.Tensor) => attentionProbs(s as tf.Tensor4D, mask, SCALE, d))([scores], dy);
      const [ref] = tf.grads((s: tf.Tensor) => composed(s as tf.Tensor4D, mask, d))([scores], dy);
      const [a, b] = [ours.dataSync(), ref.dataSync()];
      let max = 0;
      let scale = 0;
      a.forEach((v, i) => {
        max = Math.max(max, Math.abs(v - b[i]));
        scale = Math.max(scale, Math.abs(b[i]));
      });
      expect(scale).toBeGreaterThan(0.01); // a real gradient, not zeros
      expect(max).toBeLessThanOrEqual(GRAD_TOL);
      tf.dispose([scores, mask, dy, ours, ref]);
    });
  }

  it('keeps fewer (B, heads, T, T) tensors for the backward pass than the composed ops', () => {
    const { scores, mask, dy } = inputs();
    const s = tf.variable(scores);
    const big = B * H * T * T * 4;
    const held = (f: (x: tf.Tensor4D) => tf.Tensor) => {
      let during = 0;
      const before = tf.memory().numBytes;
      const r = tf.variableGrads(() => {
        const y = tf.tidy(() => tf.sum(tf.mul(f(s as unknown as tf.Tensor4D), dy)) as tf.Scalar);
        during = tf.memory().numBytes - before;
        return y;
      }, [s]);
      tf.dispose([r.value, ...Object.values(r.grads)]);
      return during / big;
    };
    const d = { rate: 0.1, seed: 1 };
    const ours = held((x) => attentionProbs(x, mask, SCALE, d));
    const stock = held((x) => composed(x, mask, d));
    expect(stock - ours).toBeGreaterThanOrEqual(2);
    tf.dispose([s, scores, mask, dy]);
  });
});
