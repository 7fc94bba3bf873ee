// Expanded queries (paper Eq. 8) on tensors, differentiable, for training: q_exp = (E(q) + E(d_exp)) / 2
// under the ExpansionNorm of src/retrieval/dense/expanded-query.ts (which also holds the array version
// the evaluation uses, and each normalisation's training temperature):
//   'contriever': L2-normalise q, e and the documents; the mean is not renormalised; τ = 0.02.
//   'raw':        the AnchorDR variant: plain mean of raw vectors, raw dot product, τ = 1.
import * as tf from '@tensorflow/tfjs-core';
import { expansionNormSpec, type ExpansionNorm } from '../retrieval/dense/expanded-query.ts';

/** Smallest norm divided by, as torch.nn.functional.normalize (eps 1e-12). */
const NORM_EPS = 1e-12;

/** Row-wise x / max(‖x‖₂, ε). x [n, D] → [n, D]. */
export function l2Normalize(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.maximum(tf.sqrt(tf.sum(tf.square(x), 1, true)), NORM_EPS))); // [n, D]
}

/** Documents as the normalisation scores them. d [n, D] → [n, D]. */
export function prepareDocs(d: tf.Tensor2D, norm: ExpansionNorm): tf.Tensor2D {
  return expansionNormSpec(norm).normalize ? l2Normalize(d) : tf.clone(d);
}

/**
 * Query vectors as the normalisation scores them: plain (e absent) or expanded by Eq. 8.
 * q [n, D], e [n, D] (row i: an expansion of query i) → [n, D].
 */
export function expandQueries(q: tf.Tensor2D, e: tf.Tensor2D | undefined, norm: ExpansionNorm): tf.Tensor2D {
  const { normalize } = expansionNormSpec(norm);
  return tf.tidy(() => {
    const qn = normalize ? l2Normalize(q) : q;
    if (!e) return tf.clone(qn);
    if (e.shape[0] !== q.shape[0] || e.shape[1] !== q.shape[1]) {
      throw new RangeError(`expandQueries: queries [${q.shape}] and expansions [${e.shape}] differ in shape`);
    }
    const en = normalize ? l2Normalize(e) : e;
    return tf.mul(tf.add(qn, en), 0.5); // [n, D], not renormalised
  });
}
