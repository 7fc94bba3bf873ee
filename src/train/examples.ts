// Supervised training data from a BEIR train split: one example per query with a positive document,
// optional expansion text (Eq. 8) and BM25 hard-negative candidates, and a seeded, resumable stream of
// micro-batches over them.
//
// Every random draw is derived from (seed, position in the stream) with deriveSeed, not from a running
// generator: micro-batch i is the same whether the run started at 0 or resumed at i, so the RNG state a
// checkpoint needs is just the seed and the step.
import type { BeirDoc, BeirQuery, Qrels } from '../data/types.ts';
import { flatText } from '../data/types.ts';
import { ExpandrError, throwIfAborted } from '../errors.ts';
import { buildBm25Index, Bm25Searcher } from '../retrieval/bm25/index.ts';
import type { WorkOptions } from '../util/progress.ts';
import { throttledProgress } from '../util/progress.ts';
import { createRng, deriveSeed, shuffleInPlace } from '../util/random.ts';

export interface TrainExample {
  qid: string;
  query: string;
  /** Doc ids judged relevant (qrels score > 0) and present in the corpus, in qrels order. */
  positives: string[];
  /** Expansion text for Eq. 8; absent: the query stands for itself (q_exp = q). */
  expansion?: string;
  /** Hard-negative candidates (BM25 top-k minus positives), best first. */
  negatives?: string[];
}

export interface TrainData {
  examples: TrainExample[];
  /** doc id → text as encoded: title + " " + text (BEIR flat), in corpus order. */
  docs: Map<string, string>;
}

export interface BuildTrainDataOptions {
  /** Query id → expansion text. */
  expansions?: ReadonlyMap<string, string>;
}

/** Examples of one split in query-file order; `missingExpansions` counts examples left without one. */
export function buildTrainData(
  docs: readonly BeirDoc[],
  queries: Iterable<BeirQuery>,
  qrels: Qrels,
  opts: BuildTrainDataOptions = {},
): { data: TrainData; missingExpansions: number } {
  const texts = new Map(docs.map((d) => [d.id, flatText(d)]));
  const examples: TrainExample[] = [];
  let missingExpansions = 0;
  for (const q of queries) {
    const judged = qrels.get(q.id);
    if (!judged) continue;
    const positives = [...judged].filter(([id, rel]) => rel > 0 && texts.has(id)).map(([id]) => id);
    if (positives.length === 0) continue;
    const ex: TrainExample = { qid: q.id, query: q.text, positives };
    if (opts.expansions) {
      const e = opts.expansions.get(q.id);
      if (e === undefined) missingExpansions++;
      else ex.expansion = e;
    }
    examples.push(ex);
  }
  if (examples.length === 0) {
    throw new ExpandrError('No training examples: no query of the split has a relevant document (score > 0) in the corpus. Check the split name and qrels.');
  }
  return { data: { examples, docs: texts }, missingExpansions };
}

export interface MineOptions extends WorkOptions {
  /** BM25 hits per query to draw negatives from (tevatron-style top-k pools). */
  depth?: number;
}

/** Hard-negative pools from BM25 (Pyserini flat settings): the top `depth` hits minus positives and the query's own id. */
export async function mineBm25Negatives(data: TrainData, docs: readonly BeirDoc[], opts: MineOptions = {}): Promise<void> {
  const depth = opts.depth ?? 30;
  const index = await buildBm25Index(docs, { totalDocs: docs.length, onProgress: opts.onProgress, signal: opts.signal });
  const searcher = new Bm25Searcher(index);
  const report = throttledProgress(opts.onProgress);
  const total = data.examples.length;
  data.examples.forEach((ex, i) => {
    if (i % 64 === 0) throwIfAborted(opts.signal, 'Hard-negative mining');
    const pos = new Set(ex.positives);
    // depth + positives so that removing them still leaves about `depth` candidates.
    const hits = searcher.search(ex.query, Math.min(1000, depth + pos.size + 1));
    ex.negatives = hits
      .map((h) => h.docId)
      .filter((id) => !pos.has(id) && id !== ex.qid)
      .slice(0, depth);
    report({ stage: 'train:negatives', done: i + 1, total, unit: 'queries' });
  });
}

