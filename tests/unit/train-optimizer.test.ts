// AdamW against hand-computed steps, the warmup + linear-decay schedule, gradient accumulation and
// grad-norm clipping. (The step-for-step check against torch is tests/reference/train-adamw-torch.test.ts.)
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { useCpuBackend } from './helpers/tiny-encoder.ts';
import { AdamW, clipGradNorm, GradAccumulator } from '../../src/train/optimizer.ts';
import { lrAt, warmupSteps } from '../../src/train/schedule.ts';

/** float32 parameters against float64 hand values. */
const TOL = 1e-6;

beforeAll(useCpuBackend);

const variable = (x: number[]) => tf.variable(tf.tensor1d(x));
const values = (v: tf.Variable) => Array.from(v.dataSync());

describe('lrAt (HF get_linear_schedule_with_warmup)', () => {
  it('ramps up over the warmup, then decays linearly to 0 at the last step', () => {
    const s = { lr: 1, warmupSteps: 2, totalSteps: 10 };
    expect([0, 1, 2, 6, 9, 10, 12].map((t) => lrAt(t, s))).toEqual([0, 0.5, 1, 0.5, 0.125, 0, 0]);
    expect(lrAt(0, { lr: 3, warmupSteps: 0, totalSteps: 4 })).toBe(3);
    expect(warmupSteps(38, 0.1)).toBe(4); // ceil, as HF
  });
});

describe('AdamW', () => {
  it('first step by hand: p·(1 − lr·λ) − lr·g/(|g| + ε) (bias-corrected m̂ = g, v̂ = g²)', () => {
    const p = variable([1, -2]);
    const opt = new AdamW([p], { weightDecay: 0.1 });
    opt.step([tf.tensor1d([0.1, -0.3])], 0.01);
    // 1·0.999 − 0.01·0.1/(0.1 + 1e-8) = 0.98900000001;  −2·0.999 + 0.01·0.3/(0.3 + 1e-8) = −1.98799999997
    expect(Math.abs(values(p)[0] - 0.98900000001)).toBeLessThanOrEqual(TOL);
    expect(Math.abs(values(p)[1] - -1.98799999997)).toBeLessThanOrEqual(TOL);
  });

  it('three steps match the float64 formula of torch.optim.AdamW', () => {
    const grads = [[0.1, -0.3], [0.2, 0.1], [-0.5, 0.4]];
    const lrs = [0.01, 0.02, 0.005];
    const [b1, b2, eps, wd] = [0.9, 0.999, 1e-8, 0.05];
    const want = [1, -2];
    const m = [0, 0];
    const v = [0, 0];
    grads.forEach((g, t) => {
      for (let i = 0; i < 2; i++) {
        want[i] *= 1 - lrs[t] * wd;
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        const denom = Math.sqrt(v[i]) / Math.sqrt(1 - b2 ** (t + 1)) + eps;
        want[i] -= (lrs[t] / (1 - b1 ** (t + 1))) * (m[i] / denom);
      }
    });
    const p = variable([1, -2]);
    const opt = new AdamW([p], { weightDecay: wd });
    grads.forEach((g, t) => opt.step([tf.tensor1d(g)], lrs[t]));
    values(p).forEach((x, i) => expect(Math.abs(x - want[i])).toBeLessThanOrEqual(TOL));
  });

  it('skips a variable without a gradient (no decay, no moment update), as torch skips grad None', async () => {
    const a = variable([1]);
    const b = variable([2]);
    const opt = new AdamW([a, b], { weightDecay: 0.5 });
    opt.step([tf.tensor1d([1]), null], 0.1);
    expect(values(b)).toEqual([2]);
    const st = await opt.getState();
    expect(st.steps).toEqual([1, 0]);
    expect(st.v[1]).toBeNull();
  });

  it('state round trip: a restored optimizer continues exactly like the original', async () => {
    const p1 = variable([1, 2]);
    const p2 = variable([1, 2]);
    const o1 = new AdamW([p1]);
    o1.step([tf.tensor1d([0.3, -0.1])], 0.1);
    const o2 = new AdamW([p2]);
    o2.setState(await o1.getState());
    p2.assign(p1);
    o1.step([tf.tensor1d([0.2, 0.2])], 0.1);
    o2.step([tf.tensor1d([0.2, 0.2])], 0.1);
    expect(values(p2)).toEqual(values(p1));
  });
});

