// Matrix products that stay on tfjs-wasm's fast path. The wasm BatchMatMul kernel (tfjs 4.22,
// tfjs-backend-wasm/src/cc/batch_mat_mul_impl.cc) reaches XNNPACK (xnn_create_fully_connected_nc_f32)
// only when neither input is transposed AND both have batch size 1 — a plain 2D product; anything else
// (transposeA/B, or any batched 3D/4D product such as attention's) takes slow_batch_matmul, a scalar
// blocked loop ~10–20× slower (measured here: 1 vs 11–17 GFLOP/s). So on wasm:
//  - matMul2d: the forward product and both backward ones are plain, with explicit transposes (cheap:
//    O(size) against O(size·N)).
//  - batchMatMul: a (N, M, K) @ (N, K, P) product is split into N plain 2D products run in place on
//    slices of the inputs' heap memory (wasm-matmul-kernel.ts), forward and backward.
// Where the compiled GEMM has as many threads as XNNPACK (tfjs-wasm on one thread, or kernel helpers for the
// others), the 2D products (matMul2d, matMulBT, linear2d) and the batched ones (batchMatMul, attentionMatMul),
// forward and backward, go to it instead (wasm-gemm-kernel.ts): no transpose copies, and faster than XNNPACK
// (bench/wasm-gemm.bench.ts); a batched product's slices are shared between the threads. Other backends use
// tf.matMul.
import * as tf from '@tensorflow/tfjs-core';
import { wasmKernelSwitches, wasmInternals } from './wasm-kernel-internals.ts';
import { kernelHelperCount } from './wasm-helper-threads.ts';
import { recordingGradients } from './gradient-tape.ts';
import { wasmBatchGemm, wasmGemm } from './wasm-gemm-kernel.ts';
import { wasmKernelsAvailable } from './wasm-kernel-module.ts';
import { wasmSlicedBatchMatMul } from './wasm-matmul-kernel.ts';
import { wasmColumnSum } from './wasm-column-sum-kernel.ts';

const onWasm = () => tf.getBackend() === 'wasm';

/** A bias's gradient Σ_rows dy: one compiled pass on wasm (wasm-column-sum-kernel.ts), else tf.sum. */
const biasGrad = (dy: tf.Tensor2D) => (wasmKernelSwitches.columnSum && dy.dtype === 'float32' && wasmKernelsAvailable() ? wasmColumnSum(dy) : tf.sum(dy, 0));

/**
 * Rows below which a product stays with XNNPACK: it keeps each weight packed between calls, where the GEMM
 * packs B on every call (O(K·N), as much work as the product itself for a single row: a decoding step).
 */
export const GEMM_MIN_ROWS = 16;

/**
 * Whether a product of `rows` rows goes to the compiled GEMM: wasm, the kernels started, and as many threads for
 * it as XNNPACK would have (tfjs-wasm on one thread, or a kernel helper thread per extra pool thread: wasm-helper-threads.ts).
 */
function gemmFor(rows: number): boolean {
  if (!wasmKernelSwitches.gemm || rows < GEMM_MIN_ROWS || !wasmKernelsAvailable()) return false;
  const threads = wasmInternals(tf.backend()).wasm.tfjs.getThreadsCount?.() ?? 0;
  return threads >= 1 && kernelHelperCount() >= threads - 1;
}

/** a (M, K) @ b (K, N) → (M, N), differentiable. */
export function matMul2d(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (!onWasm()) return tf.matMul(a, b);
  if (gemmFor(a.shape[0])) return gemmProduct(a, b, false);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, y, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    save([x, y]);
    return {
      value: tf.matMul(x, y) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [xs, ys] = saved as [tf.Tensor2D, tf.Tensor2D];
        return [tf.matMul(dy, tf.transpose(ys)), tf.matMul(tf.transpose(xs), dy)]; // (M, K), (K, N)
      },
    };
  });
  return op(a, b) as tf.Tensor2D;
}

/**
 * a (M, K) @ bᵀ for b (N, K) → (M, N), differentiable: a Linear layer with PyTorch's [out, in] weight. On
 * wasm, tf.matMul(a, b, false, true) takes the slow path; (b · aᵀ)ᵀ is a plain product with the small
 * operand on the right (the one XNNPACK packs), ~10× faster for M ≥ 64 (measured: 64 × 896 · 4864 × 896,
 * 291 → 27 ms). The gradients are plain products too, and none packs b itself: XNNPACK keeps a packed copy
 * of a right-hand operand for that tensor's lifetime, which for frozen weights would double them in the heap.
 */
export function matMulBT(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (!onWasm()) return tf.matMul(a, b, false, true);
  if (gemmFor(a.shape[0])) return isFrozen(b) ? gemmProductFrozenBT(a, b) : gemmProduct(a, b, true);
  if (isFrozen(b)) return matMulBTFrozen(a, b);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, w, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    save([x, w]);
    return {
      value: tf.tidy(() => tf.transpose(tf.matMul(w, tf.transpose(x)))) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
          const dyT = tf.transpose(dy); // (N, M)
          return [tf.transpose(tf.matMul(tf.transpose(ws), dyT)), tf.matMul(dyT, xs)]; // (M, K), (N, K)
        }),
    };
  });
  return op(a, b) as tf.Tensor2D;
}

