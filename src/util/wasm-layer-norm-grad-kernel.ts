// BERT's residual + LayerNorm for training: forward and backward as compiled wasm SIMD passes (kernels
// WASM_LAYER_NORM_TRAIN and WASM_LAYER_NORM_GRAD, src/util/wasm-layer-norm-kernel.c) joined by tf.customGrad.
// Composed from tfjs ops a LayerNorm is ~9 kernels forward and ~20 backward over (tokens, d), 13 per pass.
// The forward keeps xhat (N, d) and rstd (N) for the backward (the composed ops' tape keeps several (N, d)
// tensors); the backward gives dx in one pass and dγ, dβ as column sums over fixed blocks of GRAD_BLOCK_ROWS
// rows, one partial per block, added in block order by a second kernel: the same bits for any thread split.
import * as tf from '@tensorflow/tfjs-core';
import { withHeapScratch, wasmKernelsOf } from './wasm-kernel-module.ts';
import { registerKernelOnce } from './register-kernel-once.ts';
import { kernelThreads, runParts, splitRange } from './wasm-helper-threads.ts';
import { ROWS_SPLIT_MIN } from './wasm-layer-norm-kernel.ts';

export const WASM_LAYER_NORM_TRAIN = 'ExpandrWasmLayerNormTrain';
export const WASM_LAYER_NORM_GRAD = 'ExpandrWasmLayerNormGrad';
/** Rows per dγ/dβ partial: the backward's parts start on these blocks (2,048 rows: 64 partials of (2, d)). */
export const GRAD_BLOCK_ROWS = 32;
/** Bit of layer_norm_train()'s `eps` argument, its one f32 (runParts' floats). */
const EPS_ARG_BIT = 1 << 8;

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: unknown };
const threadsFor = (rows: number) => (rows < ROWS_SPLIT_MIN ? 1 : kernelThreads());
const shapes = (ts: tf.TensorInfo[]) => ts.map((t) => `${t.dtype} [${t.shape}]`).join(', ');
const isMatrix = (t: tf.TensorInfo, rows: number, d: number) => t.shape.length === 2 && t.shape[0] === rows && t.shape[1] === d;

function trainKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
  const { x, res, gamma, beta } = inputs as { x: tf.TensorInfo; res?: tf.TensorInfo; gamma: tf.TensorInfo; beta: tf.TensorInfo };
  const { eps } = attrs as { eps: number };
  const [rows, d] = x.shape;
  const all = [x, ...(res ? [res] : []), gamma, beta];
  if (all.some((t) => t.dtype !== 'float32') || x.shape.length !== 2 || d % 4 !== 0 || (res && !isMatrix(res, rows, d)) || gamma.shape.join() !== `${d}` || beta.shape.join() !== `${d}`) {
    throw new Error(`${WASM_LAYER_NORM_TRAIN}: expects float32 x and residual (N, d) with d a multiple of 4, γ and β (d); got ${shapes(all)}`);
  }
  const { be, kernels, at } = wasmKernelsOf(backend);
  const [out, xhat, rstd] = [be.makeOutput([rows, d], 'float32'), be.makeOutput([rows, d], 'float32'), be.makeOutput([rows], 'float32')];
  const parts = splitRange(rows, threadsFor(rows)).map(([row0, row1]) => [at(x), res ? at(res) : 0, at(gamma), at(beta), at(out), at(xhat), at(rstd), d, eps, row0, row1]);
  runParts(kernels, 'layer_norm_train', parts, EPS_ARG_BIT);
  return [out, xhat, rstd];
}

function gradKernel({ inputs, backend }: KernelArgs): tf.TensorInfo[] {
  const { dy, xhat, rstd, gamma } = inputs as Record<'dy' | 'xhat' | 'rstd' | 'gamma', tf.TensorInfo>;
  const [rows, d] = xhat.shape;
  const all = [dy, xhat, rstd, gamma];
  if (all.some((t) => t.dtype !== 'float32') || xhat.shape.length !== 2 || d % 4 !== 0 || !isMatrix(dy, rows, d) || rstd.shape.join() !== `${rows}` || gamma.shape.join() !== `${d}`) {
    throw new Error(`${WASM_LAYER_NORM_GRAD}: expects float32 dy and xhat (N, d) with d a multiple of 4, rstd (N), γ (d); got ${shapes(all)}`);
  }
  const { be, mod, kernels, at } = wasmKernelsOf(backend);
  const [dx, dgamma, dbeta] = [be.makeOutput([rows, d], 'float32'), be.makeOutput([d], 'float32'), be.makeOutput([d], 'float32')];
  const blocks = Math.ceil(rows / GRAD_BLOCK_ROWS);
  withHeapScratch(mod, 4 * 2 * d * Math.max(1, blocks), (partials) => {
    const parts = splitRange(rows, threadsFor(rows), GRAD_BLOCK_ROWS).map(([row0, row1]) => [at(dy), at(xhat), at(rstd), at(gamma), at(dx), partials, d, GRAD_BLOCK_ROWS, row0, row1]);
    runParts(kernels, 'layer_norm_grad', parts);
    kernels.layer_norm_grad_reduce(partials, blocks, d, at(dgamma), at(dbeta));
  });
  return [dx, dgamma, dbeta];
}

/** Registers WASM_LAYER_NORM_TRAIN and WASM_LAYER_NORM_GRAD for the wasm backend (idempotent). */
export function registerWasmLayerNormTrain(): void {
  registerKernelOnce(WASM_LAYER_NORM_TRAIN, 'wasm', trainKernel);
  registerKernelOnce(WASM_LAYER_NORM_GRAD, 'wasm', gradKernel);
}

const run = (name: string, inputs: Record<string, tf.Tensor>, attrs = {}) =>
  tf.engine().runKernel(name, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];

/**
 * LayerNorm(x + residual) · γ + β over the last axis (biased variance, as nn.LayerNorm), residual optional;
 * differentiable w.r.t. x, residual (the same gradient as x), γ and β. Wasm only, float32, d a multiple of 4.
 */
export function wasmAddLayerNormTrain(x: tf.Tensor2D, residual: tf.Tensor2D | null, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor2D {
  registerWasmLayerNormTrain();
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [xi, ri, g, b] = (residual ? args : [args[0], undefined, args[1], args[2]]) as tf.Tensor[];
    const [out, xhat, rstd] = run(WASM_LAYER_NORM_TRAIN, { x: xi, ...(ri ? { res: ri } : {}), gamma: g, beta: b }, { eps });
    save([xhat, rstd]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [dx, dg, db] = run(WASM_LAYER_NORM_GRAD, { dy, xhat: saved[0], rstd: saved[1], gamma: g });
        // A tensor of its own for the residual: the tape adds to and disposes each input's gradient separately.
        return residual ? [dx, tf.clone(dx), dg, db] : [dx, dg, db];
      },
    };
  });
  return (residual ? op(x, residual, gamma, beta) : op(x, gamma, beta)) as tf.Tensor2D;
}
