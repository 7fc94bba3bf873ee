// Per-query ranking metrics, computed as trec_eval 9 computes them (the code behind pytrec_eval, which
// BEIR uses). Input: the relevance values of the retrieved docs in trec_eval order, plus what the qrels
// say about the query. Relevance level is trec_eval's default 1: "relevant" means rel ≥ 1.
// Grades are integers (trec_eval reads them as long; negative ones act like 0 for every metric here).
//
//   ndcg@k   ndcg_cut.k   Σ_{r≤k, rel_r>0} rel_r / log2(r+1), over the same sum for the ideal order of
//            all judged docs with rel > 0 (cut at k too); 0 when there is none (linear gain = qrel value)
//   recall@k recall.k     |relevant in top k| / |relevant|; 0 when nothing is relevant
//   p@k      P.k          |relevant in top k| / k, even when fewer than k docs were retrieved
//   map@k    map_cut.k    Σ_{relevant at r≤k} precision@r / |relevant|; 0 when nothing is relevant
//   mrr@k    (ours)       1/r for the first relevant doc at r ≤ k, else 0 — trec_eval's recip_rank on a
//                         run cut at k (= BEIR's MRR@k per query, up to BEIR's tie order: see metrics.ts)
//   mrr      recip_rank   the same without a cut
//
// Sums run in rank order and divide by log2 (not multiply by a reciprocal), as trec_eval does, so values
// match pytrec_eval bit for bit (every value in tests/reference/fixtures/eval-pytrec.json does).

import { MetricError } from '../errors.ts';

export type MetricName = 'ndcg' | 'recall' | 'p' | 'map' | 'mrr';

export interface MetricSpec {
  /** Canonical key, e.g. 'ndcg@10', 'p@10', 'mrr' (uncut). */
  key: string;
  name: MetricName;
  /** Cutoff; Infinity for the uncut 'mrr'. */
  k: number;
}

/** What the qrels say about one query. */
export interface Judgements {
  /** Number of judged docs with rel ≥ 1 (trec_eval num_rel). */
  numRel: number;
  /** Gains (rel > 0) of all judged docs, descending: the ideal ranking for nDCG. */
  idealGains: Float64Array;
}

const METRIC_NAMES: readonly MetricName[] = ['ndcg', 'recall', 'p', 'map', 'mrr'];

/** Parses 'NDCG@10', 'recall@100', 'P@10', 'map@100', 'mrr@10', 'mrr' into a spec. */
export function parseMetric(key: string): MetricSpec {
  const m = /^\s*([a-z]+)(?:@(\d+))?\s*$/i.exec(key);
  const name = m?.[1].toLowerCase() as MetricName | undefined;
  if (!m || !name || !METRIC_NAMES.includes(name)) {
    throw new MetricError(`Unknown metric "${key}". Use one of ${METRIC_NAMES.map((n) => `${n}@k`).join(', ')} (k a positive integer), or "mrr" without a cutoff.`);
  }
  if (m[2] === undefined) {
    if (name === 'mrr') return { key: 'mrr', name, k: Infinity };
    throw new MetricError(`Metric "${key}" needs a cutoff, e.g. "${name}@10".`);
  }
  const k = Number(m[2]);
  if (!Number.isSafeInteger(k) || k < 1) throw new MetricError(`Metric "${key}": the cutoff must be a positive integer.`);
  return { key: `${name}@${k}`, name, k };
}

/** Summarises one query's qrels (docid → rel). */
export function judgements(rels: ReadonlyMap<string, number>): Judgements {
  let numRel = 0;
  const gains: number[] = [];
  for (const rel of rels.values()) {
    if (rel >= 1) numRel++;
    if (rel > 0) gains.push(rel);
  }
  const idealGains = Float64Array.from(gains).sort().reverse();
  return { numRel, idealGains };
}

// log2(r + 1) for rank r = i + 1, cached: the hot loop divides by it.
let log2Table = new Float64Array(0);
function log2RankPlusOne(n: number): Float64Array {
  if (log2Table.length < n) {
    const t = new Float64Array(Math.max(n, 2 * log2Table.length, 1024));
    for (let i = 0; i < t.length; i++) t[i] = Math.log2(i + 2);
    log2Table = t;
  }
  return log2Table;
}

function dcg(gains: ArrayLike<number>, k: number): number {
  const n = Math.min(k, gains.length);
  const lg = log2RankPlusOne(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const g = gains[i];
    if (g > 0) sum += i === 0 ? g : g / lg[i];
  }
  return sum;
}

/**
 * One metric for one query. `rels[i]` is the qrel value of the doc at rank i + 1 (0 when unjudged);
 * it may be cut at the largest k in use, since no metric looks further (except uncut 'mrr').
 */
export function computeMetric(spec: MetricSpec, rels: ArrayLike<number>, judgements: Judgements): number {
  const n = Math.min(spec.k, rels.length);
  switch (spec.name) {
    case 'ndcg': {
      const ideal = dcg(judgements.idealGains, spec.k);
      return ideal > 0 ? dcg(rels, spec.k) / ideal : 0;
    }
    case 'recall':
    case 'p': {
      let hits = 0;
      for (let i = 0; i < n; i++) if (rels[i] >= 1) hits++;
      if (spec.name === 'p') return hits / spec.k;
      return judgements.numRel > 0 ? hits / judgements.numRel : 0;
    }
    case 'map': {
      if (judgements.numRel === 0) return 0;
      let found = 0;
      let sum = 0;
      for (let i = 0; i < n; i++) {
        if (rels[i] >= 1) {
          found++;
          sum += found / (i + 1);
        }
      }
      return sum / judgements.numRel;
    }
    case 'mrr': {
      for (let i = 0; i < n; i++) if (rels[i] >= 1) return 1 / (i + 1);
      return 0;
    }
  }
}
