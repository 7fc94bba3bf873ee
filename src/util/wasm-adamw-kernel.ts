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
import { wasmKernelsAvailable, wasmKernelsOf, withHeapScratch } from './wasm-kernel-module.ts';
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

/** Moments given as host arrays (attrs hostM, hostV) instead of the inputs m, v. */
interface HostMomentAttrs {
  hostM?: Float32Array;
  hostV?: Float32Array;
}

function adamwKernel({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: unknown }): tf.TensorInfo {
  const { p, g, m, v } = inputs as Record<'p' | 'g', tf.TensorInfo> & Partial<Record<'m' | 'v', tf.TensorInfo>>;
  const { hostM, hostV } = attrs as HostMomentAttrs;
  const n = size(p);
  const ts = [p, g, ...(m && v ? [m, v] : [])];
  const bad = ts.some((t) => t.dtype !== 'float32' || size(t) !== n) || (m && v ? !!hostM : !(hostM?.length === n && hostV?.length === n));
  if (bad) throw new Error(`${WASM_ADAMW}: expects float32 p, g and moments (tensors m, v, or host arrays) of one size; got ${ts.map((t) => `${t.dtype} [${t.shape}]`).join(', ')}${hostM ? `, host moments of ${hostM.length} and ${hostV?.length}` : ''}`);
  const consts = CONSTANT_NAMES.map((k) => (attrs as AdamWStepConstants)[k]);
  const { be, mod, kernels, at } = wasmKernelsOf(backend);
  const out = be.makeOutput(p.shape, 'float32');
  const parts = splitRange(n, n < ADAMW_SPLIT_MIN ? 1 : kernelThreads(), 4);
  const run = (mAt: number, vAt: number) => runParts(kernels, 'adamw', parts.map(([first, last]) => [at(p) + 4 * first, at(g) + 4 * first, mAt + 4 * first, vAt + 4 * first, at(out) + 4 * first, last - first, ...consts]), FLOAT_ARGS);
  if (m && v) {
    run(at(m), at(v));
    return out;
  }
  // Host moments: copied into scratch for the pass and back (the heap view is taken after malloc, which may grow the memory).
  withHeapScratch(mod, 8 * n, (scratch) => {
    const f = scratch >> 2;
    be.wasm.HEAPF32.set(hostM!, f);
    be.wasm.HEAPF32.set(hostV!, f + n);
    run(scratch, scratch + 4 * n);
    const heap = be.wasm.HEAPF32;
    hostM!.set(heap.subarray(f, f + n));
    hostV!.set(heap.subarray(f + n, f + 2 * n));
  });
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

/**
 * The same update with the moments as host arrays (a model whose moments do not fit the heap, optimizer.ts):
 * copied into heap scratch for the pass and back, so m and v are updated IN PLACE; returns the new p.
 */
export function wasmAdamWHostMoments(p: tf.Tensor, g: tf.Tensor, m: Float32Array, v: Float32Array, c: AdamWStepConstants): tf.Tensor {
  registerKernelOnce(WASM_ADAMW, 'wasm', adamwKernel);
  return tf.engine().runKernel(WASM_ADAMW, { p, g } as unknown as tf.NamedTensorMap, { ...c, hostM: m, hostV: v } as unknown as tf.NamedAttrMap) as tf.Tensor;
}
