// AdamW's compiled update on wasm (src/util/wasm-adamw-kernel.ts, used by src/train/optimizer.ts' host path)
// against the JavaScript loop it replaces (wasmKernelSwitches.adamw off): parameters and both moments bit for
// bit over several steps, with and without weight decay, sizes off the 4-lane groups and a skipped gradient;
// against the tensor path on the cpu backend; checkpoints (getState/setState) and switch changes moving the
// moments between the kernel's heap tensors and the loop's arrays; nothing left behind; and on tfjs-wasm's
// threaded build (started here when it can), a variable split over a helper thread equals one thread bit for bit.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { describe, expect, it } from 'vitest';
import { startKernelHelpers } from '../../src/cli/wasm-helper-threads-node.ts';
import { AdamW, HEAP_MOMENTS_MAX_FLOATS, heapMomentsFit, type AdamWState } from '../../src/train/optimizer.ts';
import { ADAMW_SPLIT_MIN, WASM_ADAMW } from '../../src/util/wasm-adamw-kernel.ts';
import { kernelHelperJobs } from '../../src/util/wasm-helper-threads.ts';
import { wasmKernelSwitches } from '../../src/util/wasm-kernel-internals.ts';
import { useThreadedWasm } from './helpers/threaded-wasm.ts';

const sharedWasmKernels = useThreadedWasm();

/** Rates of successive steps (a schedule's warmup and decay). */
const LRS = [1e-3, 2e-3, 5e-4, 1e-2, 3e-3];
/** Shapes off the 4-lane groups (7, 15, 2,113) and on them (4); variable 1 gets no gradient on odd steps. */
const SHAPES = [[7], [3, 5], [4], [1, 2113]];

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Deterministic float32 values with a wide spread of magnitudes, zeros and tiny values (subnormal squares) included. */
function values(n: number, seed: number): Float32Array {
  let s = (seed * 2654435761 + 12345) >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  return Float32Array.from({ length: n }, (_, i) => {
    const u = next() - 0.5;
    if (i % 97 === 5) return 0;
    if (i % 89 === 7) return u * 1e-21;
    return u * 10 ** Math.floor(next() * 8 - 5);
  });
}

interface Run {
  params: Float32Array[];
  state: AdamWState;
  kernels: string[];
}

/**
 * `steps` AdamW steps on fresh variables (SHAPES unless given) with the kernel's switch per step as `kernelAt`
 * says; at step `resumeAt` the optimizer is replaced by a new one restored from its state (a checkpoint resumed).
 * Checks that nothing is left behind.
 */
async function train(weightDecay: number, kernelAt: (step: number) => boolean, opts: { steps?: number; resumeAt?: number; shapes?: number[][]; heapMax?: number } = {}): Promise<Run> {
  const { steps = 4, resumeAt = -1, shapes = SHAPES, heapMax = HEAP_MOMENTS_MAX_FLOATS } = opts;
  const before = tf.memory().numTensors;
  const kernels = new Set<string>();
  try {
    const ps = shapes.map((s, i) => tf.tidy(() => tf.variable(tf.tensor(values(size(s), i), s))));
    let opt = new AdamW(ps, { weightDecay }, 'auto', heapMax);
    for (let s = 0; s < steps; s++) {
      wasmKernelSwitches.adamw = kernelAt(s);
      if (s === resumeAt) {
        const state = await opt.getState();
        opt.dispose();
        opt = new AdamW(ps, { weightDecay }, 'auto', heapMax);
        opt.setState(state);
      }
      const grads = shapes.map((sh, i) => (i === 1 && s % 2 ? null : tf.tensor(values(size(sh), 100 * (s + 1) + i), sh)));
      const profile = await tf.profile(() => opt.step(grads, LRS[s]));
      profile.kernelNames.forEach((k) => kernels.add(k));
      grads.forEach((g) => g?.dispose());
    }
    // A variable's moments are heap tensors where the switch was on at its last update (or at a later resume).
    const lastTouched = (i: number) => Math.max(i === 1 ? 2 * Math.floor((steps - 1) / 2) : steps - 1, resumeAt);
    // (Elsewhere the tensor path keeps them as variables.)
    const heapKept = heapMomentsFit(shapes.map((sh) => ({ size: size(sh) })), heapMax);
    const momentTensors = 2 * (tf.getBackend() === 'wasm' ? (heapKept ? shapes.filter((_, i) => kernelAt(lastTouched(i))).length : 0) : shapes.length);
    expect(tf.memory().numTensors - before, 'the variables and, on the kernel path, their moments').toBe(ps.length + momentTensors);
    const params = ps.map((p) => (p.dataSync() as Float32Array).slice());
    const state = await opt.getState();
    opt.dispose();
    ps.forEach((p) => p.dispose());
    expect(tf.memory().numTensors, 'no tensor left behind').toBe(before);
    return { params, state, kernels: [...kernels] };
  } finally {
    wasmKernelSwitches.adamw = true;
  }
}

