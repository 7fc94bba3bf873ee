// Sequence log-probabilities log π(completion | prompt) = Σ_t log softmax(h_{t−1}·Wᵀ)[y_t] over the
// completion tokens y_t, batched and differentiable (DPO's policy term), without ever holding the
// (tokens × vocabulary) logits at once: Qwen's vocabulary is 151,936, so 2 × 612 tokens of logits alone
// would be 0.7 GB in float32.
//
// How: only the hidden states that predict a scored token are kept (row slices), the target logit is a row
// dot product h·W[y], and the log-normaliser logsumexp_v(h·W[v]) is computed over vocabulary slices of
// the lm_head (merged with another logsumexp). Its gradient is a custom one that recomputes each slice's
// softmax in the backward pass, so the tape keeps only h and the (N,) normaliser — memory is bounded by
// one slice (N × chunk) in both passes. Only ops with gradients on every backend are on the tape
// (slice, concat, matMul, mul, sum; no gather, whose gradient the wasm backend cannot run).
//
// Padding: rows may be right-padded (what DPO collation makes, as TRL does) or left-padded; the
// attention mask says where the tokens are (positions count real tokens only) and `scored` marks the
// completion tokens to sum. The tied / untied lm_head is the frozen weight; an adapter on lm_head falls
// back to full logits (correct, not memory-bounded).
import * as tf from '@tensorflow/tfjs-core';
import { matMulBT } from '../util/matmul.ts';
import type { LlamaModel } from './llama.ts';

export interface ScoredBatch {
  /** B rows of token ids padded to one length T. */
  ids: number[][];
  /** (B, T): 1 = token, 0 = padding. */
  attention: number[][];
  /** (B, T): 1 where ids[b][t] counts as a completion token, predicted from position t − 1 (so t ≥ 1). */
  scored: number[][];
}

export interface LogProbOptions {
  /** Vocabulary slice per matMul (default 8192); ≥ V gives one slice. */
  chunk?: number;
  /** Adapters in training mode (dropout). */
  training?: boolean;
}

import { DEFAULT_VOCAB_CHUNK } from './dpo-settings.ts';

export { DEFAULT_VOCAB_CHUNK };

/** Flat positions of the scored tokens: the row (b·T + t − 1) of the state predicting each, its target and sequence. */
function scoredPositions(batch: ScoredBatch): { rows: number[]; targets: number[]; seq: number[] } {
  const B = batch.ids.length;
  const T = batch.ids[0]?.length ?? 0;
  const rows: number[] = [];
  const targets: number[] = [];
  const seq: number[] = [];
  for (let b = 0; b < B; b++) {
    if (batch.ids[b].length !== T || batch.attention[b].length !== T || batch.scored[b].length !== T) throw new RangeError('sequenceLogProbs: every row of ids, attention and scored needs the same length');
    if (batch.scored[b][0]) throw new RangeError('sequenceLogProbs: the first position cannot be scored (nothing predicts it)');
    for (let t = 1; t < T; t++) {
      if (!batch.scored[b][t]) continue;
      if (!batch.attention[b][t] || !batch.attention[b][t - 1]) throw new RangeError(`sequenceLogProbs: scored token (${b}, ${t}) or the one before it is padding`);
      rows.push(b * T + t - 1);
      targets.push(batch.ids[b][t]);
      seq.push(b);
    }
  }
  return { rows, targets, seq };
}

/**
 * logsumexp_v (h·W[v]) over vocabulary slices: `hidden` h (N, D), the lm_head `weight` W (V, D) frozen → (N,).
 * Differentiable in h (recomputing each slice in the backward pass); no gradient flows to W.
 */
export function chunkedLogSumExp(hidden: tf.Tensor2D, weight: tf.Tensor2D, chunk = DEFAULT_VOCAB_CHUNK): tf.Tensor1D {
  const [V, D] = weight.shape;
  const size = Math.max(1, Math.min(chunk, V));
  const slices: [number, number][] = [];
  for (let v0 = 0; v0 < V; v0 += size) slices.push([v0, Math.min(size, V - v0)]);
  // One slice of W per use: tfjs-wasm's Slice reads the whole matrix back each time (~0.4 s for SmolLM2's
  // 49,152 × 576), so the backward pass cuts each slice once for both of its products.
  const rowsOf = ([v0, n]: [number, number]) => tf.slice(weight, [v0, 0], [n, D]) as tf.Tensor2D; // (n, D)
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xh, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    const parts = slices.map((s) => tf.tidy(() => tf.logSumExp(matMulBT(xh, rowsOf(s)), 1))); // each (N,)
    const lse = tf.logSumExp(tf.stack(parts, 1), 1) as tf.Tensor1D; // (N,)
    save([xh, lse]);
    return {
      value: lse,
      gradFunc: (dy, saved) => {
        const [hs, l] = saved as [tf.Tensor2D, tf.Tensor1D];
        // d lse / d h = softmax(h·Wᵀ)·W, summed slice by slice: Σ_s (exp(h·W_sᵀ − lse) ⊙ dy)·W_s.
        const dy2 = tf.reshape(dy, [-1, 1]); // (N, 1)
        const l2 = tf.reshape(l, [-1, 1]); // (N, 1)
        let dh: tf.Tensor = tf.zerosLike(hs); // (N, D)
        for (const s of slices) {
          const next = tf.tidy(() => {
            const ws = rowsOf(s);
            const p = tf.mul(tf.exp(tf.sub(matMulBT(hs, ws), l2)), dy2); // (N, n)
            return tf.add(dh, tf.matMul(p, ws)); // (N, D)
          });
          dh.dispose();
          dh = next;
        }
        return [dh];
      },
    };
  });
  return f(hidden) as tf.Tensor1D;
}

