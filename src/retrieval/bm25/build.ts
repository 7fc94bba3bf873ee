// Builds the BM25 inverted index from BEIR documents, analyzed as Anserini's BEIR "flat"
// collection indexes them: one field with title + " " + text (flatText), Lucene's EnglishAnalyzer.
import type { BeirDoc } from '../../data/types.ts';
import { flatText } from '../../data/types.ts';
import { ExpandrError, throwIfAborted } from '../../errors.ts';
import { throttledProgress, type WorkOptions } from '../../util/progress.ts';
import { ANALYZER_ID, forEachTerm } from '../analysis/english-analyzer.ts';
import { Bm25Index } from './inverted-index.ts';
import { paramsFrom, type Bm25Params } from './similarity.ts';

export interface BuildOptions extends WorkOptions, Partial<Bm25Params> {
  /** Number of documents if known, for progress (else progress total is 0). */
  totalDocs?: number;
}

/** Yield to the event loop this often so that an abort message can arrive (worker use). */
const YIELD_MS = 50;

/** Grows a Uint32Array by doubling. */
function grow(a: Uint32Array<ArrayBuffer>, need: number): Uint32Array<ArrayBuffer> {
  if (need <= a.length) return a;
  const b = new Uint32Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

/** Builds a BM25 index from documents, in batches (as the store yields them) or one by one. */
export async function buildBm25Index(
  docs: AsyncIterable<BeirDoc[]> | Iterable<BeirDoc>,
  opts: BuildOptions = {},
): Promise<Bm25Index> {
  const params = paramsFrom(opts);
  const report = throttledProgress(opts.onProgress);
  const total = opts.totalDocs ?? 0;
  const progress = (done: number) => ({ stage: 'bm25:index', done, total, unit: 'docs' });

  const termOrdinals = new Map<string, number>();
  const terms: string[] = [];
  const docIds: string[] = [];
  const seenIds = new Set<string>();
  let lengths = new Uint32Array(1024);
  // Postings as (term, doc, tf) triples in doc order; regrouped by term at the end.
  let pTerm = new Uint32Array(1 << 16);
  let pDoc = new Uint32Array(1 << 16);
  let pTf = new Uint32Array(1 << 16);
  let numPostings = 0;
  // Per-document term counts: tfScratch[term] for the terms listed in touched.
  let tfScratch = new Uint32Array(1024);
  let touched = new Uint32Array(256);
  let lastYield = Date.now();

  const addDoc = (doc: BeirDoc) => {
    if (seenIds.has(doc.id)) {
      throw new ExpandrError(`BM25 index: document id "${doc.id}" occurs twice; BEIR ids must be unique, fix the corpus.`);
    }
    seenIds.add(doc.id);
    const ord = docIds.length;
    docIds.push(doc.id);
    let nTouched = 0;
    let len = 0;
    forEachTerm(flatText(doc), (term) => {
      let t = termOrdinals.get(term);
      if (t === undefined) {
        t = terms.length;
        termOrdinals.set(term, t);
        terms.push(term);
        tfScratch = grow(tfScratch, t + 1);
      }
      if (tfScratch[t] === 0) {
        touched = grow(touched, nTouched + 1);
        touched[nTouched++] = t;
      }
      tfScratch[t]!++;
      len++;
    });
    const need = numPostings + nTouched;
    if (need > pTerm.length) {
      pTerm = grow(pTerm, need);
      pDoc = grow(pDoc, need);
      pTf = grow(pTf, need);
    }
    for (let i = 0; i < nTouched; i++) {
      const t = touched[i]!;
      pTerm[numPostings] = t;
      pDoc[numPostings] = ord;
      pTf[numPostings++] = tfScratch[t]!;
      tfScratch[t] = 0;
    }
    lengths = grow(lengths, ord + 1);
    lengths[ord] = len;
  };

  const afterDoc = async () => {
    report(progress(docIds.length));
    if (Date.now() - lastYield >= YIELD_MS) {
      await new Promise((r) => setTimeout(r, 0));
      lastYield = Date.now();
    }
    throwIfAborted(opts.signal, 'BM25 indexing');
  };

  throwIfAborted(opts.signal, 'BM25 indexing');
  if (Symbol.asyncIterator in docs) {
    for await (const batch of docs) {
      for (const doc of batch) {
        addDoc(doc);
        if ((docIds.length & 255) === 0) await afterDoc();
      }
      await afterDoc();
    }
  } else {
    for (const doc of docs) {
      addDoc(doc);
      if ((docIds.length & 255) === 0) await afterDoc();
    }
  }
  report(progress(docIds.length), true);

  const numDocs = docIds.length;
  const docLengths = lengths.slice(0, numDocs);
  let docCount = 0;
  let sumTotalTermFreq = 0;
  for (let d = 0; d < numDocs; d++) {
    if (docLengths[d]! > 0) docCount++;
    sumTotalTermFreq += docLengths[d]!;
  }
  return new Bm25Index({
    analyzer: ANALYZER_ID,
    params,
    docIds,
    terms,
    ...groupByTerm(terms.length, numPostings, pTerm, pDoc, pTf),
    docLengths,
    docCount,
    sumTotalTermFreq,
  });
}

/** Counting sort of the (term, doc, tf) triples by term; docs stay ascending within a term. */
function groupByTerm(numTerms: number, n: number, pTerm: Uint32Array, pDoc: Uint32Array, pTf: Uint32Array) {
  const postingStart = new Uint32Array(numTerms + 1);
  let maxTf = 0;
  for (let i = 0; i < n; i++) {
    postingStart[pTerm[i]! + 1]!++;
    if (pTf[i]! > maxTf) maxTf = pTf[i]!;
  }
  for (let t = 0; t < numTerms; t++) postingStart[t + 1]! += postingStart[t]!;
  const next = postingStart.slice(0, numTerms);
  const postingDocs = new Uint32Array(n);
  const postingTfs = maxTf < 65536 ? new Uint16Array(n) : new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const at = next[pTerm[i]!]!++;
    postingDocs[at] = pDoc[i]!;
    postingTfs[at] = pTf[i]!;
  }
  return { postingStart, postingDocs, postingTfs };
}
