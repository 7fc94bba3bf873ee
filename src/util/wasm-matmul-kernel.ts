// Batched matrix products on tfjs-wasm as N plain 2D XNNPACK products, with no copies: a kernel
// (SLICED_BATCH_MATMUL, wasm only) that registers each slice of its inputs and output as a tensor of its
// own that ALIASES the parent's heap memory (tfjs.registerTensor(id, size, offset) with an offset inside
// the parent), calls the wasm module's BatchMatMul on those 2D slices (batch 1, no transpose: the XNNPACK
// path, see matmul.ts), and drops the aliases (tfjs.disposeData(id): the C++ side forgets the id and frees
// the XNNPACK operator it cached for it; the memory stays the parent's, it is never _free'd here).
// This replaces reading both inputs back to JS, making 2·N slice tensors, and one Concat of N results
// (bench/RESULTS-encoder-browser.md: that overhead was ~40 % of attention's product time).
// Relies on tfjs-backend-wasm 4.22 internals (wasm-kernel-internals.ts) and its exported BatchMatMul.
import * as tf from '@tensorflow/tfjs-core';
import { wasmInternals } from './wasm-kernel-internals.ts';
import { registerKernelOnce } from './register-kernel-once.ts';

export const SLICED_BATCH_MATMUL = 'ExpandrSlicedBatchMatMul';

type BatchMatMulFn = (aId: number, aShape: Uint8Array, aRank: number, bId: number, bShape: Uint8Array, bRank: number, transposeA: number, transposeB: number, outId: number) => void;

const batchMatMulOf = new WeakMap<object, BatchMatMulFn>();
const shapeBytes = (shape: number[]) => new Uint8Array(new Int32Array(shape).buffer);

function slicedBatchMatMul({ inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const be = wasmInternals(backend);
  if (a.shape.length !== 3 || b.shape.length !== 3 || a.shape[0] !== b.shape[0] || a.shape[2] !== b.shape[1] || a.dtype !== 'float32' || b.dtype !== 'float32') {
    throw new Error(`${SLICED_BATCH_MATMUL}: expects float32 (N, M, K) and (N, K, P), got ${a.dtype} [${a.shape}] and ${b.dtype} [${b.shape}]`);
  }
  const [n, m, k] = a.shape;
  const p = b.shape[2];
  let fn = batchMatMulOf.get(be.wasm);
  if (!fn) {
    fn = be.wasm.cwrap('BatchMatMul', null, ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number']) as BatchMatMulFn;
    batchMatMulOf.set(be.wasm, fn);
  }
  const out = be.makeOutput([n, m, p], 'float32');
  const aOffset = be.dataIdMap.get(a.dataId).memoryOffset;
  const bOffset = be.dataIdMap.get(b.dataId).memoryOffset;
  const outOffset = be.dataIdMap.get(out.dataId).memoryOffset;
  const aShape = shapeBytes([1, m, k]);
  const bShape = shapeBytes([1, k, p]);
  const tfjs = be.wasm.tfjs;
  for (let i = 0; i < n; i++) {
    // Fresh ids each time: XNNPACK's packed right-hand operand is cached per id.
    const aId = be.dataIdNextNumber++;
    const bId = be.dataIdNextNumber++;
    const outId = be.dataIdNextNumber++;
    tfjs.registerTensor(aId, m * k, aOffset + 4 * i * m * k);
    tfjs.registerTensor(bId, k * p, bOffset + 4 * i * k * p);
    tfjs.registerTensor(outId, m * p, outOffset + 4 * i * m * p);
    try {
      fn(aId, aShape, 3, bId, bShape, 3, 0, 0, outId);
    } finally {
      tfjs.disposeData(aId);
      tfjs.disposeData(bId);
      tfjs.disposeData(outId);
    }
  }
  return out;
}

/** Registers SLICED_BATCH_MATMUL for the wasm backend (idempotent). */
export function registerSlicedBatchMatMul(): void {
  registerKernelOnce(SLICED_BATCH_MATMUL, 'wasm', slicedBatchMatMul);
}

/** a (N, M, K) @ b (N, K, P) → (N, M, P) on the wasm backend, no gradient of its own. */
export function wasmSlicedBatchMatMul(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  registerSlicedBatchMatMul();
  return tf.engine().runKernel(SLICED_BATCH_MATMUL, { a, b } as unknown as tf.NamedTensorMap, {}) as tf.Tensor3D;
}
