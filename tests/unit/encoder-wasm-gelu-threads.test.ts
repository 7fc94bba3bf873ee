// The compiled GELU kernel's shared-memory build (src/util/wasm-gelu-kernel.ts) on tfjs-wasm's threaded SIMD
// build (Module.wasmMemory, a shared WebAssembly.Memory), started in this file's own worker by
// startWasmWithThreads(2), forward and tape gradient against float64 exact GELU and the composed ops on cpu.
// The plain-memory build and the model-level checks: encoder-wasm-gelu.test.ts.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { describe, expect, it } from 'vitest';
import { gelu } from '../../src/encoder/gelu.ts';
import { WASM_GELU_GRAD } from '../../src/util/wasm-gelu-kernel.ts';
import { maxDiff } from './helpers/attention-reference.ts';
import { gelu64, geluGrad64 } from './helpers/gelu-reference.ts';
import { useThreadedWasm } from './helpers/threaded-wasm.ts';

/** As encoder-wasm-gelu.test.ts: |Δ| ≤ TOL·max(1, |x|) against float64, and against tfjs' composed ops on cpu. */
const GELU_TOL = 1.5e-7;
const GRAD_TOL = 2e-7;
const COMPOSED_TOL = 3e-7;

const sharedWasmKernels = useThreadedWasm();

describe('wasmGelu on the threaded wasm build (shared memory)', () => {
  it('runs the shared-memory build: forward and gradient equal float64 GELU and the composed ops on cpu', async (ctx) => {
    await sharedWasmKernels(ctx);
    const xs = Float32Array.from({ length: 5003 }, (_, i) => -12 + (24 * i) / 5002);
    const run = () =>
      tf.tidy(() => {
        const x = tf.tensor1d(xs);
        const [g] = tf.grads((t: tf.Tensor) => gelu(t))([x]);
        return [gelu(x).dataSync() as Float32Array, g.dataSync() as Float32Array];
      });
    const kernels = (await tf.profile(() => void run())).kernels.map((k) => k.name);
    expect(kernels).toContain(WASM_GELU_GRAD);
    const [y, g] = run();
    xs.forEach((x, i) => {
      expect(Math.abs(y[i] - gelu64(x))).toBeLessThanOrEqual(GELU_TOL * Math.max(1, Math.abs(x)));
      expect(Math.abs(g[i] - geluGrad64(x))).toBeLessThanOrEqual(GRAD_TOL * Math.max(1, Math.abs(x)));
    });
    expect(await tf.setBackend('cpu')).toBe(true);
    const [cy, cg] = run();
    expect(maxDiff(y, cy)).toBeLessThan(COMPOSED_TOL * 12);
    expect(maxDiff(g, cg)).toBeLessThan(COMPOSED_TOL * 12);
  });
});
