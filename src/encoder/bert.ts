// BertModel (the encoder stack only, no pooler) in tfjs, read top to bottom:
// embeddings → L × [self-attention → add & LayerNorm → GELU MLP → add & LayerNorm] (post-norm).
// Weights are tf.Variables under their Hugging Face state-dict names, so loading and exporting are
// name-for-name; Linear weights are held transposed, [in, out], so that x·W runs on wasm's fast path
// (matmul.ts) — bertWeightsToHf / toHfLayout give them back as PyTorch's [out, in].
// Only ops with tfjs 4.22 gradients on every backend are used (no StridedSlice, GatherNd, Einsum; the
// embedding lookup brings its own gradient because wasm lacks UnsortedSegmentSum). One exception, outside
// any gradient tape only: inference runs attention as one fused kernel per layer, WGSL on WebGPU and
// compiled wasm SIMD on wasm (fusedAttentionKind); there it may also skip the padding (skipPadding:
// the tokens packed into one matrix for every row-wise product, attention per sequence; packing.ts).
//
// References: Devlin et al. 2019 (BERT); transformers' modeling_bert.py (names, eps, masking);
// Hendrycks & Gimpel 2016 (GELU, exact erf form).
import * as tf from '@tensorflow/tfjs-core';
import './gradients.ts';
import { deriveSeed } from '../util/random.ts';
import { recordingGradients } from '../util/gradient-tape.ts';
import type { BertConfig } from './config.ts';
import { bertParamSpecs, isLinearWeight, randomBertWeights, type HfTensor } from './bert-weights.ts';
import { attentionProbs, type ProbsDropout } from './attention-probs.ts';
import { gelu } from './gelu.ts';
import { attentionMatMul, linear2d, linearGeluInference } from '../util/matmul.ts';
import { webgpuFusedAttention, webgpuKernelSwitches, webgpuPackedAttention } from '../util/webgpu-attention-kernel.ts';
import { wasmFusedAttention, wasmPackedAttention } from '../util/wasm-attention-kernel.ts';
import { wasmGatherRows } from '../util/wasm-gather-rows-kernel.ts';
import { wasmAddLayerNorm, wasmEmbeddings, wasmEmbeddingsTrain } from '../util/wasm-layer-norm-kernel.ts';
import { wasmAddLayerNormTrain } from '../util/wasm-layer-norm-grad-kernel.ts';
import { seededDropout } from '../util/wasm-dropout-kernel.ts';
import { wasmKernelsAvailable } from '../util/wasm-kernel-module.ts';
import { wasmKernelSwitches } from '../util/wasm-kernel-internals.ts';
import { packingOf } from './packing.ts';
import type { TokenizedBatch } from './types.ts';

/** Added to attention scores of padding keys: exp() underflows to exactly 0 in float32 (HF uses finfo.min). */
const MASK_NEGATIVE = -1e9;

export interface ForwardOptions {
  /** Turns dropout on (hidden_dropout_prob, attention_probs_dropout_prob). */
  training?: boolean;
  /** Seeds the dropout masks of this call; omitted → the model's own stream (seeded at construction). */
  seed?: number;
  /**
   * Inference (fused attention on wasm or webgpu) may skip the padding (packing.ts): the tokens' states are the padded pass's,
   * the padding positions' states come back as zeros. For callers that pool with the mask (BertEncoder.embed).
   */
  skipPadding?: boolean;
}

let instances = 0;

export class BertModel {
  readonly config: BertConfig;
  /** HF state-dict key → trainable variable (Linear weights transposed: [in, out]; see toHfLayout). */
  readonly params: ReadonlyMap<string, tf.Variable>;
  /** The same variables in state-dict order (bertParamSpecs). */
  readonly variables: tf.Variable[];
  /** Tensors the forward pass does not use (the pooler), kept for export. */
  readonly extras: ReadonlyMap<string, HfTensor>;
  #dropoutSeed: number;
  #dropoutCalls = 0;

