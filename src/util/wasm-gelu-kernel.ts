// Exact GELU as ONE compiled wasm SIMD pass for tfjs-backend-wasm, forward and backward (kernels WASM_GELU
// and WASM_GELU_GRAD). Composed from tfjs ops, GELU is 5 kernels per call (tfjs-wasm's Erf is a scalar
// loop) over the largest activations of a BERT layer, (tokens, intermediate); here
// src/util/wasm-gelu-kernel.c reads x once and writes gelu(x), or reads x and dy once and writes
// dy·gelu'(x). WASM_GELU has a registered gradient (saving x only, as PyTorch's GeluBackward), so a gradient
// tape records one kernel and its backward is one kernel too. Large tensors are split over helper threads where
// the environment started them (wasm-helper-threads.ts). The compiled module: wasm-kernel-module.ts.
import * as tf from '@tensorflow/tfjs-core';
import { wasmKernelsOf } from './wasm-kernel-module.ts';
import { registerKernelOnce } from './register-kernel-once.ts';
import { kernelThreads, runParts, splitRange } from './wasm-helper-threads.ts';

export const WASM_GELU = 'ExpandrWasmGelu';
export const WASM_GELU_GRAD = 'ExpandrWasmGeluGrad';
/** Below this many elements a hand-over to a helper thread costs more than it gains. */
export const GELU_SPLIT_MIN = 1 << 15;

/** [first, count) ranges of n elements for this thread and the helpers, each start on a 4-float SIMD lane group. */
const geluRanges = (n: number) => splitRange(n, n < GELU_SPLIT_MIN ? 1 : kernelThreads(), 4).map(([first, last]) => [first, last - first]);

const size = (t: tf.TensorInfo) => t.shape.reduce((a, b) => a * b, 1);

function checkFloat32(kernel: string, ts: tf.TensorInfo[]): void {
  const bad = ts.find((t) => t.dtype !== 'float32' || size(t) !== size(ts[0]));
  if (bad) throw new Error(`${kernel}: expects float32 tensors of one size; got ${ts.map((t) => `${t.dtype} [${t.shape}]`).join(', ')}`);
}

function geluKernel({ inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const { x } = inputs as Record<'x', tf.TensorInfo>;
  checkFloat32(WASM_GELU, [x]);
  const { be, kernels, at } = wasmKernelsOf(backend);
  const out = be.makeOutput(x.shape, 'float32');
  runParts(kernels, 'gelu', geluRanges(size(x)).map(([i, n]) => [at(x) + 4 * i, at(out) + 4 * i, n]));
  return out;
}

function geluGradKernel({ inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const { x, dy } = inputs as Record<'x' | 'dy', tf.TensorInfo>;
  checkFloat32(WASM_GELU_GRAD, [x, dy]);
  const { be, kernels, at } = wasmKernelsOf(backend);
  const out = be.makeOutput(x.shape, 'float32');
  runParts(kernels, 'gelu_grad', geluRanges(size(x)).map(([i, n]) => [at(x) + 4 * i, at(dy) + 4 * i, at(out) + 4 * i, n]));
  return out;
}

/** Registers WASM_GELU (with its gradient) and WASM_GELU_GRAD for the wasm backend (idempotent). */
export function registerWasmGelu(): void {
  if (!registerKernelOnce(WASM_GELU, 'wasm', geluKernel)) return;
  registerKernelOnce(WASM_GELU_GRAD, 'wasm', geluGradKernel);
  tf.registerGradient({
    kernelName: WASM_GELU,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => ({ x: () => wasmGeluGrad(saved[0], dy as tf.Tensor) }),
  });
}

/** gelu(x) = x·Φ(x), exact (erf) form, one kernel; differentiable. Wasm only, float32. */
export function wasmGelu<T extends tf.Tensor>(x: T): T {
  registerWasmGelu();
  return tf.engine().runKernel(WASM_GELU, { x } as unknown as tf.NamedTensorMap) as T;
}

/** dy·gelu'(x) = dy·(Φ(x) + x·φ(x)), one kernel. Wasm only, float32, x and dy of one size. */
export function wasmGeluGrad<T extends tf.Tensor>(x: T, dy: tf.Tensor): T {
  registerWasmGelu();
  return tf.engine().runKernel(WASM_GELU_GRAD, { x, dy } as unknown as tf.NamedTensorMap) as T;
}
