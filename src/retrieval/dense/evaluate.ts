// Dense evaluation of one split, shared by the page (through the worker) and the runner: encode the
// corpus once into a chunk store (reused while model, corpus and settings are unchanged), encode the
// split's queries (plain, or expanded by Eq. 8), exact top-k, trec_eval metrics. Mirrors bm25-eval.ts.
import type { Encoder } from '../../encoder/types.ts';
import type { BeirQuery, Qrels } from '../../data/types.ts';
import type { Run } from '../../eval/types.ts';
import type { WorkOptions } from '../../util/progress.ts';
import { NotFoundError, throwIfAborted } from '../../errors.ts';
import { evaluate, STANDARD_METRICS } from '../../eval/metrics.ts';
import { writeTrecRun } from '../../eval/trec-run.ts';
import type { Store } from '../../store/store.ts';
import { DEFAULT_CHUNK_SIZE, embeddingCacheKey, type ChunkStore } from './chunk-store.ts';
import { encodeCorpus, type DocSource } from './encode-corpus.ts';
import { denseCorpusFromStore, searchDense, MAX_K } from './search.ts';
import { combineExpanded, defaultExpansionNorm, normalizeRows, type ExpansionNorm } from './expanded-query.ts';
import { StoreChunkStore } from './store-chunks.ts';
import { precisionStore } from './precision-store.ts';
import type { EmbeddingPrecision } from './precision.ts';
import { splitQueries } from '../../data/qrels.ts';
import type { QueryResult } from '../bm25/evaluate.ts';

export interface DenseEvalOptions extends WorkOptions {
  /** modelHash() of the encoder's files: part of the embedding cache key. */
  modelHash: string;
  /** Hits per query (default 1000). */
  k?: number;
  /** Query id → expansion text (Eq. 8); queries without one are scored plain. */
  expansions?: Map<string, string>;
  /** Eq. 8 variant; default from the encoder (defaultExpansionNorm). */
  expansionNorm?: ExpansionNorm;
  /**
   * Score plain queries by cosine whatever the encoder's similarity: the pipeline's tables score every dense
   * row like the Eq. 8 'contriever' rows (issue 14.2). Stored corpus embeddings are unchanged (documents are
   * normalised at search time).
   */
  cosine?: boolean;
  /** Texts per encoder batch. */
  batchSize?: number;
  chunkSize?: number;
  /** runDenseEval: store the corpus embeddings at this precision (precision.ts; default f32). */
  precision?: EmbeddingPrecision;
  /** Complete float32 embeddings to pack into a lower-precision sink instead of encoding (encodeCorpus). */
  quantizeFrom?: ChunkStore;
}

export interface DenseEvalCore {
  run: Run;
  metrics: Record<string, number>;
  perQuery: QueryResult[];
  params: { k: number; expansionNorm: ExpansionNorm | null; expanded: number; normalizeDocs: boolean; dim: number };
  timings: { encodeMs: number; queryMs: number; searchMs: number; evalMs: number; cacheHit: boolean; encodedDocs: number };
}

export interface DenseEvalResult extends Omit<DenseEvalCore, 'run'> {
  datasetId: string;
  datasetName: string;
  split: string;
  queries: number;
}

/** How vectors are scored: plain queries follow the encoder's similarity; Eq. 8 'contriever' normalises everything. */
export function scoring(settings: Encoder['settings'], expanded: boolean, norm: ExpansionNorm) {
  const cosine = settings.similarity === 'cosine';
  return { normalizeQueries: cosine, normalizeDocs: cosine || (expanded && norm === 'contriever') };
}

/** Query vectors [queries.length × dim] as they are scored: plain or expanded by Eq. 8. */
export async function encodeQueryVectors(
  encoder: Encoder,
  queries: BeirQuery[],
  opts: WorkOptions & { expansions?: Map<string, string>; expansionNorm: ExpansionNorm; batchSize?: number },
): Promise<{ vectors: Float32Array; expanded: number }> {
  const { expansions, expansionNorm, batchSize, signal, onProgress } = opts;
  const q = await encoder.encode(queries.map((x) => x.text), 'query', { batchSize, signal, onProgress: relabel(onProgress, 'dense:queries', 'queries') });
  const { normalizeQueries } = scoring(encoder.settings, !!expansions, expansionNorm);
  if (!expansions) return { vectors: normalizeQueries ? normalizeRows(q, encoder.dim) : q, expanded: 0 };
  const has = queries.map((x) => expansions.has(x.id));
  const withE = queries.filter((_, i) => has[i]);
  // Expansions go through the query side of the encoder (prefix included): q_exp is a query vector.
  const eSome = await encoder.encode(withE.map((x) => expansions.get(x.id)!), 'query', { batchSize, signal, onProgress: relabel(onProgress, 'dense:expansions', 'expansions') });
  const e = new Float32Array(q.length);
  for (let i = 0, j = 0; i < queries.length; i++) if (has[i]) e.set(eSome.subarray(j * encoder.dim, (j++ + 1) * encoder.dim), i * encoder.dim);
  // Not renormalised (Eq. 8 as the reference code does it); for ranking a query's scale is irrelevant anyway.
  return { vectors: combineExpanded(q, e, encoder.dim, expansionNorm, has), expanded: withE.length };
}

