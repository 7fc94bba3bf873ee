// Rows gathered by index in one compiled copy per row (kernel WASM_GATHER_ROWS, src/util/wasm-gather-rows-kernel.c),
// for tfjs-backend-wasm; no gradient. tf.gather on tfjs-wasm walks element by element: packing and unpacking a
// 10 × 256-token MiniLM batch with it took ~75 ms, a tenth of the pass it shortens (bench/encoder-page-profile.ts).
import * as tf from '@tensorflow/tfjs-core';
import { wasmKernelsOf } from './wasm-kernel-module.ts';
import { registerKernelOnce } from './register-kernel-once.ts';

export const WASM_GATHER_ROWS = 'ExpandrWasmGatherRows';

function gatherRowsKernel({ inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const { x, idx } = inputs as Record<'x' | 'idx', tf.TensorInfo>;
  const [rows, d] = x.shape;
  const n = idx.shape[0];
  if (x.dtype !== 'float32' || x.shape.length !== 2 || d % 4 !== 0 || idx.dtype !== 'int32' || idx.shape.length !== 1) {
    throw new Error(`${WASM_GATHER_ROWS}: expects float32 x (rows, d) with d a multiple of 4 and int32 indices (n); got x ${x.dtype} [${x.shape}], indices ${idx.dtype} [${idx.shape}]`);
  }
  const { be, kernels, at } = wasmKernelsOf(backend);
  // An index past the rows would read outside x: checked here, where the indices are on the heap anyway.
  const heap = new Int32Array(be.wasm.HEAPF32.buffer, at(idx), n);
  const bad = heap.findIndex((r) => r >= rows);
  if (bad >= 0) throw new RangeError(`${WASM_GATHER_ROWS}: index ${heap[bad]} at position ${bad} is past x's ${rows} rows`);
  const out = be.makeOutput([n, d], 'float32');
  kernels.gather_rows(at(x), at(idx), at(out), n, d);
  return out;
}

/** Registers WASM_GATHER_ROWS for the wasm backend (idempotent). */
export function registerWasmGatherRows(): void {
  registerKernelOnce(WASM_GATHER_ROWS, 'wasm', gatherRowsKernel);
}

/** Row i of the result = row idx[i] of x, or zeros where idx[i] < 0. x (rows, d), d a multiple of 4 → (n, d). Wasm only. */
export function wasmGatherRows(x: tf.Tensor2D, idx: tf.Tensor1D): tf.Tensor2D {
  registerWasmGatherRows();
  return tf.engine().runKernel(WASM_GATHER_ROWS, { x, idx } as unknown as tf.NamedTensorMap) as tf.Tensor2D;
}
