// Scaled dot-product attention as ONE compiled wasm SIMD call per layer for tfjs-backend-wasm (kernel
// WASM_FUSED_ATTENTION, inference only: no gradient, no dropout). Composed from tfjs ops, attention is 4 head
// transposes, 2 batched products (2·B·heads small XNNPACK calls, each waking the thread pool), scale, mask
// add and softmax. Here src/util/wasm-attention-kernel.c (embedded, base64, in wasm-kernel-binaries.ts)
// reads Q, K, V straight from the linear layers' (B·T, d) outputs on the wasm heap and writes (B·T, d)
// heads side by side. Same contract as webgpuFusedAttention (webgpu-attention-kernel.ts).
// The (row, head) pairs are split over helper threads where the environment started them (wasm-helper-threads.ts).
// The compiled module and its loading: wasm-kernel-module.ts.
import * as tf from '@tensorflow/tfjs-core';
import { attentionShape } from './attention-inputs.ts';
import { withHeapScratch, wasmKernelsOf } from './wasm-kernel-module.ts';
import { registerKernelOnce } from './register-kernel-once.ts';
import { kernelThreads, minChunkOf, runChunks } from './wasm-helper-threads.ts';

export const WASM_FUSED_ATTENTION = 'ExpandrWasmFusedAttention';
export const WASM_PACKED_ATTENTION = 'ExpandrWasmPackedAttention';
/** Below this many score entries (pairs · seq²) a hand-over to a helper thread costs more than it gains. */
export const ATTENTION_SPLIT_MIN_SCORES = 1 << 16;
/** The smallest chunk of (row, head) pairs (runChunks) is a 1 / (threads · this) share (a pair at 256 tokens: ~0.2 ms). */
export const ATTENTION_MIN_CHUNKS_PER_THREAD = 16;

/** Bit of attention()'s `scale` argument, its one f32 (runChunks' floats). */
const SCALE_ARG_BIT = 1 << 9;

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: unknown };

/**
 * One compiled call over all (row, head) pairs of `batch` sequences: `fourth` is the mask (attention) or the
 * sequence starts (attention_packed), `seq` the (longest) length, `scores` the score entries in all (whether
 * helpers are worth waking). Each thread its own scratch (the keys transposed, a mask row, the scores of a
 * block of queries); the pairs in chunks the threads claim as they go (a packed pair's work varies with its
 * length²: the guided chunks even it out).
 */
function runAttention(backend: unknown, name: 'attention' | 'attention_packed', [q, k, v, fourth]: tf.TensorInfo[], batch: number, seq: number, heads: number, scale: number, scores: number): tf.TensorInfo {
  const [rows, d] = q.shape;
  const hs = d / heads;
  const { be, mod, kernels: kernel, at } = wasmKernelsOf(backend);
  const out = be.makeOutput([rows, d], 'float32');
  const pairs = batch * heads;
  const threads = scores < ATTENTION_SPLIT_MIN_SCORES ? 1 : kernelThreads();
  const scratchBytes = 4 * kernel.attention_scratch_floats(seq, hs);
  withHeapScratch(mod, scratchBytes * threads, (scratch) => {
    const argsOf = (t: number) => [at(q), at(k), at(v), at(fourth), at(out), scratch + t * scratchBytes, seq, heads, hs, scale, 0, pairs];
    runChunks(kernel, name, argsOf, { rangeArg: 10, n: pairs, minChunk: minChunkOf(pairs, threads, ATTENTION_MIN_CHUNKS_PER_THREAD), helpers: threads - 1, floats: SCALE_ARG_BIT });
  });
  return out;
}

function fusedAttentionKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { q, k, v, mask } = inputs as Record<'q' | 'k' | 'v' | 'mask', tf.TensorInfo>;
  const { heads, scale } = attrs as { heads: number; scale: number };
  const { batch, seq } = attentionShape(WASM_FUSED_ATTENTION, q, k, v, mask, heads, 4);
  return runAttention(backend, 'attention', [q, k, v, mask], batch, seq, heads, scale, batch * heads * seq * seq);
}

