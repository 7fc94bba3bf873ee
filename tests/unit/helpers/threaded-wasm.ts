// Shared set-up of the *-threads tests: tfjs-wasm's threaded SIMD build started in the test file's own worker
// (startWasmWithThreads(2)), and the check that the compiled kernels loaded their shared-memory build on it.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, expect, type TestContext } from 'vitest';
import { startWasmWithThreads } from '../../../src/encoder/wasm-threads.ts';
import { prepareWasmKernels } from '../../../src/util/wasm-kernel-module.ts';

/** Starts the threaded wasm build before the file's tests; call at the top level of a test file. */
export function useThreadedWasm(): (ctx: TestContext) => Promise<void> {
  let threads = 1;
  beforeAll(async () => {
    threads = await startWasmWithThreads(2);
  });
  /** Skips the test where the threaded build did not start; else checks the kernels run on shared memory. */
  return async (ctx) => {
    if (threads < 2) ctx.skip('the threaded wasm build did not start here (startWasmWithThreads fell back to the plain one)');
    const memory = (tf.backend() as unknown as { wasm: { wasmMemory?: WebAssembly.Memory } }).wasm.wasmMemory;
    expect(memory?.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(await prepareWasmKernels()).toBe('shared');
  };
}
