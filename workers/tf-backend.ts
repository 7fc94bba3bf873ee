// tfjs backends for the browser worker: WebGPU when the browser grants an adapter, else wasm (its .wasm
// files are bundled by Vite and located through setWasmPaths). Browser-only (Vite `?url` imports).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { installLeanGradients } from '../src/util/lean-gradients.ts';
import { prepareWasmKernels } from '../src/util/wasm-kernel-module.ts';
import { startKernelHelpers } from './wasm-helper-threads-browser.ts';
import { shareWasmIdentity } from '../src/util/wasm-identity.ts';

shareWasmIdentity();
installLeanGradients();
setWasmPaths({
  'tfjs-backend-wasm.wasm': wasm,
  'tfjs-backend-wasm-simd.wasm': wasmSimd,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
});

/** A software adapter (SwiftShader, ~1 GFLOP/s here) rather than a GPU. */
async function softwareAdapter(gpu: { requestAdapter(): Promise<unknown> }): Promise<boolean> {
  try {
    const a = (await gpu.requestAdapter()) as { isFallbackAdapter?: boolean; info?: { architecture?: string; description?: string; isFallbackAdapter?: boolean } } | null;
    return !!a && (!!a.isFallbackAdapter || !!a.info?.isFallbackAdapter || /swiftshader/i.test(`${a.info?.architecture ?? ''} ${a.info?.description ?? ''}`));
  } catch {
    return false;
  }
}

export async function initBackend(): Promise<{ backend: string; webgpu: boolean }> {
  const gpu = (navigator as Navigator & { gpu?: unknown }).gpu;
  if (gpu) {
    try {
      if (await tf.setBackend('webgpu')) {
        await tf.ready();
        return { backend: 'webgpu', webgpu: true };
      }
    } catch {
      // no adapter granted: fall through to wasm
    }
  }
  await tf.setBackend('wasm');
  await tf.ready();
  await prepareWasmKernels(); // compiled here, not on the first forward pass
  await startKernelHelpers(); // the compiled kernels' work over as many threads as XNNPACK's pool has
  return { backend: 'wasm', webgpu: false };
}

/**
 * The backend for the ExpandR pipeline (many small decoder steps): on a software adapter the wasm
 * backend (~37 GFLOP/s on 2 cores, DESIGN.md §2) is far faster than SwiftShader, so the pipeline runs
 * there; on a real GPU it keeps WebGPU. Call after initBackend.
 */
export async function initPipelineBackend(): Promise<{ backend: string; webgpu: boolean }> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (tf.getBackend() === 'webgpu' && gpu && (await softwareAdapter(gpu))) {
    await tf.setBackend('wasm');
    await tf.ready();
    await prepareWasmKernels();
    await startKernelHelpers();
  }
  return { backend: tf.getBackend(), webgpu: tf.getBackend() === 'webgpu' };
}
