// Metrics on hand-computed examples, trec_eval's ordering rules, query-set rules, properties and speed.

import { describe, expect, it } from 'vitest';
import type { Qrels } from '../../src/data/types.ts';
import { RunFormatError, MetricError } from '../../src/errors.ts';
import { parseMetric } from '../../src/eval/measures.ts';
import { evaluate, EXTENDED_METRICS, STANDARD_METRICS } from '../../src/eval/metrics.ts';
import { compareCodePoints, compareHits, trecOrder } from '../../src/eval/ranking.ts';
import type { Hit, Run } from '../../src/eval/types.ts';
import { createRng } from '../../src/util/random.ts';

/** Hand arithmetic vs our sums: identical operations, so only last-bit differences are allowed. */
const DIGITS = 12;
/** 10k queries × 1000 hits, standard metrics: ~0.2 s on the shared 2-core dev box; 5× headroom for load. */
const SPEED_BUDGET_MS = 1000;

const qrelsOf = (o: Record<string, Record<string, number>>): Qrels =>
  new Map(Object.entries(o).map(([q, d]) => [q, new Map(Object.entries(d))]));
const hits = (...pairs: [string, number][]): Hit[] => pairs.map(([docId, score]) => ({ docId, score }));

describe('hand-computed values', () => {
  // q: a=3 b=2 c=1 d=0 e=2 → relevant (rel ≥ 1): a, b, c, e → |R| = 4; e is never retrieved.
  // Ranking: 1 a(3)  2 x(—)  3 b(2)  4 d(0)  5 c(1)
  const qrels = qrelsOf({ q: { a: 3, b: 2, c: 1, d: 0, e: 2 } });
  const run: Run = new Map([['q', hits(['a', 0.9], ['x', 0.8], ['b', 0.7], ['d', 0.6], ['c', 0.5])]]);
  const metrics = ['ndcg@3', 'ndcg@10', 'recall@3', 'recall@5', 'p@3', 'p@10', 'map@2', 'map@5', 'mrr@10'];
  const r = evaluate(qrels, run, { metrics }).perQuery.get('q')!;

  it('nDCG: linear gain, log2(rank + 1) discount, ideal from all judged relevant docs', () => {
    // DCG@10  = 3/log2(2) + 2/log2(4) + 1/log2(6)              = 3 + 1 + 0.386853            = 4.386853
    // IDCG@10 = 3/log2(2) + 2/log2(3) + 2/log2(4) + 1/log2(5)  = 3 + 1.261860 + 1 + 0.430677 = 5.692536
    // nDCG@10 = 4.386853 / 5.692536 = 0.770632
    expect(r['ndcg@10']).toBeCloseTo((3 + 2 / 2 + 1 / Math.log2(6)) / (3 + 2 / Math.log2(3) + 2 / 2 + 1 / Math.log2(5)), DIGITS);
    expect(r['ndcg@10']).toBeCloseTo(0.770632, 6);
    // Cut at 3: DCG@3 = 3 + 0 + 1 = 4; IDCG@3 = 3 + 2/log2(3) + 1 = 5.261860 → 0.760188
    expect(r['ndcg@3']).toBeCloseTo(4 / (3 + 2 / Math.log2(3) + 1), DIGITS);
  });

  it('recall@k, P@k (÷ k even past the end of the run), MAP@k (÷ all relevant), MRR@k', () => {
    expect(r['recall@3']).toBe(2 / 4); // a, b of {a, b, c, e}
    expect(r['recall@5']).toBe(3 / 4);
    expect(r['p@3']).toBe(2 / 3);
    expect(r['p@10']).toBe(3 / 10); // 5 retrieved, still ÷ 10
    expect(r['map@2']).toBe(1 / 1 / 4); // precision 1/1 at rank 1
    expect(r['map@5']).toBeCloseTo((1 / 1 + 2 / 3 + 3 / 5) / 4, DIGITS); // = 0.566667
    expect(r['mrr@10']).toBe(1);
  });

  it('MRR@k is 0 when the first relevant doc lies below k; uncut mrr still sees it', () => {
    const q = qrelsOf({ q: { c: 1 } });
    const res = evaluate(q, new Map([['q', hits(['a', 3], ['b', 2], ['c', 1])]]), { metrics: ['mrr@2', 'mrr@3', 'mrr'] });
    expect(res.perQuery.get('q')).toEqual({ 'mrr@2': 0, 'mrr@3': 1 / 3, mrr: 1 / 3 });
  });
});

