// Significance marks of the encoder panel, in Node: the worker's dense evaluation returns paired
// permutation tests (nDCG@10, Recall@100) of FT vs its Raw encoder (†) and of Raw and FT vs the split's
// last BM25 run (‡), equal to pairedPermutationTest on the same per-query values (what `eval --compare` runs).
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
import { SIGNIFICANCE_ALPHA, SIGNIFICANCE_METRICS, type SignificanceTest } from '../../src/app/protocol.ts';
import { pairedPermutationTest } from '../../src/eval/significance.ts';
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
  expect(t!.significant).toBe(direct.pValue < SIGNIFICANCE_ALPHA);
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
    expect(rawEval.significance.vsRaw).toBeUndefined();
    for (const m of SIGNIFICANCE_METRICS) expectSameTest(rawEval.significance.vsBm25?.[m], perQuery(rawEval), perQuery(bm25), m);
    expect(rawEval.significance.vsBm25!['ndcg@10'].against).toBe('BM25');

    const trained = await session.train(dataset.id, 'test', raw.handle, { steps: 2, batchSize: 4, dropout: false, lr: 1e-3, hardNegatives: false });
    const ftEval = await session.evaluate(dataset.id, 'test', trained.encoder.handle);
    for (const m of SIGNIFICANCE_METRICS) {
      expectSameTest(ftEval.significance.vsRaw?.[m], perQuery(ftEval), perQuery(rawEval), m);
      expectSameTest(ftEval.significance.vsBm25?.[m], perQuery(ftEval), perQuery(bm25), m);
    }
    expect(ftEval.significance.vsRaw!['ndcg@10'].against).toBe('tiny-bert');
  }, 120_000);
});
