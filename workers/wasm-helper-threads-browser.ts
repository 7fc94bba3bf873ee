// The browser's helper threads for the compiled wasm kernels (src/util/wasm-helper-threads.ts): one Worker per
// extra tfjs-wasm thread, from a blob of HELPER_SOURCE.browser, handed the backend's shared memory and the
// kernels' module (both need cross-origin isolation, which the threaded tfjs-wasm build needs too).
import * as tf from '@tensorflow/tfjs-core';
import { HELPER_SOURCE, kernelHelpersStarted, newHelperBlock, setKernelHelpers } from '../src/util/wasm-helper-threads.ts';
import { wasmInternals } from '../src/util/wasm-kernel-internals.ts';
import { sharedWasmKernels } from '../src/util/wasm-kernel-module.ts';

let started: Worker[] = [];

/** Starts a helper per tfjs-wasm thread beyond the first; resolves with how many run (0 where the memory is not shared). */
export async function startKernelHelpers(): Promise<number> {
  const threads = tf.getBackend() === 'wasm' ? (wasmInternals(tf.backend()).wasm.tfjs.getThreadsCount?.() ?? 1) : 1;
  const shared = threads > 1 ? sharedWasmKernels() : undefined;
  for (const w of started) w.terminate();
  started = [];
  if (!shared) {
    setKernelHelpers([]);
    return 0;
  }
  const url = URL.createObjectURL(new Blob([HELPER_SOURCE.browser], { type: 'text/javascript' }));
  const blocks: Int32Array[] = [];
  for (let i = 1; i < threads; i++) {
    const { block, view } = newHelperBlock(shared);
    const worker = new Worker(url);
    worker.postMessage({ memory: shared.memory, module: shared.module, block });
    started.push(worker);
    blocks.push(view);
  }
  URL.revokeObjectURL(url);
  setKernelHelpers(blocks);
  return kernelHelpersStarted();
}