describe('ordering as trec_eval', () => {
  it('re-sorts by score, ignoring the order given', () => {
    const q = qrelsOf({ q: { b: 1 } });
    const r = evaluate(q, new Map([['q', hits(['a', 1], ['b', 5])]]), { metrics: ['mrr@10'] });
    expect(r.mean['mrr@10']).toBe(1);
  });

  it('breaks score ties by doc id descending, compared as strings', () => {
    // '9' > '10' > '09' as strings (numerically 10 > 9 > 09): order 9, 10, 09.
    expect(trecOrder('q', hits(['10', 1], ['09', 1], ['9', 1])).map((h) => h.docId)).toEqual(['9', '10', '09']);
    const q = qrelsOf({ q: { '10': 1 } });
    expect(evaluate(q, new Map([['q', hits(['10', 1], ['9', 1])]]), { metrics: ['mrr@10'] }).mean['mrr@10']).toBe(1 / 2);
  });

  it('ties scores that are equal as float32 (trec_eval stores scores as C float)', () => {
    expect(compareHits({ docId: 'a', score: 0.1 + 1e-12 }, { docId: 'b', score: 0.1 })).toBeGreaterThan(0); // b first
    expect(compareHits({ docId: 'a', score: 0.2 }, { docId: 'b', score: 0.1 })).toBeLessThan(0);
  });

  it('compares ids by code point like strcmp on UTF-8, not by UTF-16 unit', () => {
    expect(compareCodePoints('\u{1F600}', '\uFF46')).toBeGreaterThan(0); // U+1F600 > U+FF46
    expect('\u{1F600}' < '\uFF46').toBe(true); // what plain JS comparison would say
    expect(compareCodePoints('ab', 'abc')).toBeLessThan(0);
    expect(compareCodePoints('x', 'x')).toBe(0);
  });

  it('returns the same array when already in order (no copy) and refuses NaN scores', () => {
    const sorted = hits(['b', 2], ['a', 1]);
    expect(trecOrder('q', sorted)).toBe(sorted);
    expect(() => trecOrder('q', hits(['a', NaN]))).toThrow(RunFormatError);
  });
});

describe('which queries count (BEIR / pytrec_eval)', () => {
  const qrels = qrelsOf({ judged: { a: 1 }, zeros: { a: 0 }, absent: { a: 1 }, empty: { a: 1 }, none: {} });
  const run: Run = new Map([
    ['judged', hits(['a', 1])],
    ['zeros', hits(['a', 1])],
    ['empty', []],
    ['none', hits(['a', 1])],
    ['unjudged', hits(['a', 1])],
  ]);
  const r = evaluate(qrels, run, { metrics: ['ndcg@10'] });

  it('averages over run ∩ qrels, counting empty hit lists and all-zero qrels as 0', () => {
    expect([...r.perQuery.keys()]).toEqual(['judged', 'zeros', 'empty']);
    expect(r.queries).toBe(3);
    expect(r.mean['ndcg@10']).toBe(1 / 3);
  });

  it('gives NaN means when no query can be evaluated', () => {
    const none = evaluate(qrels, new Map([['x', []]]));
    expect(none.queries).toBe(0);
    expect(Number.isNaN(none.mean['ndcg@10'])).toBe(true);
  });
});

describe('identical ids and duplicates', () => {
  const qrels = qrelsOf({ q1: { q1: 1, d1: 1 } });
  const run: Run = new Map([['q1', hits(['q1', 9], ['d1', 8])]]);

  it("drops hits whose doc id is the query id by default (BEIR's ignore_identical_ids)", () => {
    // Without q1: d1 at rank 1, recall 1/2 (q1 is still a judged relevant doc).
    expect(evaluate(qrels, run, { metrics: ['recall@10', 'mrr@10'] }).mean).toEqual({ 'recall@10': 0.5, 'mrr@10': 1 });
    expect(evaluate(qrels, run, { metrics: ['recall@10'], ignoreIdenticalIds: false }).mean['recall@10']).toBe(1);
  });

  it('refuses a doc id listed twice for one query', () => {
    const dup: Run = new Map([['q1', hits(['d1', 3], ['x', 2], ['d1', 1])]]);
    expect(() => evaluate(qrels, dup, { source: 'my.run' })).toThrow(/my\.run: query "q1" lists doc "d1" more than once/);
  });
});

