// BM25 evaluation of one split, shared by the page (through the worker) and the runner:
// build or reuse the index, retrieve top-k for the split's queries, score with trec_eval semantics.
import type { BeirDoc, BeirQuery, Qrels } from '../../data/types.ts';
import type { Run } from '../../eval/types.ts';
import { splitQueries } from '../../data/qrels.ts';
import type { WorkOptions } from '../../util/progress.ts';
import { NotFoundError, throwIfAborted } from '../../errors.ts';
import { Bm25Index, buildBm25Index, searchBm25, type StoredBm25Index } from './index.ts';
import { evaluate, STANDARD_METRICS } from '../../eval/metrics.ts';
import { writeTrecRun } from '../../eval/trec-run.ts';
import type { Store } from '../../store/store.ts';

/** Pyserini's BEIR "flat" BM25 settings (FACTS.md). */
export const BM25_DEFAULTS = { k1: 0.9, b: 0.4, k: 1000 } as const;
export type Bm25Params = { k1: number; b: number; k: number };

export interface QueryResult {
  qid: string;
  text: string;
  metrics: Record<string, number>;
}

export interface Bm25EvalResult {
  datasetId: string;
  datasetName: string;
  split: string;
  /** Queries evaluated: those of the split with qrels (as BEIR loads a split). */
  queries: number;
  metrics: Record<string, number>;
  perQuery: QueryResult[];
  params: Bm25Params;
  timings: { indexMs: number; searchMs: number; evalMs: number; indexReused: boolean };
}

/** Retrieval + evaluation once the index exists. Pure, no storage: the runner calls it directly. */
export async function searchAndEvaluate(
  index: Bm25Index,
  queries: BeirQuery[],
  qrels: Qrels,
  params: Bm25Params,
  work: WorkOptions = {},
): Promise<{ run: Run; metrics: Record<string, number>; perQuery: QueryResult[]; searchMs: number; evalMs: number }> {
  const t0 = performance.now();
  const run = await searchBm25(index, queries, { k: params.k, k1: params.k1, b: params.b, ...work });
  const t1 = performance.now();
  throwIfAborted(work.signal);
  const ev = evaluate(qrels, run, { metrics: STANDARD_METRICS });
  const text = new Map(queries.map((q) => [q.id, q.text]));
  const perQuery = [...ev.perQuery].map(([qid, metrics]) => ({ qid, text: text.get(qid) ?? '', metrics }));
  return { run, metrics: ev.mean, perQuery, searchMs: t1 - t0, evalMs: performance.now() - t1 };
}

/** Builds an index from any source of documents (store batches or an in-memory array). */
export async function buildIndex(
  docs: AsyncIterable<BeirDoc[]> | Iterable<BeirDoc>,
  totalDocs: number,
  params: Bm25Params,
  work: WorkOptions = {},
): Promise<{ index: Bm25Index; ms: number }> {
  const t0 = performance.now();
  const index = await buildBm25Index(docs, { k1: params.k1, b: params.b, totalDocs, ...work });
  return { index, ms: performance.now() - t0 };
}

// The index holds term statistics only; k1 and b apply at search time, so one index serves every setting.
const INDEX_KEY = 'bm25-index';
const runKey = (split: string) => `run:bm25:${split}`;

/** The page's path: index from the store (built once, persisted, reused), run stored for download. */
export async function runBm25Eval(
  store: Store,
  datasetId: string,
  split: string,
  opts: WorkOptions & Partial<Bm25Params> = {},
): Promise<Bm25EvalResult> {
  const params: Bm25Params = { k1: opts.k1 ?? BM25_DEFAULTS.k1, b: opts.b ?? BM25_DEFAULTS.b, k: opts.k ?? BM25_DEFAULTS.k };
  const work: WorkOptions = { onProgress: opts.onProgress, signal: opts.signal };
  const info = await store.getDataset(datasetId);
  if (!info) throw new NotFoundError(`Dataset ${datasetId} is not stored (deleted in another tab?). Import it again.`);
  if (!info.splits[split]) {
    throw new NotFoundError(`Dataset “${info.name}” has no split “${split}”; it has ${Object.keys(info.splits).join(', ')}.`);
  }

  let index: Bm25Index | undefined;
  let indexMs = 0;
  const stored = await store.getArtifact<StoredBm25Index>(datasetId, INDEX_KEY);
  if (stored) {
    try {
      index = Bm25Index.fromStored(stored);
    } catch {
      index = undefined; // an index from an older format: rebuild below
    }
  }
  const indexReused = !!index;
  if (!index) {
    const built = await buildIndex(store.iterateDocs(datasetId, 2000), info.counts.docs, params, work);
    index = built.index;
    indexMs = built.ms;
    await store.putArtifact(datasetId, INDEX_KEY, index.toStored());
  }

  const qrels = await store.getQrels(datasetId, split);
  const queries = splitQueries(await store.getQueries(datasetId), qrels);
  const r = await searchAndEvaluate(index, queries, qrels, params, work);
  await store.putArtifact(datasetId, runKey(split), r.run);
  return {
    datasetId,
    datasetName: info.name,
    split,
    queries: r.perQuery.length,
    metrics: r.metrics,
    perQuery: r.perQuery,
    params,
    timings: { indexMs, searchMs: r.searchMs, evalMs: r.evalMs, indexReused },
  };
}

/** The stored run of the last BM25 evaluation of a split, as a TREC run file. */
export async function storedRunFile(store: Store, datasetId: string, split: string): Promise<string | null> {
  const run = await store.getArtifact<Run>(datasetId, runKey(split));
  return run ? writeTrecRun(run, 'expandr-bm25') : null;
}

/**
 * Per-query metrics of the last BM25 evaluation of a split (its stored run scored against the split's
 * qrels again), for the significance marks of dense rows; null when BM25 has not been evaluated on it.
 */
export async function storedBm25PerQuery(store: Store, datasetId: string, split: string): Promise<Map<string, Record<string, number>> | null> {
  const run = await store.getArtifact<Run>(datasetId, runKey(split));
  if (!run) return null;
  const qrels = await store.getQrels(datasetId, split);
  return evaluate(qrels, run, { metrics: STANDARD_METRICS }).perQuery;
}
