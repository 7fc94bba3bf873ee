// A bias's gradient, Σ_rows dy, as one compiled wasm SIMD pass for tfjs-backend-wasm (kernel WASM_COLUMN_SUM;
// src/util/wasm-column-sum-kernel.c). tfjs-wasm's tf.sum(dy, 0) transposes dy and then sums its rows: ~27 ms
// for a (2048, 1536) MLP gradient of a MiniLM training step, 18 of them a step; this reads dy once, columns split
// over helper threads where the environment started them (wasm-helper-threads.ts). No gradient (it is one).
import * as tf from '@tensorflow/tfjs-core';
import { wasmKernelsOf } from './wasm-kernel-module.ts';
import { registerKernelOnce } from './register-kernel-once.ts';
import { kernelThreads, runParts, splitRange } from './wasm-helper-threads.ts';

export const WASM_COLUMN_SUM = 'ExpandrWasmColumnSum';
/** Below this many elements a hand-over to a helper thread costs more than it gains. */
export const COLUMN_SUM_SPLIT_MIN = 1 << 16;

function columnSumKernel({ inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const { x } = inputs as { x: tf.TensorInfo };
  if (x.dtype !== 'float32' || x.shape.length !== 2) throw new Error(`${WASM_COLUMN_SUM}: expects a float32 matrix (rows, cols); got ${x.dtype} [${x.shape}]`);
  const [rows, cols] = x.shape;
  const { be, kernels, at } = wasmKernelsOf(backend);
  const out = be.makeOutput([cols], 'float32');
  const threads = rows * cols < COLUMN_SUM_SPLIT_MIN ? 1 : kernelThreads();
  runParts(kernels, 'column_sum', splitRange(cols, threads, 4).map(([c0, c1]) => [at(x), at(out), rows, cols, c0, c1]));
  return out;
}

/** Registers WASM_COLUMN_SUM for the wasm backend (idempotent). */
export function registerWasmColumnSum(): void {
  registerKernelOnce(WASM_COLUMN_SUM, 'wasm', columnSumKernel);
}

/** Σ over the rows of x (rows, cols) → (cols), each column summed in row order. Wasm only, float32, no gradient. */
export function wasmColumnSum(x: tf.Tensor2D): tf.Tensor1D {
  registerWasmColumnSum();
  return tf.engine().runKernel(WASM_COLUMN_SUM, { x } as unknown as tf.NamedTensorMap) as tf.Tensor1D;
}
