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
/** Below this many score entries (pairs · seq²) a hand-over to a helper thread costs more than it gains. */
export const ATTENTION_SPLIT_MIN_SCORES = 1 << 16;
/** The smallest chunk of (row, head) pairs (runChunks) is a 1 / (threads · this) share (a pair at 256 tokens: ~0.2 ms). */
export const ATTENTION_MIN_CHUNKS_PER_THREAD = 16;

/** Bit of attention()'s `scale` argument, its one f32 (runChunks' floats). */
const SCALE_ARG_BIT = 1 << 9;

function fusedAttentionKernel({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: unknown }): tf.TensorInfo {
  const { q, k, v, mask } = inputs as Record<'q' | 'k' | 'v' | 'mask', tf.TensorInfo>;
  const { heads, scale } = attrs as { heads: number; scale: number };
  const { batch, seq, d, headSize: hs } = attentionShape(WASM_FUSED_ATTENTION, q, k, v, mask, heads, 4);
  const rows = batch * seq;
  const { be, mod, kernels: kernel, at } = wasmKernelsOf(backend);
  const out = be.makeOutput([rows, d], 'float32');
  const pairs = batch * heads;
  const threads = pairs * seq * seq < ATTENTION_SPLIT_MIN_SCORES ? 1 : kernelThreads();
  // Each thread its own scratch (the keys transposed, a mask row, the scores of a block of queries); the
  // (row, head) pairs in chunks the threads claim as they go.
  const scratchBytes = 4 * kernel.attention_scratch_floats(seq, hs);
  withHeapScratch(mod, scratchBytes * threads, (scratch) => {
    const argsOf = (t: number) => [at(q), at(k), at(v), at(mask), at(out), scratch + t * scratchBytes, seq, heads, hs, scale, 0, pairs];
    runChunks(kernel, 'attention', argsOf, { rangeArg: 10, n: pairs, minChunk: minChunkOf(pairs, threads, ATTENTION_MIN_CHUNKS_PER_THREAD), helpers: threads - 1, floats: SCALE_ARG_BIT });
  });
  return out;
}

/** Registers WASM_FUSED_ATTENTION for the wasm backend (idempotent). */
export function registerWasmFusedAttention(): void {
  registerKernelOnce(WASM_FUSED_ATTENTION, 'wasm', fusedAttentionKernel);
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
