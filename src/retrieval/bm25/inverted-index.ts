// The BM25 inverted index: compact typed arrays in CSR layout, and its stored form.
//
// Postings of term ordinal t:
//   postingDocs[postingStart[t] .. postingStart[t+1])  document ordinals, ascending
//   postingTfs [postingStart[t] .. postingStart[t+1])  term frequency in that document
// Statistics follow Lucene's CollectionStatistics: docCount counts documents with ≥ 1 term.
//
// The stored form (toStored/fromStored) is plain and structured-cloneable (typed arrays + string
// arrays) for IndexedDB or postMessage. It carries a format version, the analyzer and the
// parameters, so that a stale index is refused instead of silently scoring with other terms.
import { NotFoundError } from '../../errors.ts';
import { ANALYZER_ID } from '../analysis/english-analyzer.ts';
import { bm25Params, type Bm25Params } from './similarity.ts';

/** Bump when the stored layout or the analyzer's output changes. */
export const FORMAT_VERSION = 1;
const FORMAT = 'expandr-bm25';

/** The index's data, as stored. */
export interface Bm25IndexData {
  /** Analyzer the terms came from (ANALYZER_ID). */
  analyzer: string;
  /** Default scoring parameters (search may override them). */
  params: Bm25Params;
  /** ordinal → BEIR document id; [numDocs] */
  docIds: string[];
  /** term ordinal → term, in first-seen order; [numTerms] */
  terms: string[];
  /** [numTerms + 1] offsets into postingDocs / postingTfs */
  postingStart: Uint32Array;
  /** [numPostings] document ordinals */
  postingDocs: Uint32Array;
  /** [numPostings] term frequencies (Uint16Array unless some tf ≥ 65536) */
  postingTfs: Uint16Array | Uint32Array;
  /** [numDocs] number of indexed terms per document (stop words excluded) */
  docLengths: Uint32Array;
  /** Documents with at least one term (Lucene's docCount, the N of idf). */
  docCount: number;
  /** Sum of all document lengths. */
  sumTotalTermFreq: number;
}

export interface StoredBm25Index extends Bm25IndexData {
  format: typeof FORMAT;
  version: number;
}

export class Bm25Index implements Bm25IndexData {
  readonly analyzer: string;
  readonly params: Bm25Params;
  readonly docIds: string[];
  readonly terms: string[];
  readonly postingStart: Uint32Array;
  readonly postingDocs: Uint32Array;
  readonly postingTfs: Uint16Array | Uint32Array;
  readonly docLengths: Uint32Array;
  readonly docCount: number;
  readonly sumTotalTermFreq: number;
  /** term → ordinal, derived from `terms` (not stored). */
  readonly termOrdinals: Map<string, number>;

  constructor(data: Bm25IndexData) {
    this.analyzer = data.analyzer;
    this.params = bm25Params(data.params);
    this.docIds = data.docIds;
    this.terms = data.terms;
    this.postingStart = data.postingStart;
    this.postingDocs = data.postingDocs;
    this.postingTfs = data.postingTfs;
    this.docLengths = data.docLengths;
    this.docCount = data.docCount;
    this.sumTotalTermFreq = data.sumTotalTermFreq;
    this.termOrdinals = new Map();
    for (let t = 0; t < this.terms.length; t++) this.termOrdinals.set(this.terms[t]!, t);
  }

  get numDocs(): number {
    return this.docIds.length;
  }

  /** Number of documents that contain the term (0 if absent). */
  docFreq(term: string): number {
    const t = this.termOrdinals.get(term);
    return t === undefined ? 0 : this.postingStart[t + 1]! - this.postingStart[t]!;
  }

  /** Plain form that shares this index's arrays (no copy); structured cloning copies them. */
  toStored(): StoredBm25Index {
    return {
      format: FORMAT,
      version: FORMAT_VERSION,
      analyzer: this.analyzer,
      params: { ...this.params },
      docIds: this.docIds,
      terms: this.terms,
      postingStart: this.postingStart,
      postingDocs: this.postingDocs,
      postingTfs: this.postingTfs,
      docLengths: this.docLengths,
      docCount: this.docCount,
      sumTotalTermFreq: this.sumTotalTermFreq,
    };
  }

  /** Checks a stored index and rebuilds the term lookup; NotFoundError when it is unusable. */
  static fromStored(stored: StoredBm25Index): Bm25Index {
    const stale = (why: string) =>
      new NotFoundError(`Stored BM25 index is unusable: ${why}. Delete it and build the BM25 index again.`);
    if (stored?.format !== FORMAT) throw stale('not a BM25 index');
    if (stored.version !== FORMAT_VERSION) throw stale(`format version ${stored.version}, this app reads ${FORMAT_VERSION}`);
    if (stored.analyzer !== ANALYZER_ID) throw stale(`built with analyzer "${stored.analyzer}", this app uses "${ANALYZER_ID}"`);
    const numTerms = stored.terms.length;
    if (
      !(stored.postingStart instanceof Uint32Array) ||
      !(stored.postingDocs instanceof Uint32Array) ||
      !(stored.docLengths instanceof Uint32Array) ||
      stored.postingStart.length !== numTerms + 1 ||
      stored.postingDocs.length !== stored.postingStart[numTerms] ||
      stored.postingTfs.length !== stored.postingDocs.length ||
      stored.docLengths.length !== stored.docIds.length
    ) {
      throw stale('its arrays do not fit together (truncated or corrupted)');
    }
    return new Bm25Index(stored);
  }
}
