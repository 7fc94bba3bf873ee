// Where the time of one encode batch goes on a synchronous backend (wasm, cpu), two ways:
//  1. stages: the forward pass of src/encoder/bert.ts re-traced op for op with a timer between stages
//     (wasm and cpu run each op when it is called, so wall time between calls is the ops' time), run
//     twice keeping each stage's minimum; its output is checked against BertModel.forward (max |diff|
//     printed, 0 expected), so the trace is the model that runs.
//  2. kernels: tf.profile of BertEncoder.embed, summed per kernel (on wasm the linear layers are
//     _FusedMatMul, attention the compiled kernel ExpandrWasmFusedAttention, or with it switched off
//     its products BatchMatMul).
// Not for WebGPU: its ops are queued, so neither wall time per stage nor tf.profile's kernel times
// (timestamp queries) are available there.
import * as tf from '@tensorflow/tfjs-core';
import { embeddingLookup } from '../src/encoder/bert.ts';
import type { BertEncoder } from '../src/encoder/encoder.ts';
import { batchMatMul, linear2d, linearGeluInference } from '../src/util/matmul.ts';
import { gelu } from '../src/encoder/gelu.ts';
import { wasmFusedAttention } from '../src/util/wasm-attention-kernel.ts';
import { wasmAddLayerNorm, wasmEmbeddings } from '../src/util/wasm-layer-norm-kernel.ts';
import { wasmKernelsAvailable } from '../src/util/wasm-kernel-module.ts';
import { wasmKernelSwitches } from '../src/util/wasm-kernel-internals.ts';
import { maskTensor, meanPool } from '../src/encoder/pooling.ts';

export interface ProfileRow {
  name: string;
  ms: number;
  calls: number;
}

export interface EncodeProfile {
  batch: number;
  seqLen: number;
  tokenizeMs: number;
  stages: ProfileRow[];
  /** Sum of stage times + tokenisation. */
  totalMs: number;
  /** Wall time of BertModel.forward + read-back on the same batch, for comparison with the trace. */
  forwardMs: number;
  /** max |trace − BertModel.forward| over the hidden states (0 means the trace is the model). */
  traceDiff: number;
  kernels: ProfileRow[];
  /**
   * Peak tensor memory of one embed() above the resting weights (tf.profile). BertModel.forward runs in
   * one tf.tidy, so every layer's intermediates live until the end of the pass.
   */
  peakBytes: number;
}

/** Stage timer: `lap(name)` charges the time since the previous lap to `name` (summed over layers). */
function stopwatch() {
  const rows = new Map<string, ProfileRow>();
  let t = performance.now();
  return {
    lap(name: string) {
      const now = performance.now();
      const r = rows.get(name) ?? { name, ms: 0, calls: 0 };
      r.ms += now - t;
      r.calls++;
      rows.set(name, r);
      t = now;
    },
    reset() {
      t = performance.now();
    },
    rows: () => [...rows.values()],
  };
}