describe('AdamW with host moments (the wasm default)', () => {
  const seq = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 31 + i * 1.7) * (1 + (i % 5)));

  it('updates as the tensor moments do, to the last float32 bit (weight decay, skipped gradients, 5 steps)', () => {
    const init = [seq(300, 1), seq(7, 2)];
    const run = (moments: 'tensor' | 'host') => {
      const ps = init.map((x) => tf.variable(tf.tensor1d(x)));
      const opt = new AdamW(ps, { weightDecay: 0.01 }, moments);
      expect(opt.onHost).toBe(moments === 'host');
      for (let s = 0; s < 5; s++) opt.step([tf.tensor1d(seq(300, 10 + s)), s % 2 ? null : tf.tensor1d(seq(7, 20 + s))], 1e-3 * (s + 1));
      const out = ps.map((p) => Array.from(p.dataSync()));
      ps.forEach((p) => p.dispose());
      opt.dispose();
      return out;
    };
    // Both round every operation to float32 in the same order, √v before its division included (and both equal
    // torch on the reference fixture); tfjs-cpu computes each in float64 and stores float32, as Math.fround does.
    const [h, t] = [run('host'), run('tensor')];
    expect(h).toEqual(t);
  });

  it("state moves between host and tensor optimizers (a checkpoint from one resumes in the other)", async () => {
    const pa = variable([1, 2, 3]);
    const pb = variable([1, 2, 3]);
    const host = new AdamW([pa], {}, 'host');
    host.step([tf.tensor1d([0.3, -0.1, 0.05])], 0.1);
    const onDevice = new AdamW([pb], {}, 'tensor');
    onDevice.setState(await host.getState());
    pb.assign(pa);
    host.step([tf.tensor1d([0.2, 0.2, -1])], 0.1);
    onDevice.step([tf.tensor1d([0.2, 0.2, -1])], 0.1);
    expect(values(pb)).toEqual(values(pa));
    expect(() => host.setState({ steps: [1], m: [new Float32Array(2)], v: [null] })).toThrow(/3 values, the state 2/);
  });

  it('picks host moments on wasm and tensors elsewhere when left to auto', () => {
    expect(new AdamW([]).onHost).toBe(tf.getBackend() === 'wasm');
  });
});

describe('gradient accumulation and clipping', () => {
  it('GradAccumulator hands back the mean, keeping null where no micro-batch had a gradient', () => {
    const acc = new GradAccumulator(2);
    acc.add([tf.tensor1d([1, 2]), null]);
    acc.add([tf.tensor1d([3, 6]), null]);
    const [g, none] = acc.mean();
    expect(Array.from(g!.dataSync())).toEqual([2, 4]);
    expect(none).toBeNull();
  });

  it('clipGradNorm scales by maxNorm / (‖g‖ + 1e-6) only when the norm exceeds it', async () => {
    const { grads, norm } = await clipGradNorm([tf.tensor1d([3]), tf.tensor1d([4, 0]), null], 1);
    expect(norm).toBeCloseTo(5, 6);
    expect(grads[0]!.dataSync()[0]).toBeCloseTo(3 / (5 + 1e-6), 6);
    expect(grads[1]!.dataSync()[0]).toBeCloseTo(4 / (5 + 1e-6), 6);
    expect(grads[2]).toBeNull();
    const small = await clipGradNorm([tf.tensor1d([0.3, 0.4])], 1);
    expect(Array.from(small.grads[0]!.dataSync())).toEqual([Math.fround(0.3), Math.fround(0.4)]);
  });
});