  constructor(config: BertConfig, weights: ReadonlyMap<string, HfTensor>, extras: ReadonlyMap<string, HfTensor> = new Map(), seed = 0) {
    this.config = config;
    this.extras = extras;
    this.#dropoutSeed = seed;
    // Variable names are global in tfjs: prefix them per instance so two models can coexist.
    const scope = `bert${instances++}`;
    const params = new Map<string, tf.Variable>();
    for (const spec of bertParamSpecs(config)) {
      const w = weights.get(spec.key);
      if (!w) throw new Error(`BertModel: no weight "${spec.key}"`);
      const hf = tf.tensor(w.data, spec.shape, 'float32');
      const initial = isLinearWeight(spec.key) ? tf.transpose(hf) : hf; // [out, in] → [in, out]
      params.set(spec.key, tf.variable(initial, true, `${scope}/${spec.key}`)); // shares the data
      tf.dispose([hf, initial]);
    }
    this.params = params;
    this.variables = [...params.values()];
  }

  /** A freshly initialised model (transformers' init), reproducible from `seed`. */
  static random(config: BertConfig, seed: number): BertModel {
    return new BertModel(config, randomBertWeights(config, seed), new Map(), seed);
  }

  /** Last hidden states (B, T, d) for a padded batch. Differentiable w.r.t. `variables`. */
  forward(batch: TokenizedBatch, opts: ForwardOptions = {}): tf.Tensor3D {
    const c = this.config;
    const { batch: B, seqLen: T } = batch;
    const d = c.hiddenSize;
    if (T > c.maxPositions) throw new RangeError(`BertModel: sequence length ${T} exceeds max_position_embeddings ${c.maxPositions}`);
    const drop = makeDropout(opts.training === true, opts.seed ?? deriveSeed(this.#dropoutSeed, this.#dropoutCalls++));
    return tf.tidy(() => {
      const ids = tf.tensor1d(batch.inputIds, 'int32'); // (B*T)
      const types = tf.tensor1d(batch.tokenTypeIds, 'int32'); // (B*T)
      const positions = tf.range(0, T, 1, 'int32'); // (T)
      // Additive attention mask over keys: 0 for tokens, MASK_NEGATIVE for padding. (B, 1, 1, T)
      // Built in JS rather than by tf.cast: tfjs-webgpu's int32→float32 cast of a small (CPU-resident)
      // tensor keeps Int32Array data, which later GPU kernels compile as i32 (invalid WGSL).
      const maskAdd = tf.tensor4d(batch.attentionMask.map((m) => (m ? 0 : MASK_NEGATIVE)), [B, 1, 1, T], 'float32');
      // Inference (no dropout, no gradient tape) on webgpu or wasm: attention as one fused kernel per layer.
      const fused = fusedAttentionKind(opts.training === true, c.hiddenSize / c.numHeads);

      // Inference: the row-wise products on the tokens only, attention per sequence.
      const skip = fused === 'wasm' ? wasmKernelSwitches.skipPadding : fused === 'webgpu' && webgpuKernelSwitches.skipPadding;
      const packing = opts.skipPadding && skip ? packingOf(batch.attentionMask, B, T) : null;
      const packed: Packed | null = packing && (fused === 'wasm' ? { starts: tf.tensor1d(packing.starts, 'int32'), maxSeq: packing.maxSeq } : { seqs: tf.tensor1d(packing.rowSeqs, 'int32') });

      let x = this.embed(ids, types, positions, B, T, fused);
      if (packing) x = this.gatherRows(x, packing.keep, fused!);
      x = drop(this.addLayerNorm(x, null, 'embeddings.LayerNorm', fused), c.hiddenDropout);
      // A scope per layer: its temporaries go when it ends instead of at the end of the forward pass
      // (under a gradient tape the tensors a gradient needs are kept by the tape, not by the scope).
      for (let i = 0; i < c.numLayers; i++) {
        const xi = x;
        x = tf.tidy(() => this.layer(xi, i, B, T, maskAdd, drop, fused, packed));
      }
      // Back to (B·T, d), padding rows zeros.
      if (packing) x = this.gatherRows(x, packing.back, fused!);
      return tf.reshape(x, [B, T, d]);
    });
  }

  /** One post-norm transformer layer: x (B*T, d) → (B*T, d); packed: (N, d) → (N, d), N the tokens. */
  private layer(x: tf.Tensor2D, i: number, B: number, T: number, maskAdd: tf.Tensor, drop: Dropout, fused: FusedKind | null, packed: Packed | null): tf.Tensor2D {
    const c = this.config;
    const p = `encoder.layer.${i}`;
    const heads = fused ? this.fusedAttention(fused, x, p, B, T, maskAdd, packed) : this.attention(x, p, B, T, maskAdd, drop);
    const a = drop(this.linear(heads, `${p}.attention.output.dense`), c.hiddenDropout);
    x = this.addLayerNorm(a, x, `${p}.attention.output.LayerNorm`, fused);
    // Inference on wasm: the product and GELU in one GEMM call (matmul.ts linearGeluInference).
    const h = (fused === 'wasm' ? this.linearGelu(x, `${p}.intermediate.dense`) : null) ?? gelu(this.linear(x, `${p}.intermediate.dense`)); // (B*T, intermediate)
    const m = drop(this.linear(h, `${p}.output.dense`), c.hiddenDropout); // (B*T, d)
    return this.addLayerNorm(m, x, `${p}.output.LayerNorm`, fused);
  }

  /**
   * Multi-head scaled dot-product self-attention, before the output projection: (B*T, d) → (B*T, d).
   * Heads are folded into one batch axis of B·nh matrices, so that both products are batched ones, which
   * attentionMatMul runs on wasm's fast paths (matmul.ts: the compiled batched GEMM, Kᵀ read in place).
   */
  private attention(x: tf.Tensor2D, p: string, B: number, T: number, maskAdd: tf.Tensor, drop: Dropout): tf.Tensor2D {
    const c = this.config;
    const nh = c.numHeads;
    const hs = c.hiddenSize / nh;
    const heads = (t: tf.Tensor2D, perm: number[], shape: [number, number, number]) => tf.reshape(tf.transpose(tf.reshape(t, [B, T, nh, hs]), perm), shape) as tf.Tensor3D;
    const q = heads(this.linear(x, `${p}.attention.self.query`), [0, 2, 1, 3], [B * nh, T, hs]);
    const k = heads(this.linear(x, `${p}.attention.self.key`), [0, 2, 1, 3], [B * nh, T, hs]);
    const v = heads(this.linear(x, `${p}.attention.self.value`), [0, 2, 1, 3], [B * nh, T, hs]);
    const scores = tf.reshape(attentionMatMul(q, k, true), [B, nh, T, T]) as tf.Tensor4D; // (B, nh, T, T): q·kᵀ
    const att = attentionProbs(scores, maskAdd, 1 / Math.sqrt(hs), drop.site(c.attentionDropout)); // dropout(softmax(·/√hs + mask))
    const y = attentionMatMul(tf.reshape(att, [B * nh, T, T]) as tf.Tensor3D, v, false); // (B*nh, T, hs)
    return tf.reshape(tf.transpose(tf.reshape(y, [B, nh, T, hs]), [0, 2, 1, 3]), [B * T, c.hiddenSize]); // (B*T, d), heads side by side
  }

  /** The same attention as attention(), inference only, as one kernel (webgpu- / wasm-attention-kernel.ts). */
  private fusedAttention(kind: FusedKind, x: tf.Tensor2D, p: string, B: number, T: number, maskAdd: tf.Tensor, packed: Packed | null): tf.Tensor2D {
    const c = this.config;
    const q = this.linear(x, `${p}.attention.self.query`);
    const k = this.linear(x, `${p}.attention.self.key`);
    const v = this.linear(x, `${p}.attention.self.value`);
    const scale = 1 / Math.sqrt(c.hiddenSize / c.numHeads);
    if (packed) return 'seqs' in packed ? webgpuPackedAttention(q, k, v, packed.seqs, c.numHeads, scale) : wasmPackedAttention(q, k, v, packed.starts, packed.maxSeq, c.numHeads, scale);
    const run = kind === 'webgpu' ? webgpuFusedAttention : wasmFusedAttention;
    return run(q, k, v, tf.reshape(maskAdd, [B, T]), c.numHeads, scale);
  }

  /**
   * nn.Linear: x Wᵀ + b, with Wᵀ held as the variable ([in, out]). (N, in) → (N, out). linear2d fuses the
   * bias into wasm's fast XNNPACK product; not tf.fused.matMul with transposeB: its wasm kernel with
   * transposeB and a bias returns wrong rows in tfjs 4.22 (tests/unit/encoder-ops.test.ts).
   */
  private linear(x: tf.Tensor2D, prefix: string): tf.Tensor2D {
    return linear2d(x, this.p(`${prefix}.weight`) as tf.Tensor2D, this.p(`${prefix}.bias`) as tf.Tensor1D);
  }

  /** Rows idx[i] of x (−1: a zero row): one compiled copy on wasm, tf.gather over x and a zero row on webgpu. */
  private gatherRows(x: tf.Tensor2D, idx: Int32Array, fused: FusedKind): tf.Tensor2D {
    const n = x.shape[0];
    if (fused === 'wasm') return wasmGatherRows(x, tf.tensor1d(idx, 'int32'));
    return tf.gather(tf.concat([x, tf.zeros([1, x.shape[1]])]), tf.tensor1d(idx.map((i) => (i < 0 ? n : i)), 'int32')) as tf.Tensor2D;
  }

  /** gelu(linear(x)) as one compiled call where it applies, else null. */
  private linearGelu(x: tf.Tensor2D, prefix: string): tf.Tensor2D | null {
    return linearGeluInference(x, this.p(`${prefix}.weight`) as tf.Tensor2D, this.p(`${prefix}.bias`) as tf.Tensor1D);
  }

  /** The embedding sum (B*T, d): compiled on wasm (inference, or training with its gradient), else composed lookups. */
  private embed(ids: tf.Tensor1D, types: tf.Tensor1D, positions: tf.Tensor1D, B: number, T: number, fused: FusedKind | null): tf.Tensor2D {
    if (fused === 'wasm' && wasmKernelSwitches.layerNorm) return this.wasmEmbeddings(ids, types, T, false);
    if (fused === null && wasmKernelSwitches.embeddingsTrain && compiledTraining(this.config.hiddenSize)) return this.wasmEmbeddings(ids, types, T, true);
    return this.embeddings(ids, types, positions, B, T);
  }

  /** word[ids] + position + type embeddings, each a differentiable lookup: (B*T, d). */
  private embeddings(ids: tf.Tensor1D, types: tf.Tensor1D, positions: tf.Tensor1D, B: number, T: number): tf.Tensor2D {
    const d = this.config.hiddenSize;
    const word = tf.reshape(embeddingLookup(this.p('embeddings.word_embeddings.weight'), ids), [B, T, d]);
    const pos = embeddingLookup(this.p('embeddings.position_embeddings.weight'), positions); // (T, d), broadcast over B
    const type = tf.reshape(embeddingLookup(this.p('embeddings.token_type_embeddings.weight'), types), [B, T, d]);
    return tf.reshape(tf.add(tf.add(word, pos), type), [B * T, d]);
  }

  /** The same sum as embeddings() as one compiled kernel (wasm-layer-norm-kernel.ts); with its gradient when `train`. */
  private wasmEmbeddings(ids: tf.Tensor1D, types: tf.Tensor1D, T: number, train: boolean): tf.Tensor2D {
    const table = (name: string) => this.p(`embeddings.${name}.weight`) as tf.Tensor2D;
    return (train ? wasmEmbeddingsTrain : wasmEmbeddings)(table('word_embeddings'), table('position_embeddings'), table('token_type_embeddings'), ids, types, T);
  }

  /**
   * nn.LayerNorm(x + residual) (residual null: of x). On wasm: inference as one compiled kernel
   * (wasm-layer-norm-kernel.ts); where that does not run (training, a gradient tape, fused attention off) a
   * differentiable compiled forward and backward (wasm-layer-norm-grad-kernel.ts).
   */
  private addLayerNorm(x: tf.Tensor2D, residual: tf.Tensor2D | null, prefix: string, fused: FusedKind | null): tf.Tensor2D {
    const [gamma, beta] = [this.p(`${prefix}.weight`) as tf.Tensor1D, this.p(`${prefix}.bias`) as tf.Tensor1D];
    if (fused === 'wasm' && wasmKernelSwitches.layerNorm) return wasmAddLayerNorm(x, residual, gamma, beta, this.config.layerNormEps);
    if (fused === null && wasmKernelSwitches.layerNormTrain && compiledTraining(x.shape[1])) {
      return wasmAddLayerNormTrain(x, residual, gamma, beta, this.config.layerNormEps);
    }
    return this.layerNorm(residual ? tf.add(x, residual) : x, prefix);
  }

  /** nn.LayerNorm over the last axis with biased variance, as PyTorch. (N, d) → (N, d). */
  private layerNorm(x: tf.Tensor2D, prefix: string): tf.Tensor2D {
    const mean = tf.mean(x, -1, true); // (N, 1)
    const centred = tf.sub(x, mean);
    const variance = tf.mean(tf.square(centred), -1, true); // (N, 1)
    const normed = tf.mul(centred, tf.rsqrt(tf.add(variance, this.config.layerNormEps)));
    return tf.add(tf.mul(normed, this.p(`${prefix}.weight`)), this.p(`${prefix}.bias`));
  }

  private p(key: string): tf.Variable {
    const v = this.params.get(key);
    if (!v) throw new Error(`BertModel: no parameter "${key}"`);
    return v;
  }

  dispose(): void {
    for (const v of this.variables) v.dispose();
  }
}

type FusedKind = 'webgpu' | 'wasm';
/** A batch packed without padding (packing.ts): on wasm the sequence starts and the longest length, on webgpu each row's sequence. */
type Packed = { starts: tf.Tensor1D; maxSeq: number } | { seqs: tf.Tensor1D };

/**
 * Which fused attention kernel forward() may use, or null for the composed ops: only when not training (no
 * attention dropout) and no gradient tape records (the kernels have no gradient; training keeps the composed
 * ops and their gradients), with the backend's switch on; on wasm also the head size the kernel takes
 * (a multiple of 4) and a kernel that started (wasm SIMD).
 */
function fusedAttentionKind(training: boolean, headSize: number): FusedKind | null {
  if (training || recordingGradients()) return null;
  const backend = tf.getBackend();
  if (backend === 'webgpu' && webgpuKernelSwitches.fusedAttention) return 'webgpu';
  if (backend === 'wasm' && wasmKernelSwitches.fusedAttention && headSize % 4 === 0 && wasmKernelsAvailable()) return 'wasm';
  return null;
}

/** Whether the compiled training kernels (with gradients) apply: wasm, the kernels started, a hidden size they take. */
function compiledTraining(hidden: number): boolean {
  return hidden % 4 === 0 && wasmKernelsAvailable();
}

interface Dropout {
  <T extends tf.Tensor>(x: T, rate: number): T;
  /** The rate and seed of the next dropout site (as a call would use them), or null when it is a no-op. */
  site(rate: number): ProbsDropout | null;
}

/** Inverted dropout with one seed per call site, so a training step is reproducible on every backend. */
function makeDropout(training: boolean, seed: number): Dropout {
  let site = 0;
  const next = (rate: number): ProbsDropout | null => (training && rate > 0 ? { rate, seed: deriveSeed(seed, site++) } : null);
  const drop = <T extends tf.Tensor>(x: T, rate: number): T => {
    const d = next(rate);
    return d ? seededDropout(x, d.rate, d.seed) : x; // tf.dropout's masks (wasm-dropout-kernel.ts)
  };
  return Object.assign(drop, { site: next });
}

/**
 * Row lookup table[ids] with a scatter-add gradient. tf.gather's own gradient needs UnsortedSegmentSum,
 * which the wasm backend lacks; ScatterNd (which sums duplicate ids) exists on cpu, wasm and webgpu.
 * table (V, d), ids (N) int32 → (N, d).
 */
export function embeddingLookup(table: tf.Tensor2D | tf.Variable, ids: tf.Tensor1D): tf.Tensor2D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [tableIn, idsIn, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
    save([idsIn]);
    return {
      value: tf.gather(tableIn, idsIn) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [savedIds] = saved;
        const dTable = tf.scatterND(tf.reshape(savedIds, [-1, 1]), dy, tableIn.shape); // (V, d)
        return [dTable, tf.zerosLike(savedIds)];
      },
    };
  });
  return op(table, ids) as tf.Tensor2D;
}

/**
 * A variable (or its gradient) in PyTorch's layout: Linear weights transposed back to [out, in], everything
 * else as is. Returns a new tensor; the caller disposes it.
 */
export function toHfLayout(key: string, tensor: tf.Tensor): tf.Tensor {
  return isLinearWeight(key) ? tf.transpose(tensor) : tf.clone(tensor);
}

/** The weights as Hugging Face tensors (state-dict names, PyTorch shapes), pooler included when loaded. */
export async function bertWeightsToHf(model: BertModel): Promise<Map<string, HfTensor>> {
  const out = new Map<string, HfTensor>();
  for (const [key, v] of model.params) {
    const t = toHfLayout(key, v);
    out.set(key, { shape: [...t.shape], data: (await t.data()) as Float32Array });
    t.dispose();
  }
  for (const [key, t] of model.extras) out.set(key, { shape: [...t.shape], data: t.data.slice() });
  return out;
}
