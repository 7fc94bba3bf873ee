// Lucene 9's BM25Similarity, with its float32 arithmetic (org.apache.lucene.search.similarities.
// BM25Similarity, Lucene 9.12; Robertson & Zaragoza, "The Probabilistic Relevance Framework:
// BM25 and Beyond", 2009):
//   idf    = (float) ln(1 + (N - df + 0.5) / (df + 0.5))        computed in double, then cast
//   weight = boost * idf                                          float (boost = count in query)
//   tf     = freq * normInverse, normInverse = 1 / (k1 * ((1 - b) + b * dl / avgdl))   float
//   score  = weight - weight / (1 + tf)                           float (= weight * tf/(1+tf))
//   avgdl  = (float) (sumTotalTermFreq / (double) docCount)
// Java float operations round each result to float32, so every step below is Math.fround-ed.
// A document's score is the sum of its term scores in double, cast to float at the end, as
// Lucene's disjunction scorers do.
import { byte4ToInt, intToByte4 } from './small-float.ts';

const f = Math.fround;

/** How a document's length enters the score. */
export type DocLengthMode =
  /**
   * Lucene's lossy one-byte norm (SmallFloat.intToByte4), as Pyserini/Anserini indexes store it:
   * lengths ≥ 24 are rounded down to a bucket of 8 per power of two, so a long document scores as
   * if it were up to ~12% shorter. Scores then differ slightly from textbook BM25, and documents
   * in one bucket that match the same terms equally often tie exactly.
   */
  | 'lucene'
  /** The exact number of indexed terms (textbook BM25; not what Pyserini computes). */
  | 'exact';

export interface Bm25Params {
  /** Term-frequency saturation; Pyserini's BEIR runs use 0.9 (Lucene's default is 1.2). */
  k1: number;
  /** Length normalisation; Pyserini's BEIR runs use 0.4 (Lucene's default is 0.75). */
  b: number;
  /** Document length used in the score; 'lucene' reproduces Pyserini. */
  docLength: DocLengthMode;
}

/** Pyserini's BEIR "flat" BM25 (k1 0.9, b 0.4, Lucene norms): SciFact nDCG@10 0.6789. */
export const PYSERINI_BM25: Readonly<Bm25Params> = Object.freeze({ k1: 0.9, b: 0.4, docLength: 'lucene' });

/** Merges overrides over defaults; throws on an unknown key or an invalid value. */
export function bm25Params(overrides: Partial<Bm25Params> = {}, base: Bm25Params = PYSERINI_BM25): Bm25Params {
  for (const key of Object.keys(overrides)) {
    if (!(key in base)) throw new RangeError(`BM25: unknown parameter "${key}"; use k1, b or docLength`);
  }
  const p = { ...base, ...overrides };
  if (!Number.isFinite(p.k1) || p.k1 < 0) throw new RangeError(`BM25: k1 must be ≥ 0, got ${p.k1}`);
  if (!(p.b >= 0 && p.b <= 1)) throw new RangeError(`BM25: b must be in [0, 1], got ${p.b}`);
  if (p.docLength !== 'lucene' && p.docLength !== 'exact') {
    throw new RangeError(`BM25: docLength must be 'lucene' or 'exact', got "${String(p.docLength)}"`);
  }
  return p;
}

/** The k1 / b / docLength fields that are set in an options object, merged over `base`. */
export function paramsFrom(opts: Partial<Bm25Params>, base: Bm25Params = PYSERINI_BM25): Bm25Params {
  const set: Partial<Bm25Params> = {};
  if (opts.k1 !== undefined) set.k1 = opts.k1;
  if (opts.b !== undefined) set.b = opts.b;
  if (opts.docLength !== undefined) set.docLength = opts.docLength;
  return bm25Params(set, base);
}

/** BM25Similarity.idf: float32. `docCount` = documents with at least one term. */
export function idf(docFreq: number, docCount: number): number {
  return f(Math.log(1 + (docCount - docFreq + 0.5) / (docFreq + 0.5)));
}

/** BM25Similarity.avgFieldLength: float32. */
export function avgFieldLength(sumTotalTermFreq: number, docCount: number): number {
  return f(sumTotalTermFreq / docCount);
}

/** 1 / (k1 * ((1 - b) + b * dl / avgdl)), each step in float32 as Java evaluates it. */
export function normInverse(dl: number, params: Bm25Params, avgdl: number): number {
  const k1 = f(params.k1);
  const b = f(params.b);
  return f(1 / f(k1 * f(f(1 - b) + f(f(b * f(dl)) / avgdl))));
}

/**
 * normInverse of every document (float32), from exact lengths or, for 'lucene', from the decoded
 * norm byte (BM25Similarity's 256-entry cache, indexed by the byte).
 */
export function docNormInverses(docLengths: Uint32Array, params: Bm25Params, avgdl: number): Float32Array {
  const out = new Float32Array(docLengths.length);
  if (params.docLength === 'exact') {
    for (let d = 0; d < docLengths.length; d++) out[d] = normInverse(docLengths[d]!, params, avgdl);
    return out;
  }
  const cache = new Float32Array(256);
  for (let i = 0; i < 256; i++) cache[i] = normInverse(byte4ToInt(i), params, avgdl);
  for (let d = 0; d < docLengths.length; d++) out[d] = cache[intToByte4(docLengths[d]!)]!;
  return out;
}

/** Query-term weight: boost * idf, float32. */
export function termWeight(boost: number, termIdf: number): number {
  return f(f(boost) * termIdf);
}

/** BM25Scorer.score(freq, norm): weight - weight / (1 + freq * normInverse), float32. */
export function termScore(weight: number, freq: number, normInv: number): number {
  return f(weight - f(weight / f(1 + f(freq * normInv))));
}