/** bert.ts forward (inference, no dropout) with a lap after each stage. Returns hidden (B, T, d). */
function tracedForward(enc: BertEncoder, ids: Int32Array, types: Int32Array, attentionMask: Int32Array, B: number, T: number, lap: (s: string) => void): tf.Tensor3D {
  const model = enc.model;
  const c = model.config;
  const d = c.hiddenSize;
  const nh = c.numHeads;
  const hs = d / nh;
  const p = (key: string) => model.params.get(key)!;
  const linear = (x: tf.Tensor2D, prefix: string) => linear2d(x, p(`${prefix}.weight`) as tf.Tensor2D, p(`${prefix}.bias`) as tf.Tensor1D);
  const layerNorm = (x: tf.Tensor2D, prefix: string) => {
    const mean = tf.mean(x, -1, true);
    const centred = tf.sub(x, mean);
    const variance = tf.mean(tf.square(centred), -1, true);
    const normed = tf.mul(centred, tf.rsqrt(tf.add(variance, c.layerNormEps)));
    return tf.add(tf.mul(normed, p(`${prefix}.weight`)), p(`${prefix}.bias`)) as tf.Tensor2D;
  };
  // As BertModel.forward outside a gradient tape (fusedAttentionKind): the compiled kernels on wasm.
  const fused = tf.getBackend() === 'wasm' && wasmKernelSwitches.fusedAttention && hs % 4 === 0 && wasmKernelsAvailable();
  const compiledNorm = fused && wasmKernelSwitches.layerNorm;
  const addLayerNorm = (x: tf.Tensor2D, residual: tf.Tensor2D | null, prefix: string) =>
    compiledNorm ? wasmAddLayerNorm(x, residual, p(`${prefix}.weight`) as tf.Tensor1D, p(`${prefix}.bias`) as tf.Tensor1D, c.layerNormEps) : layerNorm(residual ? tf.add(x, residual) : x, prefix);
  return tf.tidy(() => {
    const maskAdd = tf.tensor4d(attentionMask.map((m) => (m ? 0 : -1e9)), [B, 1, 1, T], 'float32');
    const idsT = tf.tensor1d(ids, 'int32');
    const typesT = tf.tensor1d(types, 'int32');
    let x: tf.Tensor2D;
    if (compiledNorm) {
      const table = (name: string) => p(`embeddings.${name}.weight`) as tf.Tensor2D;
      x = wasmEmbeddings(table('word_embeddings'), table('position_embeddings'), table('token_type_embeddings'), idsT, typesT, T);
      lap('embeddings: compiled wasm kernel (word + position + type)');
    } else {
      const word = tf.reshape(embeddingLookup(p('embeddings.word_embeddings.weight'), idsT), [B, T, d]);
      const pos = embeddingLookup(p('embeddings.position_embeddings.weight'), tf.range(0, T, 1, 'int32'));
      const type = tf.reshape(embeddingLookup(p('embeddings.token_type_embeddings.weight'), typesT), [B, T, d]);
      lap('embeddings: gather (word, position, type)');
      x = tf.reshape(tf.add(tf.add(word, pos), type), [B * T, d]) as tf.Tensor2D;
    }
    x = addLayerNorm(x, null, 'embeddings.LayerNorm');
    lap('embeddings: LayerNorm');
    const heads = (t: tf.Tensor2D, perm: number[], shape: [number, number, number]) => tf.reshape(tf.transpose(tf.reshape(t, [B, T, nh, hs]), perm), shape) as tf.Tensor3D;
    for (let i = 0; i < c.numLayers; i++) {
      const pre = `encoder.layer.${i}`;
      const q0 = linear(x, `${pre}.attention.self.query`);
      const k0 = linear(x, `${pre}.attention.self.key`);
      const v0 = linear(x, `${pre}.attention.self.value`);
      lap('attention: Q, K, V linear (3 × x·W + b)');
      let merged: tf.Tensor2D;
      if (fused) {
        merged = wasmFusedAttention(q0, k0, v0, tf.reshape(maskAdd, [B, T]), nh, 1 / Math.sqrt(hs));
        lap('attention: compiled wasm kernel (scores, softmax, ·V)');
      } else {
        const q = heads(q0, [0, 2, 1, 3], [B * nh, T, hs]);
        const kT = heads(k0, [0, 2, 3, 1], [B * nh, hs, T]);
        const v = heads(v0, [0, 2, 1, 3], [B * nh, T, hs]);
        lap('attention: split heads (reshape + transpose)');
        let att: tf.Tensor = tf.reshape(batchMatMul(q, kT), [B, nh, T, T]);
        lap('attention: scores Q·Kᵀ (batched matMul)');
        att = tf.softmax(tf.add(tf.mul(att, 1 / Math.sqrt(hs)), maskAdd));
        lap('attention: scale + mask + softmax');
        const y = tf.reshape(batchMatMul(tf.reshape(att, [B * nh, T, T]) as tf.Tensor3D, v), [B, nh, T, hs]);
        lap('attention: weights·V (batched matMul)');
        merged = tf.reshape(tf.transpose(y, [0, 2, 1, 3]), [B * T, d]) as tf.Tensor2D;
        lap('attention: merge heads (transpose + reshape)');
      }
      const a = linear(merged, `${pre}.attention.output.dense`);
      lap('attention: output linear');
      x = addLayerNorm(a, x, `${pre}.attention.output.LayerNorm`);
      lap('residual + LayerNorm (×2 per layer)');
      // As BertModel: on wasm, the product and GELU in one GEMM call where it applies; else the GELU kernel.
      const fusedGelu = fused ? linearGeluInference(x, p(`${pre}.intermediate.dense.weight`) as tf.Tensor2D, p(`${pre}.intermediate.dense.bias`) as tf.Tensor1D) : null;
      let h: tf.Tensor;
      if (fusedGelu) {
        h = fusedGelu;
        lap('MLP: intermediate linear + GELU (one GEMM call)');
      } else {
        const h0 = linear(x, `${pre}.intermediate.dense`);
        lap('MLP: intermediate linear (d → 4d)');
        h = gelu(h0);
        lap('MLP: GELU');
      }
      const m = linear(h as tf.Tensor2D, `${pre}.output.dense`);
      lap('MLP: output linear (4d → d)');
      x = addLayerNorm(m, x, `${pre}.output.LayerNorm`);
      lap('residual + LayerNorm (×2 per layer)');
    }
    return tf.reshape(x, [B, T, d]) as tf.Tensor3D;
  });
}

