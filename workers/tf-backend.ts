// tfjs backends for the browser worker: WebGPU when the browser grants an adapter, else wasm (its .wasm
// files are bundled by Vite and located through setWasmPaths). Browser-only (Vite `?url` imports).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';

setWasmPaths({
  'tfjs-backend-wasm.wasm': wasm,
  'tfjs-backend-wasm-simd.wasm': wasmSimd,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
});

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
  return { backend: 'wasm', webgpu: false };
}