/** One micro-batch as texts: B queries, their expansions (if any), then B positives and B hard negatives. */
export interface TextBatch {
  qids: string[];
  queries: string[];
  /** Present when any example of the data has an expansion; rows without one repeat the query text. */
  expansions?: string[];
  /** [B positives, then B hard negatives when enabled]: the InfoNCE layout of infonce.ts. */
  docs: string[];
  /** The ids of `docs`, column by column: two queries that drew one document must know (falseNegativeMask). */
  docIds: string[];
  /** Each query's positives (all judged relevant), so that none of them counts as its negative. */
  positives: string[][];
}

export interface BatchStreamOptions {
  seed: number;
  batchSize: number;
  hardNegatives: boolean;
}

// Sub-streams of the seed, so that shuffles and per-row choices never share draws.
const SHUFFLE_STREAM = 1;
const CHOICE_STREAM = 2;

/**
 * The endless stream of micro-batches: epochs of seeded permutations of the examples laid end to end
 * (a batch may straddle two epochs). batch(i) is a pure function of (data, options, i).
 */
export class SupervisedBatches {
  private readonly ids: string[];
  private permEpoch = -1;
  private perm: number[] = [];
  private readonly withExpansions: boolean;

  constructor(
    readonly data: TrainData,
    readonly opts: BatchStreamOptions,
  ) {
    if (!(Number.isInteger(opts.batchSize) && opts.batchSize >= 1)) throw new RangeError(`batch size must be a positive integer, got ${opts.batchSize}`);
    this.ids = [...data.docs.keys()];
    this.withExpansions = data.examples.some((e) => e.expansion !== undefined);
  }

  /** Example order of one epoch: Fisher–Yates with the epoch's derived seed. */
  private permutation(epoch: number): number[] {
    if (epoch !== this.permEpoch) {
      const rng = createRng(deriveSeed(deriveSeed(this.opts.seed, SHUFFLE_STREAM), epoch));
      this.perm = shuffleInPlace([...this.data.examples.keys()], rng);
      this.permEpoch = epoch;
    }
    return this.perm;
  }

  batch(index: number): TextBatch {
    const { batchSize: B, hardNegatives } = this.opts;
    const n = this.data.examples.length;
    const out: TextBatch = { qids: [], queries: [], docs: [], docIds: [], positives: [], ...(this.withExpansions ? { expansions: [] } : {}) };
    const negatives: string[] = [];
    for (let r = 0; r < B; r++) {
      const p = index * B + r; // position in the stream
      const ex = this.data.examples[this.permutation(Math.floor(p / n))[p % n]];
      const rng = createRng(deriveSeed(deriveSeed(this.opts.seed, CHOICE_STREAM), p));
      out.qids.push(ex.qid);
      out.queries.push(ex.query);
      out.expansions?.push(ex.expansion ?? ex.query);
      const positive = ex.positives[rng.int(ex.positives.length)];
      out.docs.push(this.text(positive));
      out.docIds.push(positive);
      out.positives.push(ex.positives);
      if (hardNegatives) {
        const pool = ex.negatives ?? [];
        // Without mined candidates: any document that is not a positive (a random negative).
        let id = pool.length ? pool[rng.int(pool.length)] : this.ids[rng.int(this.ids.length)];
        for (let tries = 0; !pool.length && ex.positives.includes(id) && tries < 8; tries++) id = this.ids[rng.int(this.ids.length)];
        negatives.push(id);
      }
    }
    out.docs.push(...negatives.map((id) => this.text(id)));
    out.docIds.push(...negatives);
    return out;
  }

  private text(id: string): string {
    const t = this.data.docs.get(id);
    if (t === undefined) throw new ExpandrError(`Training data: document "${id}" is not in the corpus.`);
    return t;
  }
}