/** The encoder's progress (texts) as this stage's, counted in what the texts are (queries/s while evaluating). */
function relabel(fn: WorkOptions['onProgress'], stage: string, unit: string): WorkOptions['onProgress'] {
  return fn && ((p) => fn({ ...p, stage, unit, text: undefined }));
}

/** Encode (or reuse) the corpus in `sink`, then search and evaluate `queries`. No dataset storage: the runner calls it directly. */
export async function denseEvaluate(
  encoder: Encoder,
  docs: DocSource,
  sink: ChunkStore,
  queries: BeirQuery[],
  qrels: Qrels,
  opts: DenseEvalOptions & { corpusChecksum: string; totalDocs?: number },
): Promise<DenseEvalCore> {
  const k = opts.k ?? MAX_K;
  const work: WorkOptions = { onProgress: opts.onProgress, signal: opts.signal };
  const norm = opts.expansionNorm ?? defaultExpansionNorm(encoder.settings);
  const t0 = performance.now();
  const enc = await encodeCorpus(encoder, docs, sink, {
    modelHash: opts.modelHash,
    corpusChecksum: opts.corpusChecksum,
    chunkSize: opts.chunkSize,
    batchSize: opts.batchSize,
    totalDocs: opts.totalDocs,
    quantizeFrom: opts.quantizeFrom,
    ...work,
  });
  const t1 = performance.now();
  const q = await encodeQueryVectors(encoder, queries, { ...work, expansions: opts.expansions, expansionNorm: norm, batchSize: opts.batchSize });
  const { expanded } = q;
  const t2 = performance.now();
  const cosine = opts.cosine === true && !opts.expansions;
  const { normalizeDocs } = scoring(cosine ? { ...encoder.settings, similarity: 'cosine' } : encoder.settings, !!opts.expansions, norm);
  const vectors = cosine ? normalizeRows(q.vectors, encoder.dim) : q.vectors;
  const corpus = await denseCorpusFromStore(sink);
  const run = await searchDense(corpus, queries.map((x) => x.id), vectors, { k, normalizeDocs, ...work });
  const t3 = performance.now();
  throwIfAborted(opts.signal);
  const ev = evaluate(qrels, run, { metrics: STANDARD_METRICS });
  const text = new Map(queries.map((x) => [x.id, x.text]));
  const perQuery = [...ev.perQuery].map(([qid, metrics]) => ({ qid, text: text.get(qid) ?? '', metrics }));
  return {
    run,
    metrics: ev.mean,
    perQuery,
    params: { k, expansionNorm: opts.expansions ? norm : null, expanded, normalizeDocs, dim: encoder.dim },
    timings: { encodeMs: t1 - t0, queryMs: t2 - t1, searchMs: t3 - t2, evalMs: performance.now() - t3, cacheHit: enc.encodedDocs === 0, encodedDocs: enc.encodedDocs },
  };
}

const runKey = (split: string) => `run:dense:${split}`;

/** The page's path: corpus embeddings in the dataset's artifacts (encoded once per model, resumable), run stored for download. */
export async function runDenseEval(store: Store, datasetId: string, split: string, encoder: Encoder, opts: DenseEvalOptions): Promise<DenseEvalResult> {
  const info = await store.getDataset(datasetId);
  if (!info) throw new NotFoundError(`Dataset ${datasetId} is not stored (deleted in another tab?). Import it again.`);
  if (!info.splits[split]) throw new NotFoundError(`Dataset “${info.name}” has no split “${split}”; it has ${Object.keys(info.splits).join(', ')}.`);
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const identity = { modelHash: opts.modelHash, corpusChecksum: info.checksum, settings: encoder.settings, chunkSize };
  const precision = opts.precision ?? 'f32';
  const f32 = new StoreChunkStore(store, datasetId, embeddingCacheKey(identity));
  const sink = precision === 'f32' ? f32 : precisionStore(new StoreChunkStore(store, datasetId, embeddingCacheKey({ ...identity, precision })), precision);
  const qrels = await store.getQrels(datasetId, split);
  const queries = splitQueries(await store.getQueries(datasetId), qrels);
  const r = await denseEvaluate(encoder, () => store.iterateDocs(datasetId, 1000), sink, queries, qrels, {
    ...opts,
    chunkSize,
    corpusChecksum: info.checksum,
    totalDocs: info.counts.docs,
    quantizeFrom: precision === 'f32' ? undefined : f32,
  });
  await store.putArtifact(datasetId, runKey(split), r.run);
  const { run: _run, ...rest } = r;
  return { datasetId, datasetName: info.name, split, queries: r.perQuery.length, ...rest };
}

/** The stored run of the last dense evaluation of a split, as a TREC run file. */
export async function storedDenseRunFile(store: Store, datasetId: string, split: string): Promise<string | null> {
  const run = await store.getArtifact<Run>(datasetId, runKey(split));
  return run ? writeTrecRun(run, 'expandr-dense') : null;
}
