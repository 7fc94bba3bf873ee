// The tfjs-backend-wasm 4.22 internals this project's own wasm kernels use (wasm-matmul-kernel.ts):
// BackendWasm's data map (tensor → heap offset and C++ id), its id counter, makeOutput,
// and the module's heap and tensor registry. Not tfjs's public API: wasmInternals() checks they are there.
import type * as tf from '@tensorflow/tfjs-core';

export interface WasmModuleInternals {
  HEAPF32: Float32Array;
  cwrap(name: string, ret: null, args: string[]): (...args: unknown[]) => void;
  tfjs: { registerTensor(id: number, size: number, offset: number): void; disposeData(id: number): void; getThreadsCount?(): number };
}

export interface WasmBackendInternals {
  wasm: WasmModuleInternals;
  dataIdMap: { get(dataId: tf.DataId): { id: number; memoryOffset: number } };
  dataIdNextNumber: number;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

/** The BackendWasm internals these kernels use, checked (they are not tfjs's public API). */
export function wasmInternals(backend: unknown): WasmBackendInternals {
  const b = backend as Partial<WasmBackendInternals>;
  if (!b.wasm?.tfjs?.registerTensor || !b.dataIdMap || typeof b.dataIdNextNumber !== 'number' || typeof b.makeOutput !== 'function') {
    throw new Error('src/util/wasm-kernel-internals.ts: tfjs-backend-wasm internals changed (dataIdMap, dataIdNextNumber, wasm.tfjs.registerTensor): pin @tensorflow/tfjs-backend-wasm 4.22 or update this kernel');
  }
  return b as WasmBackendInternals;
}

/**
 * Which of this project's wasm kernels run (all by default). Benchmarks turn one off to measure what it
 * gains in the same process (bench/encoder-page.bench.ts); the off path is the tfjs-op composition it replaced.
 * slicedMatMul: wasm-matmul-kernel.ts; fusedAttention: wasm-attention-kernel.ts (BertModel inference);
 * gelu: wasm-gelu-kernel.ts (src/encoder/gelu.ts, inference and training); gemm: wasm-gemm-kernel.ts (matmul.ts'
 * 2D products, forward and backward, where tfjs-wasm runs one thread or has a helper per extra thread);
 * layerNorm: wasm-layer-norm-kernel.ts (BertModel inference: the embedding sum and residual + LayerNorm);
 * layerNormTrain: wasm-layer-norm-grad-kernel.ts (BertModel's residual + LayerNorm wherever the inference kernel does
 * not run, training included: forward and backward compiled instead of ~9 + ~20 tfjs ops);
 * helperThreads: wasm-helper-threads.ts (off: every compiled kernel on the calling thread, as without helpers);
 * skipPadding: BertModel inference (BertEncoder.embed) on the tokens only, packed without padding (encoder/packing.ts);
 * chunkedSplits: runChunks' guided chunks for the GEMM's rows and attention's pairs (off: one chunk per thread, as a static split);
 * dropout: wasm-dropout-kernel.ts (tf.dropout's masks from a compiled pass instead of JavaScript's draws);
 * geluEpilogue: the GEMM with GELU at its store (matmul.ts linearGeluInference; off: the GELU kernel after it);
 * attentionProbs: wasm-attention-probs-kernel.ts (BertModel training: softmax and its backward through dropout);
 * columnSum: wasm-column-sum-kernel.ts (a bias's gradient Σ_rows dy in matmul.ts' products);
 * embeddingsTrain: the embedding sum's compiled pass with its gradient in training (wasm-layer-norm-kernel.ts);
 * adamw: wasm-adamw-kernel.ts (AdamW's update on wasm as one compiled pass per variable, moments as heap tensors;
 * off: the JavaScript loop over host Float32Array moments, optimizer.ts hostStep).
 */
export const wasmKernelSwitches = { slicedMatMul: true, fusedAttention: true, gelu: true, gemm: true, layerNorm: true, layerNormTrain: true, helperThreads: true, chunkedSplits: true, skipPadding: true, dropout: true, geluEpilogue: true, attentionProbs: true, columnSum: true, embeddingsTrain: true, adamw: true };
