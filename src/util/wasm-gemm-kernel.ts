// Matrix products as one compiled wasm SIMD call for tfjs-backend-wasm (kernel WASM_GEMM): C = op(A)·op(B)
// (+ bias), op a transpose or not. tfjs-wasm's own product reaches XNNPACK only untransposed, so every
// backward product (dy·Wᵀ, xᵀ·dy) and PyTorch-layout weight (x·Wᵀ) paid an O(size) transpose copy first; here
// A is read through strides and B through the packing step, so a transpose costs nothing. With relaxed
// SIMD's fused multiply-add (wasm-kernel-module.ts picks that build where the engine takes it) it also
// multiplies faster than XNNPACK's wasm SIMD kernels on one thread (bench/wasm-gemm.bench.ts). Its rows are
// shared in chunks with helper threads where the environment started them (wasm-helper-threads.ts); matmul.ts uses it where
// tfjs-wasm runs one thread or has a helper per extra thread. The C source: src/util/wasm-gemm-kernel.c.
import * as tf from '@tensorflow/tfjs-core';
import { kernelThreads, minChunkOf, runChunks, runParts, splitRange } from './wasm-helper-threads.ts';
import { withHeapScratch, wasmKernelsOf, type WasmKernelExports } from './wasm-kernel-module.ts';
import { registerKernelOnce } from './register-kernel-once.ts';

export const WASM_GEMM = 'ExpandrWasmGemm';
/** Batched: op(A_s) · op(B_s) for every slice s, slices shared between threads. */
export const WASM_BATCH_GEMM = 'ExpandrWasmBatchGemm';
/** Below this many rows the hand-over to a helper thread costs more than the second thread gains. */
export const GEMM_SPLIT_MIN_ROWS = 96;
/** Parts of rows are a multiple of the micro-tile's 6 rows, so a packed A's blocks are never cut. */
const MR = 6;

/** The smallest chunk of rows (runChunks) is a 1 / (threads · this) share: ~0.3 ms of work for MiniLM's 384 → 384 at 2,560 rows. */
export const GEMM_MIN_CHUNKS_PER_THREAD = 16;

/**
 * gemm(a, am, ak, packed, c, bias, M, K, N, ·, ·, gelu) over rows [0, M): in chunks of rows (multiples of 6) that
 * this thread and the helpers claim as they go (runChunks), when M is large enough to share.
 */
function gemmRows(kernels: WasmKernelExports, a: number, am: number, ak: number, packed: number, c: number, bias: number, M: number, K: number, N: number, gelu: number): void {
  const threads = M < GEMM_SPLIT_MIN_ROWS ? 1 : kernelThreads();
  const args = [a, am, ak, packed, c, bias, M, K, N, 0, M, gelu];
  runChunks(kernels, 'gemm', () => args, { rangeArg: 9, n: M, minChunk: minChunkOf(M, threads, GEMM_MIN_CHUNKS_PER_THREAD, MR), align: MR, helpers: threads - 1 });
}

export interface GemmOptions {
  /** A is given as (K, M). */
  transposeA?: boolean;
  /** B is given as (N, K). */
  transposeB?: boolean;
  /** Added to every row of the product (N floats). */
  bias?: tf.Tensor1D;
  /** Exact GELU of every element of the result (after the bias): the GELU kernel's values (wasm-gelu.h). No gradient. */
  activation?: 'gelu';
}