/** log softmax(h·Wᵀ)[y] for `hidden` rows h (N, D) and targets y (N), through the model's lm_head. (N,) */
export function tokenLogProbs(model: LlamaModel, hidden: tf.Tensor2D, targets: number[], chunk = DEFAULT_VOCAB_CHUNK): tf.Tensor1D {
  return tf.tidy(() => {
    const y = tf.tensor1d(targets, 'int32');
    if (model.adaptersEnabled && model.adapters.has('lm_head')) {
      const logits = model.lmHead(hidden) as tf.Tensor2D; // (N, V): an adapter on lm_head needs the full product
      return tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(y, model.config.vocab)), 1) as tf.Tensor1D;
    }
    const w = model.param('lm_head.weight') as tf.Tensor2D; // (V, D), the embedding when tied
    const target = tf.sum(tf.mul(hidden, tf.gather(w, y)), 1); // (N,) = h·W[y]
    return tf.sub(target, chunkedLogSumExp(hidden, w, chunk)) as tf.Tensor1D;
  });
}

/**
 * x[rows] for increasing row indices, as slices of contiguous runs (one per sequence when right-padded)
 * joined by concat. Not tf.gather: its gradient needs UnsortedSegmentSum, which the wasm backend lacks.
 */
function selectRows(x: tf.Tensor2D, rows: number[]): tf.Tensor2D {
  const runs: [number, number][] = [];
  for (const r of rows) {
    const last = runs[runs.length - 1];
    if (last && last[0] + last[1] === r) last[1]++;
    else runs.push([r, 1]);
  }
  const parts = runs.map(([r0, n]) => tf.slice(x, [r0, 0], [n, -1]));
  return (parts.length === 1 ? parts[0] : tf.concat(parts, 0)) as tf.Tensor2D;
}

/** Σ over scored tokens of log π(token | prefix), per row: (B,). Differentiable in the adapters. */
export function sequenceLogProbs(model: LlamaModel, batch: ScoredBatch, opts: LogProbOptions = {}): tf.Tensor1D {
  const B = batch.ids.length;
  const T = batch.ids[0]?.length ?? 0;
  const { rows, targets, seq } = scoredPositions(batch);
  if (rows.length === 0) return tf.zeros([B]);
  return tf.tidy(() => {
    const ids = tf.tensor2d(batch.ids.flat(), [B, T], 'int32');
    const mask = tf.tensor2d(batch.attention.flat(), [B, T], 'int32');
    const h = model.hidden(ids, mask, { training: opts.training ?? false }); // (B, T, D)
    const D = h.shape[2];
    const hs = selectRows(tf.reshape(h, [B * T, D]) as tf.Tensor2D, rows); // (N, D)
    const lp = tokenLogProbs(model, hs, targets, opts.chunk); // (N,)
    // Per-row sums as one matMul with a (B, N) 0/1 selector (a constant: no segment-sum gradient needed).
    const sel = new Float32Array(B * rows.length);
    seq.forEach((b, i) => (sel[b * rows.length + i] = 1));
    return tf.reshape(tf.matMul(tf.tensor2d(sel, [B, rows.length]), tf.reshape(lp, [-1, 1])), [B]) as tf.Tensor1D;
  });
}

/** The same, read back as numbers, in `rowsPerPass` rows at a time (no gradients: reference log-probs, evaluation). */
export async function sequenceLogProbsValues(model: LlamaModel, batch: ScoredBatch, opts: LogProbOptions & { rowsPerPass?: number } = {}): Promise<Float64Array> {
  const B = batch.ids.length;
  const step = Math.max(1, opts.rowsPerPass ?? B);
  const out = new Float64Array(B);
  for (let b0 = 0; b0 < B; b0 += step) {
    const pick = <T>(a: T[]) => a.slice(b0, b0 + step);
    const part = { ids: pick(batch.ids), attention: pick(batch.attention), scored: pick(batch.scored) };
    const t = sequenceLogProbs(model, trimPadding(part), opts);
    out.set(await t.data(), b0);
    t.dispose();
  }
  return out;
}

/** Drops columns that are padding in every row (right or left), so sub-batches run at their own length. */
export function trimPadding(batch: ScoredBatch): ScoredBatch {
  const T = batch.ids[0]?.length ?? 0;
  let first = T;
  let last = -1;
  for (const row of batch.attention) {
    const a = row.indexOf(1);
    if (a >= 0) {
      first = Math.min(first, a);
      last = Math.max(last, row.lastIndexOf(1));
    }
  }
  if (last < 0 || (first === 0 && last === T - 1)) return batch;
  const cut = <T>(rows: T[][]) => rows.map((r) => r.slice(first, last + 1));
  return { ids: cut(batch.ids), attention: cut(batch.attention), scored: cut(batch.scored) };
}
