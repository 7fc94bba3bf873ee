// ExpandR Eq. 8, q_exp = (E(q) + E(d_exp)) / 2, and the one setting that says how it is normalised
// (`ExpansionNorm`), used alike by training, evaluation, rewards and export. This file is the array
// version, the only one outside training (the runner and the page combine a few hundred vectors once);
// training differentiates the same arithmetic on tensors in src/train/expansion.ts.
//
// Normalisations (FACTS.md, reference code):
//  - 'contriever': L2-normalise E(q) and E(e) first, then average; the mean is NOT renormalised, and the
//    documents it is scored against are normalised too (searchDense's normalizeDocs); training τ 0.02.
//  - 'raw' (AnchorDR): plain (E(q) + E(e)) / 2 of the encoder's own outputs, raw dot product; τ 1.

export type ExpansionNorm = 'contriever' | 'raw';
export const EXPANSION_NORMS: readonly ExpansionNorm[] = ['contriever', 'raw'];

export interface ExpansionNormSpec {
  /** L2-normalise query, expansion and document vectors before scoring. */
  normalize: boolean;
  /** InfoNCE temperature τ this normalisation trains with (scores = q·d / τ). */
  temperature: number;
}

export const EXPANSION_NORM_SPECS: Readonly<Record<ExpansionNorm, Readonly<ExpansionNormSpec>>> = Object.freeze({
  contriever: Object.freeze({ normalize: true, temperature: 0.02 }), // reference code, Contriever backbone
  raw: Object.freeze({ normalize: false, temperature: 1 }), // reference code, AnchorDR: "no temperature"
});

/** Below this norm a vector is left as is rather than blown up (an all-zero embedding stays zero). */
const NORM_EPS = 1e-12;

/** The variant to use by default: 'contriever' when the encoder works with unit vectors, else 'raw'. */
export function defaultExpansionNorm(settings: { normalize: boolean; similarity: 'dot' | 'cosine' }): ExpansionNorm {
  return settings.normalize || settings.similarity === 'cosine' ? 'contriever' : 'raw';
}

export function parseExpansionNorm(name: string): ExpansionNorm {
  if ((EXPANSION_NORMS as readonly string[]).includes(name)) return name as ExpansionNorm;
  throw new RangeError(`Unknown expansion normalisation "${name}": use ${EXPANSION_NORMS.join(' or ')}.`);
}

/** The spec of a normalisation by name (throws RangeError on an unknown one). */
export function expansionNormSpec(name: string): Readonly<ExpansionNormSpec> {
  return EXPANSION_NORM_SPECS[parseExpansionNorm(name)];
}

/** L2-normalises `v[off, off + dim)` into `out[outOff, …)` (in float64, rounded once to float32). */
function normalizeInto(v: Float32Array, off: number, dim: number, out: Float32Array, outOff: number): void {
  let ss = 0;
  for (let j = 0; j < dim; j++) ss += v[off + j] * v[off + j];
  const n = Math.sqrt(ss);
  const s = n > NORM_EPS ? 1 / n : 1;
  for (let j = 0; j < dim; j++) out[outOff + j] = v[off + j] * s;
}

/**
 * Combines row-major batches q [n × dim] and e [n × dim] into [n × dim] per Eq. 8. `hasExpansion[i]`
 * false (or e row missing) keeps the plain query for row i — normalised under 'contriever', so that
 * every query vector lives on the same scale as the documents it is scored against.
 */
export function combineExpanded(
  q: Float32Array,
  e: Float32Array,
  dim: number,
  norm: ExpansionNorm,
  hasExpansion?: readonly boolean[],
): Float32Array {
  if (q.length % dim !== 0 || e.length !== q.length) {
    throw new RangeError(`combineExpanded: q has ${q.length} values and e ${e.length}; both must be n × ${dim}`);
  }
  const n = q.length / dim;
  const out = new Float32Array(q.length);
  const qn = new Float32Array(dim);
  const en = new Float32Array(dim);
  for (let i = 0; i < n; i++) {
    const off = i * dim;
    const withE = hasExpansion ? hasExpansion[i] === true : true;
    if (norm === 'contriever') {
      normalizeInto(q, off, dim, qn, 0);
      if (!withE) {
        out.set(qn, off);
        continue;
      }
      normalizeInto(e, off, dim, en, 0);
      for (let j = 0; j < dim; j++) out[off + j] = (qn[j] + en[j]) * 0.5;
    } else {
      for (let j = 0; j < dim; j++) out[off + j] = withE ? (q[off + j] + e[off + j]) * 0.5 : q[off + j];
    }
  }
  return out;
}

/** L2-normalises every row of a [n × dim] batch (cosine similarity, or 'contriever' without expansions). */
export function normalizeRows(vectors: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(vectors.length);
  for (let off = 0; off < vectors.length; off += dim) normalizeInto(vectors, off, dim, out, off);
  return out;
}
