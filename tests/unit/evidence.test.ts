// The evidence of an experiment (src/pipeline/evidence.ts, src/cli/evidence-command.ts): which run each row
// names (the first seed's, each seed's, the earlier rounds'), and the top-k cut in trec_eval's order.
import { expect, it } from 'vitest';
import { evidencePlan, runFolderOf } from '../../src/pipeline/evidence.ts';
import { topOf } from '../../src/cli/evidence-command.ts';
import type { PlainRow, ResultRow, RoundRow } from '../../src/pipeline/types.ts';

const row = (setting: string, seeds?: number[]) => ({ setting, 'ndcg@10': 0, 'recall@100': 0, 'mrr@10': 0, 'map@100': 0, ...(seeds ? { seeds } : {}) }) as ResultRow;

it('names the run of every row, every seed and every earlier round as the loop stores them', () => {
  const rows = [row('BM25'), row('Raw+expansion'), row('FT', [42, 43, 44]), row('w/o self-reward')];
  const roundRows = [{ ...row('ExpandR', [42, 43]), round: 1 } as RoundRow];
  const plan = evidencePlan({ rows, roundRows }, 42);
  expect(plan.map((p) => p.folders)).toEqual([['runs/BM25'], ['runs/Raw+expansion'], ['runs/FT', 'runs/FT@seed43', 'runs/FT@seed44'], ['runs/wo-self-reward'], ['runs/ExpandR@round1', 'runs/ExpandR@round1@seed43']]);
  expect(plan[2].fields).toEqual({ run: 'runs/FT.trec.gz', runsBySeed: { 42: 'runs/FT.trec.gz', 43: 'runs/FT@seed43.trec.gz', 44: 'runs/FT@seed44.trec.gz' } });
  expect(plan[3].fields).toEqual({ run: 'runs/wo-self-reward.trec.gz' });
  expect(runFolderOf('ExpandR', 7, 42, 2)).toBe('runs/ExpandR@round2@seed7');
});

it('names the runs of the trained retrievers on plain queries as plainEval stores them (runs/plain-NAME[@seedS])', () => {
  const plainRows = [
    { retriever: 'round-1', versus: 'ExpandR after round 1', seeds: [42, 43] },
    { retriever: 'round-2', versus: 'ExpandR' },
  ] as PlainRow[];
  const plan = evidencePlan({ rows: [], plainRows }, 42);
  expect(plan.map((p) => [p.name, p.folders])).toEqual([
    ['round-1 on plain queries', ['runs/plain-round-1', 'runs/plain-round-1@seed43']],
    ['round-2 on plain queries', ['runs/plain-round-2']],
  ]);
  expect(plan[0].fields).toEqual({ run: 'runs/plain-round-1.trec.gz', runsBySeed: { 42: 'runs/plain-round-1.trec.gz', 43: 'runs/plain-round-1@seed43.trec.gz' } });
});

it('keeps the top k per query in trec_eval order: score descending, then document id descending', () => {
  const run = new Map([['q1', [{ docId: 'a', score: 1 }, { docId: 'c', score: 2 }, { docId: 'b', score: 2 }, { docId: 'd', score: 0.5 }]]]);
  expect(topOf(run, 2).get('q1')!.map((h) => h.docId)).toEqual(['c', 'b']);
  expect(topOf(run, 10).get('q1')).toHaveLength(4);
});
