// BM25 scores: hand-computed values, a slow obvious oracle, top-k against a full sort, norms.
import { describe, expect, it } from 'vitest';
import type { BeirDoc } from '../../src/data/types.ts';
import { analyzeEnglish } from '../../src/retrieval/analysis/english-analyzer.ts';
import { buildBm25Index, Bm25Searcher, searchBm25 } from '../../src/retrieval/bm25/index.ts';
import { byte4ToInt, intToByte4 } from '../../src/retrieval/bm25/small-float.ts';

/** float32 scores against double-precision textbook arithmetic. */
const FLOAT32_RTOL = 1e-6;
const SEED = 12345;

const doc = (id: string, text: string): BeirDoc => ({ id, title: '', text });
const relErr = (got: number, want: number) => Math.abs(got - want) / Math.abs(want);

describe("Lucene's norm encoding (SmallFloat.intToByte4)", () => {
  it('stores lengths below 24 exactly', () => {
    for (let n = 0; n < 24; n++) expect(byte4ToInt(intToByte4(n))).toBe(n);
  });

  it('rounds longer lengths down to 4 significant bits (by hand: 100 → byte 57 → 96)', () => {
    // 100 - 24 = 76 = 0b1001100: keep 0b1001 (shift 3) → 0b001 | (3 + 1) << 3 = 33; + 24 = 57
    expect(intToByte4(100)).toBe(57);
    expect(byte4ToInt(57)).toBe(96); // 24 + 0b1001 << 3
    const outside: number[] = [];
    for (let n = 24; n < 100_000; n++) {
      const decoded = byte4ToInt(intToByte4(n));
      if (decoded > n || decoded < 0.875 * n) outside.push(n);
    }
    expect(outside).toEqual([]);
  });

  it('is monotonic and every byte value decodes to a length that encodes back to it', () => {
    const bytes = Array.from({ length: 256 }, (_, b) => b);
    expect(bytes.map((b) => intToByte4(byte4ToInt(b)))).toEqual(bytes);
    let monotonic = true;
    for (let n = 1; n < 100_000; n++) monotonic &&= intToByte4(n) >= intToByte4(n - 1);
    expect(monotonic).toBe(true);
    expect(intToByte4(0x7fffffff)).toBe(255);
  });
});

describe('BM25 (k1 0.9, b 0.4) on a 3-document corpus, by hand', () => {
  // d1 "cat dog" (dl 2), d2 "cat cat fish" (dl 3), d3 "bird" (dl 1): N 3, avgdl 6/3 = 2.
  // Lengths < 24, so Lucene's norms are exact. score = idf · tf / (tf + k1 (1 - b + b dl/avgdl)).
  const docs = [doc('d1', 'cat dog'), doc('d2', 'cat cat fish'), doc('d3', 'bird')];
  const idfCat = Math.log(1 + (3 - 2 + 0.5) / (2 + 0.5)); // ln 1.6
  const idfBird = Math.log(1 + (3 - 1 + 0.5) / (1 + 0.5)); // ln (8/3)
  const d1Cat = idfCat * (1 / (1 + 0.9 * (0.6 + 0.4 * (2 / 2))));
  const d2Cat = idfCat * (2 / (2 + 0.9 * (0.6 + 0.4 * (3 / 2))));
  const d3Bird = idfBird * (1 / (1 + 0.9 * (0.6 + 0.4 * (1 / 2))));

  it('scores a one-term query', async () => {
    const index = await buildBm25Index(docs);
    const hits = new Bm25Searcher(index).search('cats');
    expect(hits.map((h) => h.docId)).toEqual(['d2', 'd1']);
    expect(hits[0]!.score).toBeCloseTo(d2Cat, 6); // 0.305197
    expect(hits[1]!.score).toBeCloseTo(d1Cat, 6); // 0.247370
  });

  it('boosts a repeated query term by its count (Anserini bag of words)', async () => {
    const index = await buildBm25Index(docs);
    const hits = new Bm25Searcher(index).search('the cat, the cat and a bird');
    expect(hits.map((h) => h.docId)).toEqual(['d2', 'd3', 'd1']);
    expect(hits.map((h) => h.score)).toEqual([2 * d2Cat, d3Bird, 2 * d1Cat].map((s) => expect.closeTo(s, 6)));
  });

  it('returns no hits for a query of stop words or unknown terms', async () => {
    const index = await buildBm25Index(docs);
    expect(new Bm25Searcher(index).search('the and of')).toEqual([]);
    expect(new Bm25Searcher(index).search('zebra')).toEqual([]);
  });

  it('breaks score ties by doc id, descending (as trec_eval ranks)', async () => {
    const index = await buildBm25Index([doc('a', 'cat'), doc('c', 'cat'), doc('b', 'cat'), doc('x', 'dog')]);
    expect(new Bm25Searcher(index).search('cat').map((h) => h.docId)).toEqual(['c', 'b', 'a']);
  });
});

// Tiny seeded generator (LCG), so the random corpus is the same on every run.
function lcg(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.floor((s / 2 ** 32) * n);
  };
}

