// BM25 search as Pyserini runs BEIR: Anserini's bag-of-words query (each distinct analyzed query
// term once, boosted by its count; BagOfWordsQueryGenerator), term-at-a-time accumulation, exact
// top-k. Scores equal Lucene 9's float32 scores (see similarity.ts).
import type { BeirQuery } from '../../data/types.ts';
import type { Hit, Run } from '../../eval/types.ts';
import { ExpandrError, throwIfAborted } from '../../errors.ts';
import { throttledProgress, type WorkOptions } from '../../util/progress.ts';
import { forEachTerm } from '../analysis/english-analyzer.ts';
import { idRanks, TopK } from '../top-k.ts';
import type { Bm25Index } from './inverted-index.ts';
import { avgFieldLength, docNormInverses, idf, paramsFrom, termWeight, type Bm25Params } from './similarity.ts';

/** Most hits per query: Pyserini's BEIR runs keep 1000, and so does evaluation. */
export const MAX_K = 1000;

/** k1, b, docLength override the index's stored parameters (a sweep needs no rebuild). */
export interface SearchOptions extends WorkOptions, Partial<Bm25Params> {
  /** Hits per query, 1..MAX_K (default MAX_K). */
  k?: number;
}

const YIELD_MS = 50;

function checkK(k: number): number {
  if (!Number.isInteger(k) || k < 1 || k > MAX_K) {
    throw new ExpandrError(`BM25 search: k must be an integer from 1 to ${MAX_K}, got ${k}.`);
  }
  return k;
}

/** Bag of words: distinct analyzed terms with their counts (Anserini's boosts). */
export function queryTerms(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  forEachTerm(text, (t) => counts.set(t, (counts.get(t) ?? 0) + 1));
  return counts;
}

/** Reusable search state over one index: per-document norms and score accumulators. */
export class Bm25Searcher {
  readonly params: Bm25Params;
  private readonly normInv: Float32Array; // [numDocs] 1 / (k1 (1 - b + b dl/avgdl)), float32
  private readonly acc: Float64Array; // [numDocs] score sums of the current query
  private readonly seen: Uint8Array; // [numDocs] 1 when acc holds a sum
  private readonly touched: Int32Array; // doc ordinals with seen = 1
  private readonly rank: Uint32Array; // [numDocs] rank of the doc id in string order (tie-break)
  private top: TopK | null = null; // reused while k stays the same

  constructor(
    readonly index: Bm25Index,
    params: Partial<Bm25Params> = {},
  ) {
    this.params = paramsFrom(params, index.params);
    const n = index.docIds.length;
    const avgdl = avgFieldLength(index.sumTotalTermFreq, index.docCount);
    this.normInv = docNormInverses(index.docLengths, this.params, avgdl);
    this.acc = new Float64Array(n);
    this.seen = new Uint8Array(n);
    this.touched = new Int32Array(n);
    this.rank = idRanks(index.docIds);
  }

  /** Top-k hits for a query text, best first (score desc, then doc id desc). */
  search(text: string, k: number = MAX_K): Hit[] {
    return this.searchWeighted(queryTerms(text), k);
  }

  /** Top-k hits for weighted terms (term → boost ≥ 0), e.g. for expanded queries. */
  searchWeighted(weights: ReadonlyMap<string, number>, k: number = MAX_K): Hit[] {
    checkK(k);
    const { index, normInv, acc, seen, touched } = this;
    const { postingStart, postingDocs, postingTfs, termOrdinals, docCount } = index;
    const fround = Math.fround;
    let nTouched = 0;
    for (const [term, boost] of weights) {
      const t = termOrdinals.get(term);
      if (t === undefined) continue;
      const start = postingStart[t]!;
      const end = postingStart[t + 1]!;
      const w = termWeight(boost, idf(end - start, docCount));
      for (let i = start; i < end; i++) {
        const d = postingDocs[i]!;
        if (seen[d] === 0) {
          seen[d] = 1;
          touched[nTouched++] = d;
        }
        // termScore(w, tf, normInv[d]) inlined: this loop is the hot path.
        acc[d] += fround(w - fround(w / fround(1 + fround(postingTfs[i]! * normInv[d]!))));
      }
    }
    if (this.top?.k !== k) this.top = new TopK(k, this.rank);
    const top = this.top;
    for (let i = 0; i < nTouched; i++) {
      const d = touched[i]!;
      const score = fround(acc[d]!); // Lucene sums in double, returns float
      if (score >= top.threshold) top.push(d, score);
      acc[d] = 0;
      seen[d] = 0;
    }
    const hits: Hit[] = [];
    top.drain((ord, score) => hits.push({ docId: index.docIds[ord]!, score }));
    return hits;
  }
}

/**
 * Runs BM25 for every query: a Run of the top `k` hits per query id (hits best first).
 * Progress: stage 'bm25:search' in queries. Cancellable between queries.
 */
export async function searchBm25(index: Bm25Index, queries: readonly BeirQuery[], opts: SearchOptions = {}): Promise<Run> {
  const k = checkK(opts.k ?? MAX_K);
  const searcher = new Bm25Searcher(index, opts);
  const report = throttledProgress(opts.onProgress);
  const run: Run = new Map();
  let lastYield = Date.now();
  for (let i = 0; i < queries.length; i++) {
    throwIfAborted(opts.signal, 'BM25 search');
    const q = queries[i]!;
    run.set(q.id, searcher.search(q.text, k));
    report({ stage: 'bm25:search', done: i + 1, total: queries.length, unit: 'queries' });
    if (Date.now() - lastYield >= YIELD_MS) {
      await new Promise((r) => setTimeout(r, 0));
      lastYield = Date.now();
    }
  }
  if (queries.length === 0) report({ stage: 'bm25:search', done: 0, total: 0, unit: 'queries' }, true);
  throwIfAborted(opts.signal, 'BM25 search');
  return run;
}
