// Gradients of a contrastive loss over a large batch, plain or with gradient caching.
//
// Reference: Gao, Zhang, Han & Callan 2021, "Scaling Deep Contrastive Learning Batch Size under Memory
// Limited Setup" (GradCache). The loss depends on the encoder only through the representations, so
//   ∂L/∂θ = Σ_chunks Σ_rows (∂L/∂rep_row) · ∂rep_row/∂θ.
// Step 1 embeds every chunk with no tape (no activations kept), step 2 computes L and ∂L/∂rep on the
// small [n, D] representations, step 3 re-embeds each chunk with the tape on and backpropagates the
// surrogate Σ rep ⊙ cachedGrad, summing the variable gradients. The result equals the full-batch
// gradient (up to float rounding) while the activation memory is that of one chunk. The price is a
// second forward pass. This is what lets the paper's batch of 1024 fit on one GPU.
import * as tf from '@tensorflow/tfjs-core';
import type { Encoder, TextKind, TokenizedBatch } from '../encoder/types.ts';
import { deriveSeed } from '../util/random.ts';
import type { Grads } from './optimizer.ts';

/** Inputs embedded by the model as one block of the loss, e.g. a batch's queries, expansions or documents. */
export interface RepGroup {
  /** Rows (texts) in the group. */
  size: number;
  /**
   * The order GradCache cuts chunks in (a permutation of 0..size−1; default: as given). Rows of similar
   * length side by side make each chunk pad only to its own longest row.
   */
  order?: readonly number[];
  /**
   * Embeds the given rows → [rows.length, D]. GradCache calls it twice for the same rows and needs the
   * same result both times, so any dropout must be seeded from the rows.
   */
  embed(rows: readonly number[]): tf.Tensor2D;
}

/** 0, 1, …, n − 1. */
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/**
 * Texts as one block of the loss: tokenised once per chunk, dropout seeded by the chunk's first row,
 * chunks cut longest-first by token count (length-grouped), ties in input order.
 */
export function textGroup(encoder: Encoder, texts: string[], kind: TextKind, training: boolean, seed: number): RepGroup {
  const tokens = new Map<string, TokenizedBatch>();
  const all = encoder.tokenize(texts, kind);
  const lengths = range(texts.length).map((r) => {
    let n = 0;
    for (let t = 0; t < all.seqLen; t++) n += all.attentionMask[r * all.seqLen + t];
    return n;
  });
  return {
    size: texts.length,
    order: range(texts.length).sort((x, y) => lengths[y] - lengths[x] || x - y),
    embed: (rows) => {
      const key = rows.join(',');
      let t = tokens.get(key);
      if (!t) tokens.set(key, (t = encoder.tokenize(rows.map((r) => texts[r]), kind)));
      return encoder.embed(t, { training, seed: deriveSeed(seed, rows[0]) });
    },
  };
}

/** The loss from every group's representations, in group order ([size_g, D] each). */
export type RepLoss = (reps: tf.Tensor2D[]) => tf.Scalar;

export interface GradResult {
  /** The loss value (caller disposes). */
  loss: tf.Scalar;
  /** Aligned with the variables; null where the loss does not depend on a variable. Caller disposes. */
  grads: Grads;
  /** Where the time went (ms; dispatch time on asynchronous backends such as webgpu). */
  timing: GradTiming;
}

export interface GradTiming {
  /** Embedding passes without a tape (GradCache step 1; 0 on the plain path). */
  forwardMs: number;
  /** The loss and its gradient with respect to the representations (plain path: inside backwardMs). */
  lossMs: number;
  /** Embedding under the tape plus backpropagation into the weights. */
  backwardMs: number;
}

/** [start, end) ranges of at most `chunk` rows covering [0, size). */
export function chunkRanges(size: number, chunk: number): [number, number][] {
  if (!(Number.isInteger(chunk) && chunk >= 1)) throw new RangeError(`chunk size must be a positive integer, got ${chunk}`);
  const out: [number, number][] = [];
  for (let s = 0; s < size; s += chunk) out.push([s, Math.min(size, s + chunk)]);
  return out;
}

