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
// False negatives: when a column holds a document judged relevant to query i (another query of the batch
// drew the same positive, or a hard negative is one of i's positives), that column is no negative of i:
// `negativeMask` sets its logit to −inf before the softmax, so it takes no probability and gets no gradient.
//
// Only ops with tfjs gradients (FACTS.md): matMul, div, logSoftmax, where (Select), mean, sum.
import * as tf from '@tensorflow/tfjs-core';

/** Similarity scores [B, N] = q·dᵀ / τ. q [B, D], d [N, D]. */
export function similarityScores(q: tf.Tensor2D, d: tf.Tensor2D, temperature: number): tf.Tensor2D {
  if (!(temperature > 0)) throw new RangeError(`InfoNCE temperature must be > 0, got ${temperature}`);
  return tf.div(tf.matMul(q, d, false, true), temperature); // [B, N]
}

/**
 * Which columns are no negatives of which query: row-major [B·N], 1 at (i, j) when j ≠ i and document j
 * is one of query i's positives (`docIds` names the N columns, `positives[i]` the ids judged relevant to
 * query i; its drawn positive, column i, is among them). null when nothing is masked.
 */
export function falseNegativeMask(docIds: readonly string[], positives: readonly (readonly string[])[]): Uint8Array | null {
  const B = positives.length;
  const N = docIds.length;
  const mask = new Uint8Array(B * N);
  let any = false;
  for (let i = 0; i < B; i++) {
    const own = new Set(positives[i]);
    own.add(docIds[i]);
    for (let j = 0; j < N; j++) {
      if (j !== i && own.has(docIds[j])) {
        mask[i * N + j] = 1;
        any = true;
      }
    }
  }
  return any ? mask : null;
}

/**
 * Mean over queries of −log softmax(scores_i)[i] (cross-entropy with the positive on the diagonal).
 * q [B, D] (plain or expanded queries), d [B·(1+h), D] laid out as described above; `negativeMask`
 * ([B·N], falseNegativeMask) drops the columns that are not negatives of a row.
 */
export function infoNceLoss(q: tf.Tensor2D, d: tf.Tensor2D, temperature: number, negativeMask?: Uint8Array | null): tf.Scalar {
  const [B] = q.shape;
  const [N] = d.shape;
  if (N < B || N % B !== 0) {
    throw new RangeError(`InfoNCE: ${N} documents for ${B} queries; expected B·(1+h) rows (positives first, then hard negatives)`);
  }
  if (negativeMask && negativeMask.length !== B * N) throw new RangeError(`InfoNCE: negative mask of ${negativeMask.length} entries for ${B}×${N} scores`);
  for (let i = 0; negativeMask && i < B; i++) if (negativeMask[i * N + i]) throw new RangeError(`InfoNCE: the mask drops query ${i}'s own positive`);
  return tf.tidy(() => {
    let scores = similarityScores(q, d, temperature); // [B, N]
    if (negativeMask) scores = tf.where(tf.tensor2d(negativeMask, [B, N], 'bool'), tf.fill([B, N], -Infinity), scores);
    const logp = tf.logSoftmax(scores); // [B, N]; −inf where masked
    // Select the diagonal with where, not a one-hot product: −inf · 0 would be NaN.
    const diagonal = tf.where(tf.cast(tf.oneHot(tf.range(0, B, 1, 'int32'), N), 'bool'), logp, tf.zerosLike(logp)); // [B, N]
    return tf.neg(tf.mean(tf.sum(diagonal, 1))) as tf.Scalar;
  });
}

/** Share of queries whose positive scores highest (ties count as misses; masked columns skipped): a cheap training signal to log. */
export function inBatchAccuracy(q: tf.Tensor2D, d: tf.Tensor2D, negativeMask?: Uint8Array | null): number {
  const scores = tf.tidy(() => tf.matMul(q, d, false, true)); // [B, N]
  const s = scores.dataSync();
  scores.dispose();
  const [B] = q.shape;
  const [N] = d.shape;
  let hits = 0;
  for (let i = 0; i < B; i++) {
    const own = s[i * N + i];
    let best = true;
    for (let j = 0; j < N && best; j++) if (j !== i && !negativeMask?.[i * N + j] && s[i * N + j] >= own) best = false;
    if (best) hits++;
  }
  return B ? hits / B : 0;
}