/** The same attention over sequences packed without padding (attention_packed in the .c): starts (B + 1) int32. */
function packedAttentionKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { q, k, v, starts } = inputs as Record<'q' | 'k' | 'v' | 'starts', tf.TensorInfo>;
  const { heads, scale, maxSeq } = attrs as { heads: number; scale: number; maxSeq: number };
  const [rows, d] = q.shape;
  const hs = d / heads;
  const same = (t: tf.TensorInfo) => t.shape.length === 2 && t.shape[0] === rows && t.shape[1] === d && t.dtype === 'float32';
  if (!same(q) || !same(k) || !same(v) || starts.shape.length !== 1 || starts.dtype !== 'int32' || starts.shape[0] < 2 || !Number.isInteger(hs) || hs % 4 !== 0 || !(maxSeq >= 1)) {
    throw new Error(`${WASM_PACKED_ATTENTION}: expects float32 q, k, v (rows, d) with d/heads a multiple of 4, int32 starts (B + 1) and maxSeq ≥ 1; got q [${q.shape}], k [${k.shape}], v [${v.shape}], starts [${starts.shape}] ${starts.dtype}, heads ${heads}, maxSeq ${maxSeq}`);
  }
  // Starts past the rows would read outside q, k, v, and a length past maxSeq past the scratch: checked here.
  const { be, at } = wasmKernelsOf(backend);
  const st = new Int32Array(be.wasm.HEAPF32.buffer, at(starts), starts.shape[0]);
  const bad = st.findIndex((x, b) => (b === 0 ? x !== 0 : x < st[b - 1] || x - st[b - 1] > maxSeq));
  if (bad >= 0 || st[st.length - 1] !== rows) {
    throw new RangeError(`${WASM_PACKED_ATTENTION}: starts must rise from 0 to the ${rows} rows in steps of at most maxSeq ${maxSeq}; got [${[...st].join(', ')}]`);
  }
  return runAttention(backend, 'attention_packed', [q, k, v, starts], starts.shape[0] - 1, maxSeq, heads, scale, heads * rows * maxSeq);
}

/** Registers WASM_FUSED_ATTENTION and WASM_PACKED_ATTENTION for the wasm backend (idempotent). */
export function registerWasmFusedAttention(): void {
  registerKernelOnce(WASM_FUSED_ATTENTION, 'wasm', fusedAttentionKernel);
  registerKernelOnce(WASM_PACKED_ATTENTION, 'wasm', packedAttentionKernel);
}

/**
 * softmax(q·kᵀ·scale + mask)·v per head, heads side by side: q, k, v (B·T, d) as the linear layers give
 * them, maskAdd (B, T) additive (0 or a large negative). → (B·T, d). Wasm only, no gradient; d/heads a
 * multiple of 4. wasmKernelSwitches.fusedAttention decides whether BertModel uses it.
 */
export function wasmFusedAttention(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, maskAdd: tf.Tensor2D, heads: number, scale: number): tf.Tensor2D {
  registerWasmFusedAttention();
  return tf.engine().runKernel(WASM_FUSED_ATTENTION, { q, k, v, mask: maskAdd } as unknown as tf.NamedTensorMap, { heads, scale } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}

/**
 * wasmFusedAttention over sequences packed without padding: sequence b is rows starts[b] … starts[b+1]−1 of
 * q, k, v (Σ lengths, d); maxSeq its longest length. → (Σ lengths, d), each row as wasmFusedAttention gives
 * that token in a padded batch (bit for bit: padding keys add exact zeros there). Wasm only, no gradient.
 */
export function wasmPackedAttention(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, starts: tf.Tensor1D, maxSeq: number, heads: number, scale: number): tf.Tensor2D {
  registerWasmFusedAttention();
  return tf.engine().runKernel(WASM_PACKED_ATTENTION, { q, k, v, starts } as unknown as tf.NamedTensorMap, { heads, scale, maxSeq } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}
