// Node's helper threads for the compiled wasm kernels (src/util/wasm-helper-threads.ts): one worker_threads
// Worker per extra tfjs-wasm thread, each running HELPER_SOURCE.node on the backend's shared memory, unref()'d
// so that they never keep the process alive. Started by useBackend('wasm') after the threaded build (backend.ts).
import { Worker } from 'node:worker_threads';
import { HELPER_SOURCE, kernelHelpersStarted, newHelperBlock, setKernelHelpers } from '../util/wasm-helper-threads.ts';
import { sharedWasmKernels } from '../util/wasm-kernel-module.ts';

/** Starts `count` helpers on the active wasm backend; resolves with how many run (0 where its memory is not shared). */
export async function startKernelHelpers(count: number): Promise<number> {
  const shared = sharedWasmKernels();
  if (!shared || count < 1) {
    setKernelHelpers([]);
    return 0;
  }
  const blocks: Int32Array[] = [];
  for (let i = 0; i < count; i++) {
    const { block, view } = newHelperBlock(shared);
    // eval'd plain JavaScript with no execArgv: the helper needs none of this process's loaders.
    const worker = new Worker(HELPER_SOURCE.node, { eval: true, execArgv: [], workerData: { memory: shared.memory, module: shared.module, block } });
    worker.unref();
    blocks.push(view);
  }
  setKernelHelpers(blocks);
  return kernelHelpersStarted();
}
