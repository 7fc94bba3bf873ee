// The training loop skeleton (src/train/training-loop.ts) on a toy quadratic whose gradients are known in
// closed form: accumulation + clipping + AdamW against a float64 oracle, phases with their own schedule and
// a fresh optimizer, checkpoints every N steps, resume at a phase boundary equal to an uninterrupted run,
// refusal of a checkpoint that does not fit, divergence, cancellation.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { useCpuBackend } from './helpers/tiny-encoder.ts';
import { CancelledError, ExpandrError } from '../../src/errors.ts';
import { memorySink } from '../../src/train/checkpoint-sink.ts';
import { runTrainingLoop, type LoopState, type TrainingLoopSpec } from '../../src/train/training-loop.ts';
import type { Progress } from '../../src/util/progress.ts';

/** float32 weights against the float64 oracle. */
const ORACLE_TOL = 1e-6;

beforeAll(useCpuBackend);

type Phase = 'warm' | 'main';
interface Point {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  phase: Phase;
}
type State = LoopState<Point, Phase>;

const START = [0.5, -1];
/** Micro-batch m of step k pulls w towards this target: loss ½‖w − t‖², gradient w − t. */
const target = (k: number, m: number) => [k + 1, m - 1];

/** A loop spec over one variable w; `over` replaces any field. */
function toy(w: tf.Variable, over: Partial<TrainingLoopSpec<Point, State, Phase>> = {}): TrainingLoopSpec<Point, State, Phase> {
  return {
    what: 'Toy training',
    divergenceHint: 'Lower the rate.',
    variables: [w],
    phases: [{ name: 'main', steps: 3, lr: 0.1, warmupRatio: 0, stage: 'toy:main' }],
    weightDecay: 0.01,
    maxGradNorm: 0,
    checkpointEvery: 0,
    run: {},
    readCheckpoint: (c) => c,
    writeCheckpoint: (s) => s,
    refuseResume: (why) => new ExpandrError(`Cannot resume the toy: ${why}.`),
    step: (k) => ({
      microBatches: 2,
      microBatch: async (m) => {
        const t = tf.tensor1d(target(k, m));
        const { value, grads } = tf.variableGrads(() => tf.mul(tf.sum(tf.square(tf.sub(w, t))), 0.5) as tf.Scalar, [w]);
        const loss = (await value.data())[0];
        tf.dispose([value, t]);
        return { loss, grads: [grads[w.name]] };
      },
      point: (n) => ({ ...n }),
    }),
    progressText: (p) => `loss ${p.loss.toFixed(3)}`,
    ...over,
  };
}

