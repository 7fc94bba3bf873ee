// Evaluate a run against qrels the way BEIR does it: pytrec_eval (trec_eval 9) per query, then the plain
// mean over the queries pytrec_eval returns.
//
// Which queries count (checked against pytrec_eval-terrier 0.5.11, see tests/reference/gen/eval_fixtures.py):
//  - a query in the run and in the qrels counts, even when its hit list is empty (all metrics 0) and
//    even when all its qrels are 0 (nothing relevant: every metric 0);
//  - a query in the run but not in the qrels is skipped (also one whose qrels map is empty);
//  - a query in the qrels but missing from the run is skipped (unlike `trec_eval -c`), so a retriever
//    that returns nothing for a query must still put the query in the run, with [].
// BEIR's ignore_identical_ids (default on) drops hits whose doc id equals the query id before all this.
//
// MRR@k is not a trec_eval measure. Ours is recip_rank on the run cut at k, averaged over the same
// queries as the other metrics. BEIR's own MRR@k (custom_metrics.mrr) gives the same per-query values
// but breaks score ties by insertion order instead of doc id, and divides the sum by the number of
// queries in the qrels (not those evaluated); the two means agree when every qrels query is in the run.

import { MetricError, RunFormatError } from '../errors.ts';
import type { Qrels } from '../data/types.ts';
import { computeMetric, judgements, parseMetric, type MetricSpec } from './measures.ts';
import { trecOrder } from './ranking.ts';
import type { Run } from './types.ts';

/** The metrics the app reports; these keys are fixed for scripts (DESIGN §1, §5). */
export const STANDARD_METRICS = ['ndcg@10', 'recall@100', 'mrr@10', 'map@100'] as const;

/** The standard ones plus extras worth a column in results tables. */
export const EXTENDED_METRICS = [...STANDARD_METRICS, 'ndcg@100', 'recall@10', 'recall@1000', 'p@10'] as const;

export interface EvaluateOptions {
  /** Metric keys such as 'ndcg@10', 'recall@100', 'mrr@10', 'map@100', 'p@10', 'mrr'. Default STANDARD_METRICS. */
  metrics?: readonly string[];
  /** BEIR's ignore_identical_ids: drop hits whose doc id equals the query id. Default true. */
  ignoreIdenticalIds?: boolean;
  /** Name used in error messages, e.g. a run file name. Default 'run'. */
  source?: string;
}

export interface EvalResult {
  /** Mean over the evaluated queries, by canonical key ('NDCG@10' → 'ndcg@10'); NaN when no query was evaluated. */
  mean: Record<string, number>;
  /** Per evaluated query (run ∩ qrels, in run order). */
  perQuery: Map<string, Record<string, number>>;
  /** Number of evaluated queries: the denominator of every mean. */
  queries: number;
}

/** Parses and de-duplicates metric keys; throws MetricError on an unknown one. */
export function parseMetrics(keys: readonly string[]): MetricSpec[] {
  const specs: MetricSpec[] = [];
  for (const key of keys) {
    const spec = parseMetric(key);
    if (!specs.some((s) => s.key === spec.key)) specs.push(spec);
  }
  if (specs.length === 0) throw new MetricError('No metric requested: pass e.g. ["ndcg@10"].');
  return specs;
}

/**
 * Scores `run` against `qrels`. Throws RunFormatError on a NaN score or a doc id listed twice for a query.
 * Speed: only the top `depth` (largest cutoff) hits are read after the order check, and only they are
 * checked for duplicates — a duplicate deeper than every cutoff cannot change any value (trec_eval would
 * still refuse the run; RunParser refuses every duplicate in a file).
 */
export function evaluate(qrels: Qrels, run: Run, options: EvaluateOptions = {}): EvalResult {
  const specs = parseMetrics(options.metrics ?? STANDARD_METRICS);
  const ignoreIdentical = options.ignoreIdenticalIds ?? true;
  const source = options.source ?? 'run';
  // No metric reads past the largest cutoff (uncut 'mrr' reads to the end).
  const depth = Math.max(...specs.map((s) => s.k));

  const sums = new Float64Array(specs.length);
  const perQuery = new Map<string, Record<string, number>>();
  const seen = new Map<string, number>(); // docId → stamp of the last query that listed it
  let rels = new Float64Array(Math.min(depth, 1024));
  let stamp = 0;

  for (const [qid, rawHits] of run) {
    const qrel = qrels.get(qid);
    if (qrel === undefined || qrel.size === 0) continue;
    const ordered = trecOrder(qid, rawHits, source);

    // Relevance of the top `depth` docs, skipping the query's own id (BEIR), refusing duplicates.
    const want = Math.min(depth, ordered.length);
    if (rels.length < want) rels = new Float64Array(Math.max(want, 2 * rels.length));
    const queryStamp = ++stamp;
    let n = 0;
    for (let i = 0; i < ordered.length && n < depth; i++) {
      const docId = ordered[i].docId;
      if (ignoreIdentical && docId === qid) continue;
      if (seen.get(docId) === queryStamp) {
        throw new RunFormatError(source, null, `query "${qid}" lists doc "${docId}" more than once`, 'Keep one hit per doc id (trec_eval refuses duplicates too)');
      }
      seen.set(docId, queryStamp);
      rels[n++] = qrel.get(docId) ?? 0;
    }
    const top = rels.subarray(0, n);

    const j = judgements(qrel);
    const values: Record<string, number> = {};
    for (let m = 0; m < specs.length; m++) {
      const v = computeMetric(specs[m], top, j);
      values[specs[m].key] = v;
      sums[m] += v;
    }
    perQuery.set(qid, values);
  }

  const queries = perQuery.size;
  const mean: Record<string, number> = {};
  specs.forEach((s, m) => (mean[s.key] = queries > 0 ? sums[m] / queries : NaN));
  return { mean, perQuery, queries };
}