const bits = (x: Float32Array | null) => (x ? Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('hex') : null);

/** Parameters, moments and step counts equal bit for bit. */
function expectSameBits(a: Run, b: Run): void {
  expect(a.state.steps).toEqual(b.state.steps);
  a.params.forEach((p, i) => expect(bits(p) === bits(b.params[i]), `parameter ${i}`).toBe(true));
  a.state.m.forEach((m, i) => expect(bits(m) === bits(b.state.m[i]), `m ${i}`).toBe(true));
  a.state.v.forEach((v, i) => expect(bits(v) === bits(b.state.v[i]), `v ${i}`).toBe(true));
}

const always = () => true;
const never = () => false;

describe('AdamW on wasm: the compiled update', () => {
  for (const weightDecay of [0, 0.01]) {
    it(`equals the JavaScript loop bit for bit: parameters and moments, 4 steps, weight decay ${weightDecay}`, async () => {
      expect(await tf.setBackend('wasm')).toBe(true);
      const kernel = await train(weightDecay, always);
      const loop = await train(weightDecay, never);
      expect(kernel.kernels).toContain(WASM_ADAMW);
      expect(loop.kernels).not.toContain(WASM_ADAMW);
      expect(kernel.state.steps).toEqual([4, 2, 4, 4]);
      expectSameBits(kernel, loop);
      // The update did something: every parameter moved somewhere.
      kernel.params.forEach((p, i) => expect(bits(p)).not.toBe(bits(values(p.length, i))));
    });

    it(`equals the tensor path on the cpu backend (tfjs ops, float32 each) bit for bit, weight decay ${weightDecay}`, async () => {
      expect(await tf.setBackend('wasm')).toBe(true);
      const kernel = await train(weightDecay, always);
      expect(await tf.setBackend('cpu')).toBe(true);
      let cpu: Run;
      try {
        cpu = await train(weightDecay, never);
      } finally {
        expect(await tf.setBackend('wasm')).toBe(true);
      }
      // Both round every operation to float32 in the same order (√v before its division included), and tfjs-cpu's
      // kernels compute in float64 and store float32 as the loop does with Math.fround: the same bits.
      expectSameBits(kernel, cpu);
    });
  }

  it('with moments too large for the heap, copies each variable\'s pair in for the compiled pass: the loop\'s bits, no moment left in the heap', async () => {
    expect(await tf.setBackend('wasm')).toBe(true);
    for (const weightDecay of [0, 0.01]) {
      const copied = await train(weightDecay, always, { heapMax: 0, steps: 5, resumeAt: 2 });
      expect(copied.kernels).toContain(WASM_ADAMW);
      expectSameBits(copied, await train(weightDecay, never, { steps: 5, resumeAt: 2 }));
    }
    // The switch flipped between steps: the arrays stay arrays either way.
    expectSameBits(await train(0.01, (s) => s % 2 === 0, { heapMax: 0, steps: 5 }), await train(0.01, always, { steps: 5 }));
  });

  it('a checkpoint moves between the kernel and the loop, and the switch may change between steps', async () => {
    expect(await tf.setBackend('wasm')).toBe(true);
    const reference = await train(0.01, always, { steps: 5 });
    // Kernel → checkpoint → loop; loop → checkpoint → kernel; a checkpoint within the kernel path.
    expectSameBits(await train(0.01, (s) => s < 2, { steps: 5, resumeAt: 2 }), reference);
    expectSameBits(await train(0.01, (s) => s >= 3, { steps: 5, resumeAt: 3 }), reference);
    expectSameBits(await train(0.01, always, { steps: 5, resumeAt: 1 }), reference);
    // One optimizer, the switch flipped every step: moments move between heap tensors and arrays.
    expectSameBits(await train(0.01, (s) => s % 2 === 0, { steps: 5 }), reference);
    expectSameBits(await train(0.01, (s) => s % 2 === 1, { steps: 5 }), reference);
  });

  it('refuses a checkpoint of the wrong size on the kernel path, and starts afresh after dispose', async () => {
    expect(await tf.setBackend('wasm')).toBe(true);
    const before = tf.memory().numTensors;
    const p = tf.tidy(() => tf.variable(tf.tensor1d([1, 2, 3])));
    const opt = new AdamW([p]);
    const g = tf.tensor1d([0.3, -0.1, 0.05]);
    opt.step([g], 0.1);
    g.dispose();
    expect(() => opt.setState({ steps: [1], m: [new Float32Array(2)], v: [null] })).toThrow(/3 values, the state 2/);
    opt.dispose();
    expect((await opt.getState()).m).toEqual([null]);
    p.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('which models keep their moments in the heap', () => {
  it('MiniLM-sized ones and LoRA adapters do, BERT-base-sized ones stay on the host', () => {
    const sizes = (...n: number[]) => n.map((size) => ({ size }));
    expect(heapMomentsFit(sizes(22_713_216))).toBe(true); // all-MiniLM-L6-v2
    expect(heapMomentsFit(sizes(HEAP_MOMENTS_MAX_FLOATS / 2))).toBe(true);
    expect(heapMomentsFit(sizes(HEAP_MOMENTS_MAX_FLOATS / 4, HEAP_MOMENTS_MAX_FLOATS / 4 + 1))).toBe(false);
    expect(heapMomentsFit(sizes(109_482_240))).toBe(false); // BERT-base
  });
});

describe('AdamW on wasm split over a helper thread', () => {
  it('a large variable: one part on the helper, bit for bit as one thread and as the loop, heap or host moments', async (ctx) => {
    await sharedWasmKernels(ctx);
    expect(await startKernelHelpers(1)).toBe(1);
    // Parts [0, 32776) + [32776, 65551): the helper's part ends off the 4-lane groups.
    const shapes = [[7], [3, 5], [2 * ADAMW_SPLIT_MIN + 15], [ADAMW_SPLIT_MIN - 1]];
    for (const weightDecay of [0, 0.01]) {
      const jobs = kernelHelperJobs()[0];
      const split = await train(weightDecay, always, { shapes });
      expect(kernelHelperJobs()[0] - jobs, 'the helper ran one part of the large variable per step').toBe(4);
      wasmKernelSwitches.helperThreads = false;
      let alone: Run;
      try {
        alone = await train(weightDecay, always, { shapes });
      } finally {
        wasmKernelSwitches.helperThreads = true;
      }
      expect(kernelHelperJobs()[0] - jobs).toBe(4);
      expectSameBits(split, alone);
      expectSameBits(split, await train(weightDecay, never, { shapes }));
      // Host moments copied into scratch: the helper updates its part there too.
      const copied = await train(weightDecay, always, { shapes, heapMax: 0 });
      expect(kernelHelperJobs()[0] - jobs).toBe(8);
      expectSameBits(copied, split);
    }
  });
});
