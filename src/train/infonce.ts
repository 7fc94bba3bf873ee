// InfoNCE with in-batch negatives, the retriever loss of ExpandR (paper Eq. 9; DESIGN.md §1).
//
// References:
//   Karpukhin et al. 2020, "Dense Passage Retrieval" (in-batch negatives).
//   van den Oord et al. 2018, "Representation Learning with Contrastive Predictive Coding" (InfoNCE).
//   Izacard et al. 2021, "Unsupervised Dense Information Retrieval with Contrastive Learning" (τ, Contriever).
//
// Layout of the documents: the B positives first (row i belongs to query i), then, when hard
// negatives are used, one hard negative per query (row B + i belongs to query i). Every query scores
// all B·(1+h) documents, so the other queries' positives and every hard negative are its negatives,
// and its own positive sits on the diagonal of the first B×B block.
//
// Only ops with tfjs gradients (FACTS.md): matMul, div, logSoftmax, oneHot, mul, sum, mean.
import * as tf from '@tensorflow/tfjs-core';

/** Similarity scores [B, N] = q·dᵀ / τ. q [B, D], d [N, D]. */
export function similarityScores(q: tf.Tensor2D, d: tf.Tensor2D, temperature: number): tf.Tensor2D {
  if (!(temperature > 0)) throw new RangeError(`InfoNCE temperature must be > 0, got ${temperature}`);
  return tf.div(tf.matMul(q, d, false, true), temperature); // [B, N]
}

/**
 * Mean over queries of −log softmax(scores_i)[i] (cross-entropy with the positive on the diagonal).
 * q [B, D] (plain or expanded queries), d [B·(1+h), D] laid out as described above.
 */
export function infoNceLoss(q: tf.Tensor2D, d: tf.Tensor2D, temperature: number): tf.Scalar {
  const [B] = q.shape;
  const [N] = d.shape;
  if (N < B || N % B !== 0) {
    throw new RangeError(`InfoNCE: ${N} documents for ${B} queries; expected B·(1+h) rows (positives first, then hard negatives)`);
  }
  return tf.tidy(() => {
    const scores = similarityScores(q, d, temperature); // [B, N]
    const target = tf.oneHot(tf.range(0, B, 1, 'int32'), N); // [B, N], 1 at (i, i)
    const logp = tf.logSoftmax(scores); // [B, N]
    return tf.neg(tf.mean(tf.sum(tf.mul(logp, target), 1))) as tf.Scalar;
  });
}

/** Share of queries whose positive scores highest (ties count as misses): a cheap training signal to log. */
export function inBatchAccuracy(q: tf.Tensor2D, d: tf.Tensor2D): number {
  const scores = tf.tidy(() => tf.matMul(q, d, false, true)); // [B, N]
  const s = scores.dataSync();
  scores.dispose();
  const [B] = q.shape;
  const [N] = d.shape;
  let hits = 0;
  for (let i = 0; i < B; i++) {
    const own = s[i * N + i];
    let best = true;
    for (let j = 0; j < N && best; j++) if (j !== i && s[i * N + j] >= own) best = false;
    if (best) hits++;
  }
  return B ? hits / B : 0;
}