describe('metric names', () => {
  it('parses name@k case-insensitively and uncut mrr', () => {
    expect(parseMetric('NDCG@10')).toEqual({ key: 'ndcg@10', name: 'ndcg', k: 10 });
    expect(parseMetric('P@5').key).toBe('p@5');
    expect(parseMetric('mrr')).toEqual({ key: 'mrr', name: 'mrr', k: Infinity });
  });

  it('rejects unknown names, missing or non-positive cutoffs', () => {
    for (const bad of ['f1@10', 'ndcg', 'ndcg@0', 'recall@-1', 'map@1.5', '']) expect(() => parseMetric(bad), bad).toThrow(MetricError);
  });

  it('has the fixed standard keys', () => {
    expect([...STANDARD_METRICS]).toEqual(['ndcg@10', 'recall@100', 'mrr@10', 'map@100']);
    expect(Object.keys(evaluate(qrelsOf({ q: { a: 1 } }), new Map([['q', []]])).mean)).toEqual([...STANDARD_METRICS]);
  });
});

describe('properties on random runs', () => {
  const rng = createRng(7);
  const cases = Array.from({ length: 200 }, (_, c) => {
    const judged: Record<string, number> = {};
    for (let i = 0; i < 1 + rng.int(10); i++) judged[`d${rng.int(50)}`] = rng.int(4);
    const list = Array.from(new Set(Array.from({ length: rng.int(60) }, () => `d${rng.int(50)}`)));
    return { qid: `q${c}`, judged, run: list.map((docId) => ({ docId, score: Math.round(rng.normal() * 4) / 4 })) };
  });
  const qrels = qrelsOf(Object.fromEntries(cases.map((c) => [c.qid, c.judged])));
  const run: Run = new Map(cases.map((c) => [c.qid, c.run]));
  const res = evaluate(qrels, run, { metrics: [...EXTENDED_METRICS, 'ndcg@5', 'recall@5', 'map@5', 'mrr'] });

  it('keeps every value in [0, 1] and cut metrics monotone where they must be', () => {
    for (const v of res.perQuery.values()) {
      for (const x of Object.values(v)) expect(x >= 0 && x <= 1).toBe(true);
      expect(v['recall@5']).toBeLessThanOrEqual(v['recall@100']);
      expect(v['map@5']).toBeLessThanOrEqual(v['map@100']);
      expect(v['mrr@10']).toBeLessThanOrEqual(v.mrr);
    }
  });

  it('gives 1 for a perfect run (judged docs by grade, then the rest)', () => {
    const perfect: Run = new Map(
      cases.map((c) => [c.qid, Object.entries(c.judged).sort((a, b) => b[1] - a[1]).map(([docId], i) => ({ docId, score: 100 - i }))]),
    );
    const p = evaluate(qrels, perfect, { metrics: ['ndcg@10', 'ndcg@100', 'map@100', 'recall@100'] });
    for (const [qid, v] of p.perQuery) {
      const anyRelevant = Object.values(cases.find((c) => c.qid === qid)!.judged).some((r) => r > 0);
      for (const x of Object.values(v)) expect(x).toBe(anyRelevant ? 1 : 0);
    }
  });

  it('does not depend on the order hits are given in', () => {
    const reversed: Run = new Map([...run].map(([q, h]) => [q, h.slice().reverse()]));
    expect(evaluate(qrels, reversed, { metrics: [...EXTENDED_METRICS] }).perQuery).toEqual(
      evaluate(qrels, run, { metrics: [...EXTENDED_METRICS] }).perQuery,
    );
  });
});

describe('speed', () => {
  it(`evaluates 10k queries × 1000 hits in under ${SPEED_BUDGET_MS} ms (standard metrics)`, () => {
    const pool = Array.from({ length: 20_000 }, (_, i) => `doc${i}`);
    // 256 distinct hit lists shared by the 10k queries: the same work, a 40th of the memory.
    const lists = Array.from({ length: 256 }, (_, l) =>
      Array.from({ length: 1000 }, (_, i): Hit => ({ docId: pool[(l * 7919 + i * 13) % pool.length], score: 1.1 - i / 1024 })),
    );
    const qrels: Qrels = new Map();
    const run: Run = new Map();
    for (let q = 0; q < 10_000; q++) {
      const l = q % lists.length;
      run.set(`q${q}`, lists[l]);
      qrels.set(`q${q}`, new Map([[pool[(l * 7919 + 13 * (q % 150)) % pool.length], 1], [pool[(q * 31) % pool.length], 2]]));
    }
    const t0 = performance.now();
    const r = evaluate(qrels, run);
    const ms = performance.now() - t0;
    expect(r.queries).toBe(10_000);
    expect(ms).toBeLessThan(SPEED_BUDGET_MS);
  });
});
