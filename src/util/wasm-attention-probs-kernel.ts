// BERT's attention probabilities in training as compiled wasm SIMD passes for tfjs-backend-wasm (kernels
// WASM_ATTENTION_PROBS and WASM_ATTENTION_PROBS_GRAD; src/util/wasm-attention-probs-kernel.c): softmax(s·scale +
// mask) over keys in one pass per row, and its backward through the dropout that follows it in one pass per row,
// in place of 4 tfjs kernels forward and 9 backward over (B, heads, T, T). No registered gradient: the caller
// (src/encoder/attention-probs.ts) pairs them in its custom gradient. Rows are split over helper threads where
// the environment started them (wasm-helper-threads.ts).
import * as tf from '@tensorflow/tfjs-core';
import { wasmKernelsOf } from './wasm-kernel-module.ts';
import { registerKernelOnce } from './register-kernel-once.ts';
import { kernelThreads, runParts, splitRange } from './wasm-helper-threads.ts';

export const WASM_ATTENTION_PROBS = 'ExpandrWasmAttentionProbs';
export const WASM_ATTENTION_PROBS_GRAD = 'ExpandrWasmAttentionProbsGrad';
/** Below this many rows a hand-over to a helper thread costs more than it gains. */
export const PROBS_ROWS_SPLIT_MIN = 64;
/** attention_probs(): `scale` (argument 5) is f32. */
const PROBS_FLOATS = 1 << 5;
/** attention_probs_grad(): `keep` and `scale` (arguments 5 and 6) are f32. */
const GRAD_FLOATS = (1 << 5) | (1 << 6);

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: unknown };
const rowParts = (rows: number) => splitRange(rows, rows < PROBS_ROWS_SPLIT_MIN ? 1 : kernelThreads());
const describe = (ts: tf.TensorInfo[]) => ts.map((t) => `${t.dtype} [${t.shape}]`).join(', ');

function probsKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { scores, mask } = inputs as Record<'scores' | 'mask', tf.TensorInfo>;
  const { scale } = attrs as { scale: number };
  const [B, H, Tq, T] = scores.shape;
  if (scores.dtype !== 'float32' || mask.dtype !== 'float32' || scores.shape.length !== 4 || Tq !== T || mask.shape.reduce((a, b) => a * b, 1) !== B * T || mask.shape[0] !== B) {
    throw new Error(`${WASM_ATTENTION_PROBS}: expects float32 scores (B, heads, T, T) and an additive mask of B·T values (B, 1, 1, T); got ${describe([scores, mask])}`);
  }
  const { be, kernels, at } = wasmKernelsOf(backend);
  const out = be.makeOutput(scores.shape, 'float32');
  runParts(kernels, 'attention_probs', rowParts(B * H * T).map(([r0, r1]) => [at(scores), at(mask), at(out), T, H * T, scale, r0, r1]), PROBS_FLOATS);
  return out;
}

function probsGradKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { dy, p, y } = inputs as { dy: tf.TensorInfo; p: tf.TensorInfo; y?: tf.TensorInfo };
  const { keep, scale } = attrs as { keep: number; scale: number };
  const all = [dy, p, ...(y ? [y] : [])];
  if (all.some((t) => t.dtype !== 'float32' || t.shape.join() !== p.shape.join()) || p.shape.length !== 4) {
    throw new Error(`${WASM_ATTENTION_PROBS_GRAD}: expects float32 dy, p and y of one shape (B, heads, T, T); got ${describe(all)}`);
  }
  const T = p.shape[3];
  const rows = p.shape[0] * p.shape[1] * p.shape[2];
  const { be, kernels, at } = wasmKernelsOf(backend);
  const out = be.makeOutput(p.shape, 'float32');
  runParts(kernels, 'attention_probs_grad', rowParts(rows).map(([r0, r1]) => [at(dy), at(p), y ? at(y) : 0, at(out), T, keep, scale, r0, r1]), GRAD_FLOATS);
  return out;
}

/** Registers WASM_ATTENTION_PROBS and WASM_ATTENTION_PROBS_GRAD for the wasm backend (idempotent). */
export function registerWasmAttentionProbs(): void {
  registerKernelOnce(WASM_ATTENTION_PROBS, 'wasm', probsKernel);
  registerKernelOnce(WASM_ATTENTION_PROBS_GRAD, 'wasm', probsGradKernel);
}

/** softmax(scores·scale + mask) over the last axis; scores (B, heads, T, T), mask (B, 1, 1, T). Wasm only, no gradient. */
export function wasmAttentionProbs(scores: tf.Tensor4D, mask: tf.Tensor, scale: number): tf.Tensor4D {
  registerWasmAttentionProbs();
  return tf.engine().runKernel(WASM_ATTENTION_PROBS, { scores, mask } as unknown as tf.NamedTensorMap, { scale } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/**
 * The scores' gradient from dy, the gradient of y = dropout(p) (y null: no dropout, y = p): dp = dy·(y > 0)/keep,
 * ds = (dp ⊙ p − Σ_keys(dp ⊙ p)·p)·scale. `keep` is 1 − rate as float32 (tf.dropout's). Wasm only.
 */
export function wasmAttentionProbsGrad(dy: tf.Tensor4D, p: tf.Tensor4D, y: tf.Tensor4D | null, keep: number, scale: number): tf.Tensor4D {
  registerWasmAttentionProbs();
  const inputs: Record<string, tf.Tensor> = { dy, p };
  if (y) inputs.y = y;
  return tf.engine().runKernel(WASM_ATTENTION_PROBS_GRAD, inputs as unknown as tf.NamedTensorMap, { keep: Math.fround(keep), scale } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}
