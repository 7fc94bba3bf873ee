// The compiled attention kernel's shared-memory build (src/util/wasm-attention-kernel.ts) on tfjs-wasm's threaded
// SIMD build (Module.wasmMemory, a shared WebAssembly.Memory), started in this file's own worker by
// startWasmWithThreads(2), against the composed ops on the same backend and on cpu.
// The plain-memory build and the model-level checks: encoder-wasm-attention.test.ts.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { describe, expect, it } from 'vitest';
import { wasmFusedAttention } from '../../src/util/wasm-attention-kernel.ts';
import { attentionCase, composedAttention, maxDiff } from './helpers/attention-reference.ts';
import { useThreadedWasm } from './helpers/threaded-wasm.ts';

/** As encoder-wasm-attention.test.ts: the same kernel, the same sums. */
const ATTENTION_TOL = 1e-5;

const sharedWasmKernels = useThreadedWasm();

describe('wasmFusedAttention on the threaded wasm build (shared memory)', () => {
  it('runs the shared-memory build and equals the composed ops on wasm and on cpu', async (ctx) => {
    await sharedWasmKernels(ctx);
    const shape = { B: 3, T: 11, heads: 2, hs: 32 };
    const scale = 1 / Math.sqrt(shape.hs);
    const reference = () => tf.tidy(() => composedAttention(...attentionCase(shape), shape.heads, scale).dataSync());
    const wasmComposed = reference();
    const got = tf.tidy(() => wasmFusedAttention(...attentionCase(shape), shape.heads, scale).dataSync());
    expect(await tf.setBackend('cpu')).toBe(true);
    const cpu = reference();
    expect(maxDiff(got, wasmComposed)).toBeLessThan(ATTENTION_TOL);
    expect(maxDiff(got, cpu)).toBeLessThan(ATTENTION_TOL);
  });
});