/** Kernel times of one embed() under tf.profile, summed per kernel name. */
async function kernelTable(enc: BertEncoder, batch: ReturnType<BertEncoder['tokenize']>): Promise<{ rows: ProfileRow[]; peakBytes: number }> {
  const resting = tf.memory().numBytes;
  const info = await tf.profile(() => {
    const e = enc.embed(batch);
    e.dataSync();
    e.dispose();
  });
  const rows = new Map<string, ProfileRow>();
  for (const k of info.kernels) {
    let name = k.name;
    // tf.fused.matMul's own custom gradient shows up as the scope 'fusedMatMul__op' around its kernel.
    if (name.endsWith('__op')) continue;
    // Linear layers run as _FusedMatMul (x·W + b) on wasm; attention's products as 2D BatchMatMuls of one
    // (row, head) each there (matmul.ts batchMatMul), as batched 3D ones elsewhere.
    if (name === 'BatchMatMul') name = 'BatchMatMul (attention)';
    else if (name === '_FusedMatMul') name = '_FusedMatMul (linear x·W + b)';
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const r = rows.get(name) ?? { name, ms: 0, calls: 0 };
    r.ms += ms;
    r.calls++;
    rows.set(name, r);
  }
  return { rows: [...rows.values()].sort((a, b) => b.ms - a.ms), peakBytes: info.peakBytes - resting };
}

/** Profiles one batch of `texts` (the caller picks e.g. the longest batch) on the active (sync) backend. */
export async function profileEncodeBatch(enc: BertEncoder, texts: string[]): Promise<EncodeProfile> {
  const backend = tf.getBackend();
  if (backend !== 'wasm' && backend !== 'cpu') throw new Error(`profileEncodeBatch needs a synchronous backend (wasm or cpu), not ${backend}`);
  const t0 = performance.now();
  const batch = enc.tokenize(texts, 'doc');
  const tokenizeMs = performance.now() - t0;
  const { batch: B, seqLen: T } = batch;
  const run = (w: ReturnType<typeof stopwatch>) => {
    w.reset();
    const hidden = tracedForward(enc, batch.inputIds, batch.tokenTypeIds, batch.attentionMask, B, T, w.lap);
    const pooled = tf.tidy(() => meanPool(hidden, maskTensor(batch.attentionMask, B, T)));
    pooled.dataSync();
    w.lap('mean pooling + read-back');
    pooled.dispose();
    return hidden;
  };
  tf.tidy(() => enc.embed(enc.tokenize(texts.slice(0, 2), 'doc')).dataSync()); // warm-up: first calls allocate
  // Twice, keeping each stage's smaller time: a stage preempted by another process in one pass is not
  // charged for it (the cores here are shared).
  const w1 = stopwatch();
  run(w1).dispose();
  const w2 = stopwatch();
  const hidden = run(w2);
  const second = new Map(w2.rows().map((r) => [r.name, r]));
  const kernels = await kernelTable(enc, batch);
  const stages = w1.rows().map((r) => ({ ...r, ms: Math.min(r.ms, second.get(r.name)?.ms ?? r.ms) }));
  // The model's own forward on the same batch: the trace must equal it, and its wall time is the reference.
  const t1 = performance.now();
  const reference = enc.model.forward(batch);
  reference.dataSync();
  const forwardMs = performance.now() - t1;
  const traceDiff = tf.tidy(() => tf.max(tf.abs(tf.sub(hidden, reference))).dataSync()[0]);
  tf.dispose([hidden, reference]);
  return {
    batch: B,
    seqLen: T,
    tokenizeMs,
    stages,
    totalMs: tokenizeMs + stages.reduce((a, r) => a + r.ms, 0),
    forwardMs,
    traceDiff,
    kernels: kernels.rows,
    peakBytes: kernels.peakBytes,
  };
}