describe('runTrainingLoop', () => {
  it('one AdamW step per step on the mean micro-batch gradient, clipped: a float64 oracle agrees', async () => {
    const w = tf.variable(tf.tensor1d(START));
    const r = await runTrainingLoop(toy(w, { maxGradNorm: 1 }));
    // Oracle: torch.optim.AdamW (β 0.9 / 0.999, ε 1e-8, decoupled decay) on clip_grad_norm_(mean of grads, 1).
    const p = [...START];
    const m = [0, 0];
    const v = [0, 0];
    const norms: number[] = [];
    for (let k = 0; k < 3; k++) {
      const g = [0, 1].map((i) => (p[i] - target(k, 0)[i] + (p[i] - target(k, 1)[i])) / 2);
      const norm = Math.hypot(...g);
      norms.push(norm);
      const scale = Math.min(1, 1 / (norm + 1e-6));
      const lr = (0.1 * (3 - k)) / 3; // no warmup, linear decay to 0 over the 3 steps
      for (let i = 0; i < 2; i++) {
        const gi = g[i] * scale;
        m[i] = 0.9 * m[i] + 0.1 * gi;
        v[i] = 0.999 * v[i] + 0.001 * gi * gi;
        p[i] = p[i] * (1 - lr * 0.01) - (lr / (1 - 0.9 ** (k + 1))) * (m[i] / (Math.sqrt(v[i]) / Math.sqrt(1 - 0.999 ** (k + 1)) + 1e-8));
      }
    }
    const got = Array.from(w.dataSync());
    console.log(`toy loop vs oracle: |Δw| = ${got.map((x, i) => Math.abs(x - p[i]).toExponential(2)).join(', ')}`);
    got.forEach((x, i) => expect(Math.abs(x - p[i])).toBeLessThanOrEqual(ORACLE_TOL));
    r.curve.forEach((pt, k) => expect(Math.abs(pt.gradNorm - norms[k])).toBeLessThanOrEqual(ORACLE_TOL));
    expect(r.steps).toBe(3);
    w.dispose();
  });

  it('without clipping the norm is NaN unless measured; measured, the update is the unclipped one', async () => {
    const plain = tf.variable(tf.tensor1d(START));
    const measured = tf.variable(tf.tensor1d(START));
    const a = await runTrainingLoop(toy(plain));
    const b = await runTrainingLoop(toy(measured, { measureGradNorm: true }));
    expect(a.curve.every((p) => Number.isNaN(p.gradNorm))).toBe(true);
    expect(b.curve.every((p) => p.gradNorm > 0)).toBe(true);
    expect(Array.from(measured.dataSync())).toEqual(Array.from(plain.dataSync())); // a multiply by 1 is exact
    tf.dispose([plain, measured]);
  });

  const phases: TrainingLoopSpec<Point, State, Phase>['phases'] = [
    { name: 'warm', steps: 2, lr: 0.1, warmupRatio: 0, stage: 'toy:warm' },
    { name: 'main', steps: 4, lr: 0.2, warmupRatio: 0.25, stage: 'toy:main' },
  ];

  it('phases: each its own schedule and progress stage, a fresh AdamW at the boundary', async () => {
    const w = tf.variable(tf.tensor1d(START));
    const sink = memorySink<State>();
    const progress: Progress[] = [];
    const tensors = tf.memory().numTensors;
    const r = await runTrainingLoop(toy(w, { phases, checkpointEvery: 2, run: { checkpoints: sink, onProgress: (p) => progress.push(p) } }));
    expect(tf.memory().numTensors).toBe(tensors); // both optimizers, every gradient and clip scale disposed
    // warm: no warmup, decay over 2 steps; main: warmup ceil(4·0.25) = 1 step (rate 0 first, as HF), then decay over 3.
    const want = [0.1, 0.05, 0, 0.2, (0.2 * 2) / 3, 0.2 / 3];
    r.curve.forEach((p, k) => expect(Math.abs(p.lr - want[k])).toBeLessThan(1e-15));
    expect(r.curve.map((p) => p.phase)).toEqual(['warm', 'warm', 'main', 'main', 'main', 'main']);
    expect(progress.map((p) => `${p.stage} ${p.done}/${p.total}`)).toEqual(['toy:warm 1/2', 'toy:warm 2/2', 'toy:main 1/4', 'toy:main 2/4', 'toy:main 3/4', 'toy:main 4/4']);
    expect(sink.saved.map((c) => [c.step, c.phase, c.optimizer.steps[0]])).toEqual([[2, 'warm', 2], [4, 'main', 2], [6, 'main', 4]]);
    expect(sink.saved[2].curve).toEqual(r.curve);
    w.dispose();
  });

  it('resume at the phase boundary and inside a phase ends bit-identical to an uninterrupted run', async () => {
    const whole = tf.variable(tf.tensor1d(START));
    const saved = memorySink<State>();
    const full = await runTrainingLoop(toy(whole, { phases, checkpointEvery: 2, run: { checkpoints: saved } }));

    const first = tf.variable(tf.tensor1d(START));
    const sink = memorySink<State>();
    const stop = new AbortController();
    const cut = runTrainingLoop(toy(first, { phases, checkpointEvery: 2, run: { checkpoints: sink, signal: stop.signal, onStep: (p) => p.step === 2 && stop.abort() } }));
    await expect(cut).rejects.toBeInstanceOf(CancelledError);
    expect(sink.saved.map((c) => c.step)).toEqual([2]); // saved after step 2, before the cancel took effect

    for (const start of [sink.saved[0], saved.saved[1]]) {
      const other = tf.variable(tf.tensor1d([9, 9])); // other weights: all must come from the checkpoint
      const resumed = await runTrainingLoop(toy(other, { phases, run: { checkpoints: memorySink([start]), resume: true } }));
      expect(resumed.resumedFrom).toBe(start.step);
      expect(resumed.steps).toBe(6 - start.step);
      expect(resumed.curve).toEqual(full.curve);
      expect(Array.from(other.dataSync())).toEqual(Array.from(whole.dataSync()));
      other.dispose();
    }
    tf.dispose([whole, first]);
  });

  it('refuses a checkpoint whose tensors do not fit, in the trainer’s words; stops on a non-finite loss', async () => {
    const w = tf.variable(tf.tensor1d(START));
    const wrong: State = { step: 1, weights: [{ shape: [3], data: new Float32Array(3) }], optimizer: { steps: [1], m: [null], v: [null] }, phase: 'main', curve: [] };
    const resume = runTrainingLoop(toy(w, { run: { checkpoints: memorySink([wrong]), resume: true } }));
    await expect(resume).rejects.toThrow('Cannot resume the toy: tensor 0 is [3] in the checkpoint, [2] here.');
    expect(Array.from(w.dataSync())).toEqual(START); // nothing loaded

    const nan = toy(w);
    const diverging = runTrainingLoop({ ...nan, step: (k, lr, phase) => ({ ...nan.step(k, lr, phase), point: (n) => ({ ...n, loss: NaN }) }) });
    await expect(diverging).rejects.toThrow(/Toy training diverged at step 1 \(loss NaN\)\. Lower the rate\./);
    w.dispose();
  });
});
