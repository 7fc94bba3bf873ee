// Significance marks of the encoder panel, in Node: the worker's dense evaluation returns paired
// permutation tests (nDCG@10, Recall@100) of FT vs its Raw encoder and of Raw and FT vs the split's last
// BM25 run, equal to pairedPermutationTest on the same per-query values; and the marks the panel's table
// (ResultsTable.svelte) shows for them: † / § better than Raw / BM25, ▼Raw / ▼BM25 worse, never ‡.
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { IDBFactory } from 'fake-indexeddb';
import { openStore } from '../../src/store/store.ts';
import { importBeir } from '../../src/store/import-beir.ts';
import { fromBytes } from '../../src/data/source.ts';
import { RetrieverSession } from '../../src/app/retriever-session.ts';
import { runBm25Eval } from '../../src/retrieval/bm25/evaluate.ts';
import type { DenseSignificance, SignificanceTest } from '../../src/app/protocol.ts';
import { pairedPermutationTest } from '../../src/eval/significance.ts';
import { cellMarks, directionOf, significanceLegend, SIGNIFICANCE_ALPHA, SIGNIFICANCE_METRICS } from '../../src/eval/significance-marks.ts';
import { jsonl } from './helpers/beir-files.ts';
import { folderFiles } from './helpers/folder-files.ts';

const TINY_BERT = join(import.meta.dirname, '../reference/fixtures/tiny-bert');

// A small BEIR set with 20 judged queries (> 16: the Monte Carlo path, 10,000 seeded rounds).
const TOPICS = ['cats', 'dogs', 'birds', 'fish', 'trees', 'rivers', 'cars', 'trains', 'music', 'bread', 'coffee', 'snow', 'stars', 'books', 'shoes', 'bees', 'tea', 'rain', 'ships', 'clocks'];
const corpus = jsonl(TOPICS.flatMap((t, i) => [
  { _id: `d${i}a`, title: t, text: `All about ${t} and more ${t}.` },
  { _id: `d${i}b`, title: `Other ${t}`, text: `A note on ${t}.` },
]));
const queries = jsonl(TOPICS.map((t, i) => ({ _id: `q${i}`, text: `what about ${t}` })));
const qrels = (rows: string[]) => `query-id\tcorpus-id\tscore\n${rows.join('\n')}\n`;
const test = qrels(TOPICS.map((_, i) => `q${i}\td${i}a\t1`));

const perQuery = (r: { perQuery: { qid: string; metrics: Record<string, number> }[] }) => new Map(r.perQuery.map((q) => [q.qid, q.metrics]));

function expectSameTest(t: SignificanceTest | undefined, a: Map<string, Record<string, number>>, b: Map<string, Record<string, number>>, metric: string) {
  expect(t).toBeDefined();
  const qids = [...a.keys()];
  const direct = pairedPermutationTest(qids.map((q) => a.get(q)![metric]), qids.map((q) => b.get(q)![metric]), { rounds: 10_000, seed: 42 });
  expect(t!.pValue).toBeGreaterThan(0);
  expect(t!.pValue).toBeLessThanOrEqual(1);
  expect(t!.n).toBe(TOPICS.length);
  expect(t!.pValue).toBe(direct.pValue);
  expect(t!.meanDiff).toBe(direct.meanDiff);
  expect(t!.direction).toBe(direct.pValue >= SIGNIFICANCE_ALPHA ? 'none' : direct.meanDiff > 0 ? 'improvement' : 'loss');
  expect(t!.direction).toBe(directionOf(direct));
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('dense significance marks', () => {
  it('tests FT vs Raw and Raw/FT vs BM25 per query, as pairedPermutationTest does', async () => {
    const store = await openStore({ dbName: 'significance-test', idbFactory: new IDBFactory() });
    const { dataset } = await importBeir(
      store,
      [fromBytes('s/corpus.jsonl', corpus), fromBytes('s/queries.jsonl', queries), fromBytes('s/qrels/test.tsv', test)],
      { estimate: async () => ({ quota: 1e9, usage: 0 }) },
    );
    const session = new RetrieverSession(async () => store);
    const raw = await session.load({ kind: 'files', files: folderFiles(TINY_BERT, 'tiny-bert') });

    // Before BM25 and without a Raw evaluation: nothing to test against.
    const first = await session.evaluate(dataset.id, 'test', raw.handle);
    expect(first.significance).toEqual({});

    const bm25 = await runBm25Eval(store, dataset.id, 'test');
    const rawEval = await session.evaluate(dataset.id, 'test', raw.handle);
    expect(rawEval.significance.Raw).toBeUndefined();
    for (const m of SIGNIFICANCE_METRICS) expectSameTest(rawEval.significance.BM25?.[m], perQuery(rawEval), perQuery(bm25), m);
    expect(rawEval.significance.BM25!['ndcg@10'].against).toBe('BM25');

    const trained = await session.train(dataset.id, 'test', raw.handle, { steps: 2, batchSize: 4, dropout: false, lr: 1e-3, hardNegatives: false });
    const ftEval = await session.evaluate(dataset.id, 'test', trained.encoder.handle);
    for (const m of SIGNIFICANCE_METRICS) {
      expectSameTest(ftEval.significance.Raw?.[m], perQuery(ftEval), perQuery(rawEval), m);
      expectSameTest(ftEval.significance.BM25?.[m], perQuery(ftEval), perQuery(bm25), m);
    }
    expect(ftEval.significance.Raw!['ndcg@10'].against).toBe('tiny-bert');
  }, 120_000);
});

describe('the encoder panel\'s marks (cellMarks, as ResultsTable.svelte picks them)', () => {
  const test = (pValue: number, meanDiff: number, against: string): SignificanceTest => ({ against, pValue, meanDiff, n: 20, direction: 'none', mark: '' });

  it('shows FT significantly worse than Raw as a loss, never as †', () => {
    // The stored direction and mark are deliberately stale ('none', ''): the panel reads p and the mean difference.
    const sig: DenseSignificance = { Raw: { 'ndcg@10': test(0.001, -0.2, 'tiny-bert') }, BM25: { 'ndcg@10': test(0.002, 0.1, 'BM25') } };
    const marks = cellMarks(sig, 'ndcg@10');
    expect(marks.map((c) => [c.baseline, c.direction, c.mark])).toEqual([
      ['BM25', 'improvement', '§'],
      ['Raw', 'loss', '▼Raw'],
    ]);
    expect(marks.map((c) => c.mark).join('')).not.toMatch(/[†‡]/);
    expect(marks[1].test.against).toBe('tiny-bert');
  });

  it('marks an improvement with † (Raw) and § (BM25), nothing when p ≥ 0.05 or on untested metrics', () => {
    const sig: DenseSignificance = { Raw: { 'ndcg@10': test(0.01, 0.05, 'r'), 'recall@100': test(0.2, 0.3, 'r') }, BM25: { 'ndcg@10': test(0.04, 0.01, 'BM25') } };
    expect(cellMarks(sig, 'ndcg@10').map((c) => c.mark)).toEqual(['†', '§']);
    expect(cellMarks(sig, 'recall@100')).toEqual([]);
    expect(cellMarks(sig, 'mrr@10')).toEqual([]);
    expect(cellMarks({}, 'ndcg@10')).toEqual([]);
  });

  it('has a legend naming each mark of the panel and not ‡', () => {
    const legend = significanceLegend(['Raw', 'BM25']);
    expect(legend).toMatch(/^† \/ §: significantly better than Raw \/ BM25; ▼Raw \/ ▼BM25: significantly worse \(p < 0\.05,/);
    expect(legend).not.toContain('‡');
  });
});