function gemmKernel({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: unknown }): tf.TensorInfo {
  const { a, b, bias } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo; bias?: tf.TensorInfo };
  const { transposeA, transposeB, gelu } = attrs as { transposeA: boolean; transposeB: boolean; gelu: boolean };
  const [M, K] = transposeA ? [a.shape[1], a.shape[0]] : [a.shape[0], a.shape[1]];
  const [kb, N] = transposeB ? [b.shape[1], b.shape[0]] : [b.shape[0], b.shape[1]];
  const bad = [a, b, ...(bias ? [bias] : [])].some((t) => t.dtype !== 'float32') || a.shape.length !== 2 || b.shape.length !== 2 || kb !== K || (bias && (bias.shape.length !== 1 || bias.shape[0] !== N));
  if (bad) {
    throw new Error(`${WASM_GEMM}: expects float32 A (M, K), B (K, N) (transposed: (K, M), (N, K)) and bias (N); got A [${a.shape}] ${transposeA ? 'transposed ' : ''}${a.dtype}, B [${b.shape}] ${transposeB ? 'transposed ' : ''}${b.dtype}${bias ? `, bias [${bias.shape}]` : ''}`);
  }
  const { be, mod, kernels, at } = wasmKernelsOf(backend);
  const out = be.makeOutput([M, N], 'float32');
  if (M === 0 || N === 0) return out;
  const packed = mod._malloc(4 * Math.max(1, kernels.gemm_packed_floats(K, N)));
  // A transposed has its rows a column apart: packed into 6-row blocks first (O(M·K)), so the kernel reads it in order.
  const packedA = transposeA ? mod._malloc(4 * Math.max(1, kernels.gemm_packed_a_floats(M, K))) : 0;
  try {
    // B(k, n) = b[k·bk + n·bn]; A(m, k) = a[m·am + k·ak].
    kernels.gemm_pack_b(at(b), packed, K, N, transposeB ? 1 : N, transposeB ? K : 1);
    if (transposeA) {
      kernels.gemm_pack_a(at(a), packedA, M, K, 1, M);
      gemmRows(kernels, packedA, 0, 0, packed, at(out), bias ? at(bias) : 0, M, K, N, gelu ? 1 : 0);
    } else {
      gemmRows(kernels, at(a), K, 1, packed, at(out), bias ? at(bias) : 0, M, K, N, gelu ? 1 : 0);
    }
  } finally {
    mod._free(packed);
    if (packedA) mod._free(packedA);
  }
  return out;
}

/** Below this much work (slices · M · K · N) a batched product stays on one thread. */
export const BATCH_SPLIT_MIN_WORK = 1 << 20;

function batchGemmKernel({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: unknown }): tf.TensorInfo {
  const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
  const S = a.shape[0];
  const [M, K] = transposeA ? [a.shape[2], a.shape[1]] : [a.shape[1], a.shape[2]];
  const [kb, N] = transposeB ? [b.shape[2], b.shape[1]] : [b.shape[1], b.shape[2]];
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length !== 3 || b.shape.length !== 3 || b.shape[0] !== S || kb !== K) {
    throw new Error(`${WASM_BATCH_GEMM}: expects float32 A (S, M, K), B (S, K, N) (transposed: (S, K, M), (S, N, K)); got A [${a.shape}] ${transposeA ? 'transposed ' : ''}${a.dtype}, B [${b.shape}] ${transposeB ? 'transposed ' : ''}${b.dtype}`);
  }
  const { be, mod, kernels, at } = wasmKernelsOf(backend);
  const out = be.makeOutput([S, M, N], 'float32');
  if (S * M * N === 0) return out;
  const parts = splitRange(S, S * M * K * N < BATCH_SPLIT_MIN_WORK ? 1 : kernelThreads());
  // Each thread packs its slices' B (and transposed A) into a scratch of its own.
  const scratchBytes = 4 * Math.max(1, kernels.batch_gemm_scratch_floats(M, K, N, transposeA ? 1 : 0));
  const [ta, tb] = [transposeA ? 1 : 0, transposeB ? 1 : 0];
  withHeapScratch(mod, scratchBytes * parts.length, (scratch) => {
    runParts(kernels, 'batch_gemm', parts.map(([first, last], i) => [at(a), at(b), at(out), M, K, N, ta, tb, scratch + i * scratchBytes, first, last]));
  });
  return out;
}

/** Registers WASM_GEMM and WASM_BATCH_GEMM for the wasm backend (idempotent). */
export function registerWasmGemm(): void {
  registerKernelOnce(WASM_GEMM, 'wasm', gemmKernel);
  registerKernelOnce(WASM_BATCH_GEMM, 'wasm', batchGemmKernel);
}

/** op(a) · op(b) (+ bias) → (M, N), float32, wasm only, no gradient of its own (matmul.ts gives one). */
export function wasmGemm(a: tf.Tensor2D, b: tf.Tensor2D, options: GemmOptions = {}): tf.Tensor2D {
  registerWasmGemm();
  const inputs: Record<string, tf.Tensor> = { a, b };
  if (options.bias) inputs.bias = options.bias;
  const attrs = { transposeA: options.transposeA === true, transposeB: options.transposeB === true, gelu: options.activation === 'gelu' };
  return tf.engine().runKernel(WASM_GEMM, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}

/** Per slice s: op(a_s) · op(b_s) → (S, M, N), float32, wasm only, no gradient of its own (matmul.ts gives one). */
export function wasmBatchGemm(a: tf.Tensor3D, b: tf.Tensor3D, options: { transposeA?: boolean; transposeB?: boolean } = {}): tf.Tensor3D {
  registerWasmGemm();
  const attrs = { transposeA: options.transposeA === true, transposeB: options.transposeB === true };
  return tf.engine().runKernel(WASM_BATCH_GEMM, { a, b } as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor3D;
}