function ordered(named: tf.NamedTensorMap, variables: readonly tf.Variable[]): Grads {
  return variables.map((v) => named[v.name] ?? null);
}

/** Plain path: every group embedded at once under the tape, one backward pass. Memory grows with the batch. */
export function fullBatchGrads(groups: readonly RepGroup[], loss: RepLoss, variables: readonly tf.Variable[]): GradResult {
  const t0 = performance.now();
  const { value, grads } = tf.variableGrads(() => loss(groups.map((g) => g.embed(range(g.size)))), variables as tf.Variable[]);
  return { loss: value, grads: ordered(grads, variables), timing: { forwardMs: 0, lossMs: 0, backwardMs: performance.now() - t0 } };
}

/** GradCache path: activation memory bounded by `chunk` rows per forward pass. */
export function gradCacheGrads(groups: readonly RepGroup[], loss: RepLoss, variables: readonly tf.Variable[], chunk: number): GradResult {
  const t0 = performance.now();
  const chunksOf = (g: RepGroup) => chunkRanges(g.size, chunk).map(([s, e]) => (g.order ?? range(g.size)).slice(s, e));
  // 1. Representations without a tape, one tidy per chunk so a chunk's activations are freed before the next;
  //    rows back in group order afterwards.
  const reps = groups.map((g) => {
    const chunks = chunksOf(g);
    const parts = chunks.map((rows) => tf.tidy(() => g.embed(rows)));
    const all = tf.tidy(() => {
      const inChunkOrder = tf.concat(parts, 0); // [size_g, D]
      const position = new Int32Array(g.size); // row r sits at position[r] in chunk order
      chunks.flat().forEach((r, j) => (position[r] = j));
      return tf.gather(inChunkOrder, tf.tensor1d(position, 'int32')) as tf.Tensor2D;
    });
    parts.forEach((p) => p.dispose());
    return all;
  });
  const t1 = performance.now();
  // 2. L and ∂L/∂rep_g on the representations only.
  const { value, grads: repGrads } = tf.valueAndGrads((...xs: tf.Tensor[]) => loss(xs as tf.Tensor2D[]))(reps);
  reps.forEach((r) => r.dispose());
  const t2 = performance.now();
  // 3. Re-embed each chunk under the tape; backprop Σ rep ⊙ ∂L/∂rep into the variables and sum.
  const sums: Grads = variables.map(() => null);
  groups.forEach((g, gi) => {
    const cached = repGrads[gi]; // [size_g, D]
    for (const rows of chunksOf(g)) {
      const part = tf.variableGrads(() => {
        const rowGrads = tf.gather(cached, tf.tensor1d(rows as number[], 'int32')); // [rows, D]
        return tf.sum(tf.mul(g.embed(rows), rowGrads)) as tf.Scalar;
      }, variables as tf.Variable[]);
      part.value.dispose();
      ordered(part.grads, variables).forEach((gr, i) => {
        if (!gr) return;
        const prev = sums[i];
        sums[i] = prev ? tf.add(prev, gr) : gr;
        if (prev) {
          prev.dispose();
          gr.dispose();
        }
      });
    }
  });
  repGrads.forEach((t) => t.dispose());
  return { loss: value as tf.Scalar, grads: sums, timing: { forwardMs: t1 - t0, lossMs: t2 - t1, backwardMs: performance.now() - t2 } };
}

/** GradCache when `chunk` is set and smaller than some group, else the plain path. */
export function batchGrads(groups: readonly RepGroup[], loss: RepLoss, variables: readonly tf.Variable[], chunk = 0): GradResult {
  const needed = chunk > 0 && groups.some((g) => g.size > chunk);
  return needed ? gradCacheGrads(groups, loss, variables, chunk) : fullBatchGrads(groups, loss, variables);
}
