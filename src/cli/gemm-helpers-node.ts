// Node's helper threads for the compiled GEMM (src/util/gemm-helpers.ts): one worker_threads Worker per extra
// tfjs-wasm thread, each running GEMM_HELPER_SOURCE.node on the backend's shared memory, unref()'d so that they
// never keep the process alive. Started by useBackend('wasm') after the threaded build (backend.ts).
import { Worker } from 'node:worker_threads';
import { GEMM_HELPER_SOURCE, gemmHelpersStarted, newGemmBlock, setGemmHelpers } from '../util/gemm-helpers.ts';
import { sharedWasmKernels } from '../util/wasm-kernel-module.ts';

/** Starts `count` helpers on the active wasm backend; resolves with how many run (0 where its memory is not shared). */
export async function startGemmHelpers(count: number): Promise<number> {
  const shared = sharedWasmKernels();
  if (!shared || count < 1) {
    setGemmHelpers([]);
    return 0;
  }
  const blocks: Int32Array[] = [];
  for (let i = 0; i < count; i++) {
    const { block, view } = newGemmBlock(shared);
    // eval'd plain JavaScript with no execArgv: the helper needs none of this process's loaders.
    const worker = new Worker(GEMM_HELPER_SOURCE.node, { eval: true, execArgv: [], workerData: { memory: shared.memory, module: shared.module, block } });
    worker.unref();
    blocks.push(view);
  }
  setGemmHelpers(blocks);
  return gemmHelpersStarted();
}
