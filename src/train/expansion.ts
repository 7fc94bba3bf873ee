// Expanded queries (paper Eq. 8): q_exp = (E(q) + E(d_exp)) / 2, in the two normalisation variants of
// the reference code (FACTS.md), chosen by name:
//   'contriever': L2-normalise q, e and the documents; the mean is not renormalised; τ = 0.02.
//   'raw':        the AnchorDR variant: plain mean of raw vectors, raw dot product, τ = 1.
// The tensor functions are used in training (differentiable); expandQueryVectors is the same
// arithmetic on plain arrays for the dense evaluation at query time.
import * as tf from '@tensorflow/tfjs-core';

export type QueryVariant = 'contriever' | 'raw';

export interface VariantSpec {
  /** L2-normalise query, expansion and document vectors before scoring. */
  normalize: boolean;
  /** InfoNCE temperature τ (scores = q·d / τ). */
  temperature: number;
}

export const QUERY_VARIANTS: Readonly<Record<QueryVariant, Readonly<VariantSpec>>> = Object.freeze({
  contriever: Object.freeze({ normalize: true, temperature: 0.02 }), // reference code, Contriever backbone
  raw: Object.freeze({ normalize: false, temperature: 1 }), // reference code, AnchorDR: "no temperature"
});

export function queryVariant(name: string): Readonly<VariantSpec> {
  const v = (QUERY_VARIANTS as Record<string, VariantSpec>)[name];
  if (!v) throw new RangeError(`Unknown query variant "${name}" (known: ${Object.keys(QUERY_VARIANTS).join(', ')})`);
  return v;
}

/** Smallest norm divided by, as torch.nn.functional.normalize (eps 1e-12). */
const NORM_EPS = 1e-12;

/** Row-wise x / max(‖x‖₂, ε). x [n, D] → [n, D]. */
export function l2Normalize(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.maximum(tf.sqrt(tf.sum(tf.square(x), 1, true)), NORM_EPS))); // [n, D]
}

/** Documents as the variant scores them. d [n, D] → [n, D]. */
export function prepareDocs(d: tf.Tensor2D, variant: QueryVariant): tf.Tensor2D {
  return queryVariant(variant).normalize ? l2Normalize(d) : tf.clone(d);
}

/**
 * Query vectors as the variant scores them: plain (e absent) or expanded by Eq. 8.
 * q [n, D], e [n, D] (row i: an expansion of query i) → [n, D].
 */
export function expandQueries(q: tf.Tensor2D, e: tf.Tensor2D | undefined, variant: QueryVariant): tf.Tensor2D {
  const { normalize } = queryVariant(variant);
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

/**
 * Eq. 8 on plain arrays, for query-time use by the dense evaluation: q and e are row-major [n × dim]
 * (e may be undefined for plain queries); returns a new [n × dim] array. Float32 arithmetic as the
 * tensor version does it.
 */
export function expandQueryVectors(q: Float32Array, e: Float32Array | undefined, dim: number, variant: QueryVariant): Float32Array {
  const { normalize } = queryVariant(variant);
  if (q.length % dim !== 0) throw new RangeError(`expandQueryVectors: ${q.length} values is not a multiple of dim ${dim}`);
  if (e && e.length !== q.length) throw new RangeError(`expandQueryVectors: ${e.length} expansion values for ${q.length} query values`);
  const out = new Float32Array(q.length);
  const inv = (x: Float32Array, row: number) => {
    if (!normalize) return 1;
    let s = 0;
    for (let j = 0; j < dim; j++) s += x[row * dim + j] * x[row * dim + j];
    return 1 / Math.max(Math.sqrt(s), NORM_EPS);
  };
  for (let r = 0; r < q.length / dim; r++) {
    const iq = inv(q, r);
    const ie = e ? inv(e, r) : 0;
    for (let j = 0; j < dim; j++) {
      const k = r * dim + j;
      out[k] = e ? (q[k] * iq + e[k] * ie) * 0.5 : q[k] * iq;
    }
  }
  return out;
}
