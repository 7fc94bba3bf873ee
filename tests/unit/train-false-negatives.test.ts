// A document relevant to a query is never its in-batch negative: batches carry the doc id of every column
// and each query's positives, and falseNegativeMask (src/train/infonce.ts) masks exactly those columns.
import { expect, it } from 'vitest';
import { buildTrainData, SupervisedBatches } from '../../src/train/examples.ts';
import { falseNegativeMask } from '../../src/train/infonce.ts';
import { syntheticTask } from './helpers/train-corpus.ts';

it('two queries that share a positive: each masks the other one column, the rest stays', () => {
  const { docs, queries } = syntheticTask(4);
  // q0 and q1 both have d0 as their only positive; q2 has d2; q3 has d3 and d0.
  const qrels = new Map([
    ['q0', new Map([['d0', 1]])],
    ['q1', new Map([['d0', 2]])],
    ['q2', new Map([['d2', 1]])],
    ['q3', new Map([['d3', 1], ['d0', 1]])],
  ]);
  const { data } = buildTrainData(docs, queries, qrels);
  data.examples.forEach((e) => (e.negatives = ['d1']));
  const batch = new SupervisedBatches(data, { seed: 3, batchSize: 4, hardNegatives: true }).batch(0);
  expect(batch.docIds).toHaveLength(8);
  expect(batch.docIds.slice(4)).toEqual(['d1', 'd1', 'd1', 'd1']);
  batch.docIds.forEach((id, j) => expect(batch.docs[j]).toBe(data.docs.get(id)));
  const N = batch.docIds.length;
  const mask = falseNegativeMask(batch.docIds, batch.positives)!;
  for (let i = 0; i < 4; i++) {
    const relevant = new Set(qrels.get(batch.qids[i])!.keys());
    for (let j = 0; j < N; j++) expect([i, j, mask[i * N + j]]).toEqual([i, j, j !== i && relevant.has(batch.docIds[j]) ? 1 : 0]);
  }
  // q0 and q1 drew d0 (their only positive): each masks the other's column.
  const row = (qid: string) => batch.qids.indexOf(qid);
  expect(mask[row('q0') * N + row('q1')]).toBe(1);
  expect(mask[row('q1') * N + row('q0')]).toBe(1);
});

it('nothing shared: no mask at all (the loss is the plain InfoNCE)', () => {
  expect(falseNegativeMask(['a', 'b', 'x', 'y'], [['a'], ['b']])).toBeNull();
});