const WORDS = 'alpha beta gamma delta kappa omega cell gene protein tumor mouse human blood liver brain drug'.split(' ');

function randomCorpus(numDocs: number, seed: number): BeirDoc[] {
  const rand = lcg(seed);
  return Array.from({ length: numDocs }, (_, i) => {
    // lengths 1..80 cross the 24-token limit of exact norms; Zipf-ish word choice makes ties likely
    const len = 1 + rand(80);
    const words = Array.from({ length: len }, () => WORDS[Math.min(rand(WORDS.length), rand(WORDS.length))]!);
    return doc(`doc${rand(1_000_000)}-${i}`, words.join(' '));
  });
}

/** Slow, obvious BM25: a loop over documents and query terms, double precision. */
function naiveScores(docs: BeirDoc[], query: string, k1: number, b: number, lucene: boolean): Map<string, number> {
  const docTerms = docs.map((d) => analyzeEnglish(d.text));
  const N = docTerms.filter((t) => t.length > 0).length;
  const avgdl = docTerms.reduce((s, t) => s + t.length, 0) / N;
  const qTerms = analyzeEnglish(query);
  const scores = new Map<string, number>();
  docs.forEach((d, i) => {
    const terms = docTerms[i]!;
    const dl = lucene ? byte4ToInt(intToByte4(terms.length)) : terms.length;
    let score = 0;
    let matched = false;
    for (const q of qTerms) {
      // each occurrence of a query term adds its term score once (boost = count)
      const tf = terms.filter((t) => t === q).length;
      if (tf === 0) continue;
      matched = true;
      const df = docTerms.filter((t) => t.includes(q)).length;
      const idf = Math.log(1 + (N - df + 0.5) / (df + 0.5));
      score += (idf * tf) / (tf + k1 * (1 - b + (b * dl) / avgdl));
    }
    if (matched) scores.set(d.id, score);
  });
  return scores;
}

const QUERIES = ['gene protein', 'tumor tumor mouse brain', 'alpha', 'drug liver blood human cell', 'omega kappa kappa delta'];

describe('BM25 against a slow oracle on a random corpus', () => {
  const docs = randomCorpus(300, SEED);

  for (const docLength of ['lucene', 'exact'] as const) {
    it(`scores every matching document like the naive loop (${docLength} lengths)`, async () => {
      const index = await buildBm25Index(docs, { docLength });
      const searcher = new Bm25Searcher(index);
      for (const q of QUERIES) {
        const want = naiveScores(docs, q, 0.9, 0.4, docLength === 'lucene');
        const got = searcher.search(q, 1000);
        expect(got.length).toBe(want.size);
        for (const h of got) expect(relErr(h.score, want.get(h.docId)!)).toBeLessThan(FLOAT32_RTOL);
      }
    });
  }

  it('other k1 and b: still the naive formula', async () => {
    const index = await buildBm25Index(docs, { k1: 1.2, b: 0.75 });
    const got = new Bm25Searcher(index).search(QUERIES[3]!);
    const want = naiveScores(docs, QUERIES[3]!, 1.2, 0.75, true);
    for (const h of got) expect(relErr(h.score, want.get(h.docId)!)).toBeLessThan(FLOAT32_RTOL);
  });

  it('top-k equals the first k of a full sort (score desc, doc id desc), ties included', async () => {
    const index = await buildBm25Index(docs);
    const searcher = new Bm25Searcher(index);
    for (const q of QUERIES) {
      const all = searcher.search(q, 1000);
      const sorted = [...all].sort((x, y) => y.score - x.score || (x.docId < y.docId ? 1 : x.docId > y.docId ? -1 : 0));
      expect(all).toEqual(sorted);
      for (const k of [1, 7, 50]) expect(searcher.search(q, k)).toEqual(sorted.slice(0, k));
    }
  });

  it('lossy norms create exact ties that exact lengths do not', async () => {
    const lucene = new Bm25Searcher(await buildBm25Index(docs)).search('alpha', 1000);
    const exact = new Bm25Searcher(await buildBm25Index(docs, { docLength: 'exact' })).search('alpha', 1000);
    const distinct = (hits: { score: number }[]) => new Set(hits.map((h) => h.score)).size;
    expect(distinct(lucene)).toBeLessThan(distinct(exact));
  });

  it('searchBm25 gives every query the searcher\'s hits, and k overrides', async () => {
    const index = await buildBm25Index(docs);
    const run = await searchBm25(index, QUERIES.map((text, i) => ({ id: `q${i}`, text })), { k: 5 });
    expect([...run.keys()]).toEqual(['q0', 'q1', 'q2', 'q3', 'q4']);
    expect(run.get('q1')).toEqual(new Bm25Searcher(index).search(QUERIES[1]!, 5));
    const other = await searchBm25(index, [{ id: 'q', text: QUERIES[1]! }], { k1: 1.2, b: 0.75 });
    expect(other.get('q')![0]!.score).not.toBe(run.get('q1')![0]!.score);
  });
});
