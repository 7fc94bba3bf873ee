// The compiled attention kernel's shared-memory build (src/util/wasm-attention-kernel.ts) on tfjs-wasm's threaded
// SIMD build (Module.wasmMemory, a shared WebAssembly.Memory), started in this file's own worker by
// startWasmWithThreads(2), against the composed ops on the same backend and on cpu.
// The plain-memory build and the model-level checks: encoder-wasm-attention.test.ts.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { startWasmWithThreads } from '../../src/encoder/wasm-threads.ts';
import { wasmFusedAttention } from '../../src/util/wasm-attention-kernel.ts';
import { prepareWasmKernels } from '../../src/util/wasm-kernel-module.ts';
import { attentionCase, composedAttention, maxDiff } from './helpers/attention-reference.ts';

/** As encoder-wasm-attention.test.ts: the same kernel, the same sums. */
const ATTENTION_TOL = 1e-5;

let threads = 1;
beforeAll(async () => {
  threads = await startWasmWithThreads(2);
});

describe('wasmFusedAttention on the threaded wasm build (shared memory)', () => {
  it('runs the shared-memory build and equals the composed ops on wasm and on cpu', async (ctx) => {
    if (threads < 2) ctx.skip('the threaded wasm build did not start here (startWasmWithThreads fell back to the plain one)');
    const memory = (tf.backend() as unknown as { wasm: { wasmMemory?: WebAssembly.Memory } }).wasm.wasmMemory;
    expect(memory?.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(await prepareWasmKernels()).toBe('shared');
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
