// BERT's embedding sum and residual + LayerNorm as one compiled wasm SIMD pass each for tfjs-backend-wasm
// (kernels WASM_EMBEDDINGS and WASM_ADD_LAYER_NORM; inference only: no gradient). Composed from tfjs ops, the
// embeddings are 3 gathers (tfjs-wasm's GatherV2 is an element-by-element loop: ~85 ms of a 10 × 256-token
// MiniLM pass) and 2 adds, and each LayerNorm 8 kernels over (tokens, d), 13 LayerNorms per pass; here
// src/util/wasm-layer-norm-kernel.c reads each input once per pass. Rows are split over helper threads where
// the environment started them (wasm-helper-threads.ts). The compiled module: wasm-kernel-module.ts. The same
// LayerNorm for training, with its gradient: wasm-layer-norm-grad-kernel.ts.
import * as tf from '@tensorflow/tfjs-core';
import { wasmKernelsOf } from './wasm-kernel-module.ts';
import { registerKernelOnce } from './register-kernel-once.ts';
import { kernelThreads, runParts, splitRange } from './wasm-helper-threads.ts';
import { wasmColumnSum } from './wasm-column-sum-kernel.ts';

export const WASM_EMBEDDINGS = 'ExpandrWasmEmbeddings';
export const WASM_ADD_LAYER_NORM = 'ExpandrWasmAddLayerNorm';
/** Below this many rows a hand-over to a helper thread costs more than it gains. */
export const ROWS_SPLIT_MIN = 64;
/** Bit of add_layer_norm()'s `eps` argument, its one f32 (runParts' floats). */
const EPS_ARG_BIT = 1 << 6;

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: unknown };
const rowParts = (rows: number) => splitRange(rows, rows < ROWS_SPLIT_MIN ? 1 : kernelThreads());

function embeddingsKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { word, pos, type, ids, types } = inputs as Record<'word' | 'pos' | 'type' | 'ids' | 'types', tf.TensorInfo>;
  const { seqLen: T } = attrs as { seqLen: number };
  const d = word.shape[1];
  const rows = ids.shape[0];
  const tables = [word, pos, type];
  if (tables.some((t) => t.dtype !== 'float32' || t.shape.length !== 2 || t.shape[1] !== d) || d % 4 !== 0 || ids.dtype !== 'int32' || types.dtype !== 'int32' || types.shape[0] !== rows || !(T > 0 && T <= pos.shape[0] && rows % T === 0)) {
    throw new Error(`${WASM_EMBEDDINGS}: expects float32 tables (V, d), (P, d), (2, d) with d a multiple of 4, int32 ids and types (B·T) and T ≤ P; got tables ${tables.map((t) => `${t.dtype} [${t.shape}]`).join(', ')}, ids ${ids.dtype} [${ids.shape}], types ${types.dtype} [${types.shape}], T ${T}`);
  }
  const { be, kernels, at } = wasmKernelsOf(backend);
  const out = be.makeOutput([rows, d], 'float32');
  // An id outside its table would read past it: checked here, where the ids are on the heap anyway.
  const heap = (t: tf.TensorInfo) => new Int32Array(be.wasm.HEAPF32.buffer, at(t), rows);
  for (const [t, n, name] of [[ids, word.shape[0], 'token id'], [types, type.shape[0], 'token type id']] as const) {
    const bad = heap(t).findIndex((id) => id < 0 || id >= n);
    if (bad >= 0) throw new RangeError(`${WASM_EMBEDDINGS}: ${name} ${heap(t)[bad]} at position ${bad} is outside the table's ${n} rows`);
  }
  runParts(kernels, 'embeddings', rowParts(rows).map(([row0, row1]) => [at(word), at(pos), at(type), at(ids), at(types), at(out), T, d, row0, row1]));
  return out;
}

function addLayerNormKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { x, res, gamma, beta } = inputs as { x: tf.TensorInfo; res?: tf.TensorInfo; gamma: tf.TensorInfo; beta: tf.TensorInfo };
  const { eps } = attrs as { eps: number };
  const [rows, d] = x.shape;
  const all = [x, ...(res ? [res] : []), gamma, beta];
  if (all.some((t) => t.dtype !== 'float32') || x.shape.length !== 2 || d % 4 !== 0 || (res && (res.shape.length !== 2 || res.shape[0] !== rows || res.shape[1] !== d)) || gamma.shape.join() !== `${d}` || beta.shape.join() !== `${d}`) {
    throw new Error(`${WASM_ADD_LAYER_NORM}: expects float32 x and residual (N, d) with d a multiple of 4, γ and β (d); got ${all.map((t) => `${t.dtype} [${t.shape}]`).join(', ')}`);
  }
  const { be, kernels, at } = wasmKernelsOf(backend);
  const out = be.makeOutput([rows, d], 'float32');
  runParts(kernels, 'add_layer_norm', rowParts(rows).map(([row0, row1]) => [at(x), res ? at(res) : 0, at(gamma), at(beta), at(out), d, eps, row0, row1]), EPS_ARG_BIT);
  return out;
}

/** Registers WASM_EMBEDDINGS and WASM_ADD_LAYER_NORM for the wasm backend (idempotent). */
export function registerWasmLayerNorm(): void {
  registerKernelOnce(WASM_EMBEDDINGS, 'wasm', embeddingsKernel);
  registerKernelOnce(WASM_ADD_LAYER_NORM, 'wasm', addLayerNormKernel);
}

/** word[ids] + pos[position in its row] + type[types] → (B·T, d); ids and types int32 (B·T). Wasm only, no gradient. */
export function wasmEmbeddings(word: tf.Tensor2D, pos: tf.Tensor2D, type: tf.Tensor2D, ids: tf.Tensor1D, types: tf.Tensor1D, seqLen: number): tf.Tensor2D {
  registerWasmLayerNorm();
  return tf.engine().runKernel(WASM_EMBEDDINGS, { word, pos, type, ids, types } as unknown as tf.NamedTensorMap, { seqLen } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}

/** LayerNorm(x + residual) · γ + β over the last axis (biased variance, as nn.LayerNorm); residual optional. Wasm only, no gradient. */
export function wasmAddLayerNorm(x: tf.Tensor2D, residual: tf.Tensor2D | null, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor2D {
  registerWasmLayerNorm();
  const inputs: Record<string, tf.Tensor> = { x, gamma, beta };
  if (residual) inputs.res = residual;
  return tf.engine().runKernel(WASM_ADD_LAYER_NORM, inputs as unknown as tf.NamedTensorMap, { eps } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}

/**
 * wasmEmbeddings with a gradient for the three tables, for training: the sum in one compiled pass (tfjs-wasm's
 * GatherV2 copies element by element), the gradients as BertModel's composed lookups give them: scatter-adds of
 * dy into the word and type tables, and Σ_batch dy into the first T position rows. ids and types are inputs
 * (gradient 0) so that the tape keeps them for the backward pass.
 */
export function wasmEmbeddingsTrain(word: tf.Tensor2D, pos: tf.Tensor2D, type: tf.Tensor2D, ids: tf.Tensor1D, types: tf.Tensor1D, seqLen: number): tf.Tensor2D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [w, p, t, i, k, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    save([i, k]);
    return {
      value: wasmEmbeddings(w, p, t, i, k, seqLen),
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [si, sk] = saved as [tf.Tensor1D, tf.Tensor1D];
        const [rows, d] = dy.shape;
        const dPos = tf.reshape(wasmColumnSum(tf.reshape(dy, [rows / seqLen, seqLen * d])), [seqLen, d]);
        return [
          tf.scatterND(tf.reshape(si, [-1, 1]), dy, w.shape),
          tf.pad(dPos, [[0, p.shape[0] - seqLen], [0, 0]]),
          tf.scatterND(tf.reshape(sk, [-1, 1]), dy, t.shape),
          tf.zerosLike(si),
          tf.zerosLike(sk),
        ];
      },
    };
  });
  return op(word, pos, type, ids, types) as tf.Tensor2D;
}