/** A weight that never gets a gradient: a tf.Variable made with trainable = false (LlamaModel's base weights). */
const isFrozen = (t: tf.Tensor): boolean => t instanceof tf.Variable && !t.trainable;

/**
 * matMulBT for a frozen W: the gradient is the input's only, (W_ᵀ·dyᵀ)ᵀ. tf.customGrad hands its gradient
 * function every input's gradient at once, so with W as an input the backward pass would also compute
 * dW = dyᵀ·x (as many FLOPs as dx) only for tfjs to drop it; W is closed over instead, and x is not saved
 * (dx does not need it). LoRA training (DPO) backpropagates through every frozen projection.
 */
function matMulBTFrozen(a: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor2D;
    return {
      value: tf.tidy(() => tf.transpose(tf.matMul(w, tf.transpose(x)))) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor2D) => tf.tidy(() => tf.transpose(tf.matMul(tf.transpose(w), tf.transpose(dy)))) as tf.Tensor2D, // (M, K)
    };
  });
  return op(a) as tf.Tensor2D;
}

/**
 * Slice i of a (N, R, C) tensor as a 2D tensor, made from one read-back of its data (`data`). Not
 * tf.unstack: tfjs-wasm's Slice reads the whole input back for every slice. (The path before
 * wasm-matmul-kernel.ts, kept behind wasmKernelSwitches.slicedMatMul to measure the kernel against it.)
 */
function sliceOf(data: Float32Array, i: number, r: number, c: number): tf.Tensor2D {
  return tf.tensor2d(data.subarray(i * r * c, (i + 1) * r * c), [r, c], 'float32');
}

/**
 * Slice-by-slice plain products (no gradient of its own): a (N, M, K) @ b (N, K, P) → (N, M, P). Wasm only.
 * Normally each slice is a 2D XNNPACK product on the inputs' own heap memory (wasm-matmul-kernel.ts: no
 * read-back, no slice tensors, no Concat); with the kernel switched off, the inputs are read back, cut
 * into 2D tensors and the products concatenated.
 */
function slicedMatMul(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  if (wasmKernelSwitches.slicedMatMul) return wasmSlicedBatchMatMul(a, b);
  const [n, m, k] = a.shape;
  const p = b.shape[2];
  return tf.tidy(() => {
    const aData = a.dataSync() as Float32Array;
    const bData = b.dataSync() as Float32Array;
    const outs: tf.Tensor2D[] = [];
    for (let i = 0; i < n; i++) {
      const ai = sliceOf(aData, i, m, k);
      const bi = sliceOf(bData, i, k, p);
      outs.push(tf.matMul(ai, bi));
      ai.dispose();
      bi.dispose();
    }
    return tf.reshape(n === 1 ? outs[0] : tf.concat(outs, 0), [n, m, p]) as tf.Tensor3D;
  });
}

const swapLast = (t: tf.Tensor3D) => tf.transpose(t, [0, 2, 1]) as tf.Tensor3D;

/** Batched a (N, M, K) @ b (N, K, P) → (N, M, P), differentiable; on wasm every product is a fast 2D one. */
export function batchMatMul(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  if (!onWasm()) return tf.matMul(a, b);
  if (gemmFor(a.shape[1])) return batchGemmProduct(a, b, false);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, y, save] = args as [tf.Tensor3D, tf.Tensor3D, tf.GradSaveFunc];
    save([x, y]);
    return {
      value: slicedMatMul(x, y),
      gradFunc: (dy: tf.Tensor3D, saved: tf.Tensor[]) => {
        const [xs, ys] = saved as [tf.Tensor3D, tf.Tensor3D];
        return [slicedMatMul(dy, swapLast(ys)), slicedMatMul(swapLast(xs), dy)]; // (N, M, K), (N, K, P)
      },
    };
  });
  return op(a, b) as tf.Tensor3D;
}

/**
 * Rows of a batched product below which it stays tf.matMul on wasm too: a decoding step's few query rows
 * would pay an XNNPACK operator set-up per slice for a product the scalar loop does in microseconds.
 */
export const SLICED_MIN_ROWS = 16;

/**
 * Batched a (N, M, K) @ b (N, K, P), or @ bᵀ for b (N, P, K) when `transposeB`, differentiable: attention's
 * products. On wasm with M ≥ SLICED_MIN_ROWS, the compiled batched GEMM where gemmFor allows (bᵀ read through
 * strides), else N plain 2D XNNPACK products (batchMatMul; bᵀ made explicit, an O(size) copy); tfjs' wasm
 * kernel would run any batched or transposed product in its scalar loop.
 */
export function attentionMatMul(a: tf.Tensor3D, b: tf.Tensor3D, transposeB: boolean): tf.Tensor3D {
  if (!onWasm() || a.shape[1] < SLICED_MIN_ROWS) return tf.matMul(a, b, false, transposeB);
  if (gemmFor(a.shape[1])) return batchGemmProduct(a, b, transposeB);
  return batchMatMul(a, transposeB ? swapLast(b) : b);
}

