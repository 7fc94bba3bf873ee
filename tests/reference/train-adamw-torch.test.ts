// src/train/optimizer.ts against torch.optim.AdamW + clip_grad_norm_ (torch 1.13, float32, CPU), step for
// step, from the fixture written by tests/reference/gen/adamw_fixture.py: the tensor path and the host path's
// JavaScript loop on cpu, and the host path's compiled update on wasm (src/util/wasm-adamw-kernel.ts).
import { readFileSync } from 'node:fs';
import { beforeAll, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { WASM_ADAMW } from '../../src/util/wasm-adamw-kernel.ts';
import { useCpuBackend } from '../unit/helpers/tiny-encoder.ts';
import { AdamW, clipGradNorm } from '../../src/train/optimizer.ts';

/** Both sides compute in float32; the scalars (bias corrections) in float64. Differences are rounding only. */
const TOL = 1e-6;

interface Fixture {
  betas: [number, number];
  eps: number;
  weight_decay: number;
  max_norm: number;
  shapes: number[][];
  init: number[][];
  steps: { lr: number; grads: (number[] | null)[]; clip_norm: number; params_after: number[][] }[];
}
const fx: Fixture = JSON.parse(readFileSync(new URL('./fixtures/train-adamw-torch.json', import.meta.url), 'utf8'));

beforeAll(useCpuBackend);

it.each(['tensor', 'host', 'wasm kernel'] as const)('AdamW (moments as %s) with clipping follows torch step for step (skipped gradients included)', async (path) => {
  expect(await tf.setBackend(path === 'wasm kernel' ? 'wasm' : 'cpu')).toBe(true);
  const moments = path === 'tensor' ? 'tensor' : 'host';
  const params = fx.init.map((x, i) => tf.variable(tf.tensor(x, fx.shapes[i])));
  const opt = new AdamW(params, { beta1: fx.betas[0], beta2: fx.betas[1], eps: fx.eps, weightDecay: fx.weight_decay }, moments);
  let worst = 0;
  for (const st of fx.steps) {
    const raw = st.grads.map((g, i) => (g ? tf.tensor(g, fx.shapes[i]) : null));
    const { grads, norm } = await clipGradNorm(raw, fx.max_norm);
    expect(Math.abs(norm - st.clip_norm)).toBeLessThanOrEqual(1e-5 * st.clip_norm);
    const { kernelNames } = await tf.profile(() => opt.step(grads, st.lr));
    expect(kernelNames.includes(WASM_ADAMW)).toBe(path === 'wasm kernel');
    params.forEach((p, i) => p.dataSync().forEach((x, k) => (worst = Math.max(worst, Math.abs(x - st.params_after[i][k])))));
  }
  console.log(`AdamW (${path}) vs torch: max |Δparam| over ${fx.steps.length} steps = ${worst.toExponential(2)}`);
  expect(worst).toBeLessThanOrEqual(TOL);
});
