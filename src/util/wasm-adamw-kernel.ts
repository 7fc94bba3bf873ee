// AdamW's update of one float32 variable on tfjs-backend-wasm as ONE compiled wasm SIMD pass (kernel
// WASM_ADAMW, src/util/wasm-adamw-kernel.c), instead of src/train/optimizer.ts' JavaScript loop over host arrays
// (a Math.fround per operation, plus reading p and g out of the heap and uploading the new p): it reads p, g, m, v
// once, updates m and v IN PLACE and writes the new p to its output, every operation in float32 in the loop's
// order, so that parameters and moments equal the loop's bit for bit (tests/unit/wasm-adamw.test.ts). Large
// variables are split over helper threads where the environment started them (wasm-helper-threads.ts).
// In place is safe because the moments are tensors that the optimizer alone holds: made by it (zeros, or a
// checkpoint's arrays), never handed out (getState reads copies), never reshaped or cloned (which would share their
// heap buffer), and read by nothing else; tfjs treats tensors as immutable, so no other tensor can alias them.
import * as tf from '@tensorflow/tfjs-core';
import { registerKernelOnce } from './register-kernel-once.ts';
import { wasmKernelsAvailable, wasmKernelsOf } from './wasm-kernel-module.ts';
import { wasmKernelSwitches } from './wasm-kernel-internals.ts';
import { kernelThreads, runParts, splitRange } from './wasm-helper-threads.ts';

export const WASM_ADAMW = 'ExpandrWasmAdamW';
/** Below this many elements a hand-over to a helper thread costs more than it gains. */
export const ADAMW_SPLIT_MIN = 1 << 15;
/** adamw()'s f32 arguments (runParts' floats): decay … stepSize, arguments 6 to 13. */
const FLOAT_ARGS = 0xff << 6;

/** One step's float32 constants, in adamw()'s order (see wasm-adamw-kernel.c). decay 1: no weight decay. */
export interface AdamWStepConstants {
  decay: number;
  b1: number;
  c1: number;
  b2: number;
  c2: number;
  bc2Sqrt: number;
  eps: number;
  stepSize: number;
}
const CONSTANT_NAMES = ['decay', 'b1', 'c1', 'b2', 'c2', 'bc2Sqrt', 'eps', 'stepSize'] as const;

const size = (t: tf.TensorInfo) => t.shape.reduce((a, b) => a * b, 1);

function adamwKernel({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: unknown }): tf.TensorInfo {
  const { p, g, m, v } = inputs as Record<'p' | 'g' | 'm' | 'v', tf.TensorInfo>;
  const ts = [p, g, m, v];
  if (ts.some((t) => t.dtype !== 'float32' || size(t) !== size(p))) throw new Error(`${WASM_ADAMW}: expects float32 p, g, m, v of one size; got ${ts.map((t) => `${t.dtype} [${t.shape}]`).join(', ')}`);
  const consts = CONSTANT_NAMES.map((k) => (attrs as AdamWStepConstants)[k]);
  const { be, kernels, at } = wasmKernelsOf(backend);
  const out = be.makeOutput(p.shape, 'float32');
  const n = size(p);
  const parts = splitRange(n, n < ADAMW_SPLIT_MIN ? 1 : kernelThreads(), 4);
  runParts(kernels, 'adamw', parts.map(([first, last]) => [...[p, g, m, v, out].map((t) => at(t) + 4 * first), last - first, ...consts]), FLOAT_ARGS);
  return out;
}

/** Whether wasmAdamW runs for variable p (and its gradient g) now: wasm backend, kernels started, switch on, float32. */
export function wasmAdamWUsable(p: tf.Tensor, g: tf.Tensor = p): boolean {
  return wasmKernelSwitches.adamw && p.dtype === 'float32' && g.dtype === 'float32' && wasmKernelsAvailable();
}

/**
 * One AdamW update: returns the new p (the caller assigns it) and updates m and v IN PLACE — they must be
 * float32 tensors that nothing but the caller references (see above). Constants as float32 values (Math.fround).
 */
export function wasmAdamW(p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, c: AdamWStepConstants): tf.Tensor {
  registerKernelOnce(WASM_ADAMW, 'wasm', adamwKernel);
  return tf.engine().runKernel(WASM_ADAMW, { p, g, m, v } as unknown as tf.NamedTensorMap, c as unknown as tf.NamedAttrMap) as tf.Tensor;
}