/**
 * nn.Linear with the weight held as [in, out]: input (M, K) @ weight (K, N) + bias (N) → (M, N), differentiable.
 * On wasm the bias rides in the XNNPACK product (tf.fused.matMul, no transposes: the fast path, where the
 * bias is applied per output channel correctly — unlike the slow path's transposeB + bias bug noted in
 * bert.ts); gradients are plain 2D products as in matMul2d, plus the bias gradient Σ_rows dy.
 */
export function linear2d(input: tf.Tensor2D, weight: tf.Tensor2D, bias: tf.Tensor1D): tf.Tensor2D {
  if (!onWasm()) return tf.add(tf.matMul(input, weight), bias);
  if (gemmFor(input.shape[0])) return gemmProduct(input, weight, false, bias);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, wi, bi, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
    save([xi, wi]);
    return {
      value: tf.fused.matMul({ a: xi, b: wi, bias: bi }) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
        return [tf.matMul(dy, tf.transpose(ws)), tf.matMul(tf.transpose(xs), dy), biasGrad(dy)]; // (M, K), (K, N), (N)
      },
    };
  });
  return op(input, weight, bias) as tf.Tensor2D;
}

/**
 * gelu(input @ weight + bias) as ONE compiled GEMM call with GELU at its store (the GELU kernel's exact
 * values: the same as gelu(linear2d(…)) with the compiled kernels, bit for bit), inference only; null where
 * it does not apply (not wasm, the GEMM or GELU kernel off, too few rows, or under a gradient tape): then
 * the caller composes the two.
 */
export function linearGeluInference(input: tf.Tensor2D, weight: tf.Tensor2D, bias: tf.Tensor1D): tf.Tensor2D | null {
  if (recordingGradients() || !onWasm() || !wasmKernelSwitches.gelu || !wasmKernelSwitches.geluEpilogue || !gemmFor(input.shape[0])) return null;
  return wasmGemm(input, weight, { bias, activation: 'gelu' });
}

/**
 * a (M, K) @ b (K, N), or @ bᵀ for b (N, K) when transposeB, (+ bias (N)), differentiable, all on the compiled
 * GEMM: dx = dy·op(b)ᵀ and d op(b) = aᵀ·dy (for bᵀ: dyᵀ·a), each one call with the transposes in the strides.
 */
function gemmProduct(a: tf.Tensor2D, b: tf.Tensor2D, transposeB: boolean, bias?: tf.Tensor1D): tf.Tensor2D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, w] = args as [tf.Tensor2D, tf.Tensor2D];
    const save = args[args.length - 1] as tf.GradSaveFunc;
    save([x, w]);
    return {
      value: wasmGemm(x, w, { transposeB, bias: bias ? (args[2] as tf.Tensor1D) : undefined }),
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
        const dx = wasmGemm(dy, ws, { transposeB: !transposeB }); // (M, K)
        const dw = transposeB ? wasmGemm(dy, xs, { transposeA: true }) : wasmGemm(xs, dy, { transposeA: true }); // (N, K) or (K, N)
        return bias ? [dx, dw, biasGrad(dy)] : [dx, dw];
      },
    };
  });
  return (bias ? op(a, b, bias) : op(a, b)) as tf.Tensor2D;
}

/**
 * a (S, M, K) @ b (S, K, N), or @ bᵀ for b (S, N, K) when transposeB, differentiable, on the compiled batched
 * GEMM: dx = dy·op(b)ᵀ and d b = aᵀ·dy (for bᵀ: dyᵀ·a), each one call with the transposes in the strides.
 */
function batchGemmProduct(a: tf.Tensor3D, b: tf.Tensor3D, transposeB: boolean): tf.Tensor3D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, y, save] = args as [tf.Tensor3D, tf.Tensor3D, tf.GradSaveFunc];
    save([x, y]);
    return {
      value: wasmBatchGemm(x, y, { transposeB }),
      gradFunc: (dy: tf.Tensor3D, saved: tf.Tensor[]) => {
        const [xs, ys] = saved as [tf.Tensor3D, tf.Tensor3D];
        const dx = wasmBatchGemm(dy, ys, { transposeB: !transposeB }); // (S, M, K)
        const db = transposeB ? wasmBatchGemm(dy, xs, { transposeA: true }) : wasmBatchGemm(xs, dy, { transposeA: true }); // (S, N, K) or (S, K, N)
        return [dx, db];
      },
    };
  });
  return op(a, b) as tf.Tensor3D;
}

/** a (M, K) @ wᵀ for a frozen w (N, K) on the compiled GEMM: the input's gradient only (as matMulBTFrozen). */
function gemmProductFrozenBT(a: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: wasmGemm(args[0] as tf.Tensor2D, w, { transposeB: true }),
    gradFunc: (dy: tf.Tensor2D) => wasmGemm(dy, w), // (M, K)
  }));
  return op(a) as tf.Tensor2D;
}
