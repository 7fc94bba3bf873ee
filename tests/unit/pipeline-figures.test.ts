// figuresOf, the one figure assembly of the runner (figures.json) and the page: the case view's gold
// passage is d*, the highest-graded relevant document (pickGoldDoc), not the first judged one; t-SNE is
// drawn for settings with two pairs or more, seeded by the config's seed; curves and lengths pass through.
import { describe, expect, it } from 'vitest';
import type { BeirDataset } from '../../src/data/load.ts';
import { figuresOf } from '../../src/pipeline/figures.ts';
import { tsneOf } from '../../src/pipeline/figures-data.ts';
import type { ExperimentOutcome } from '../../src/pipeline/loop.ts';
import type { SettingEval } from '../../src/pipeline/results.ts';

const QIDS = ['q1', 'q2', 'q3'];
const vec = (i: number, o: number) => Array.from({ length: 4 }, (_, j) => Math.cos(i * 1.3 + j) + o);

const data = {
  name: 'toy',
  docs: [
    { id: 'd1', title: 'Cats', text: 'Cats purr.' },
    { id: 'd2', title: 'Kittens', text: 'Kittens are young cats.' },
    { id: 'd3', title: '', text: 'Dogs bark.' },
  ],
  queries: new Map(QIDS.map((q) => [q, { id: q, text: `query ${q}` }])),
  // q1: d1 judged first with 1, d2 later with 2 → d* is d2. q3 has no relevant document.
  qrels: new Map([['test', new Map([['q1', new Map([['d1', 1], ['d2', 2]])], ['q2', new Map([['d3', 1]])], ['q3', new Map([['d1', 0]])]])]]),
  splits: {},
  warnings: [],
  checksum: 'x',
  fileSha256: {},
} as unknown as BeirDataset;

const evalOf = (setting: SettingEval['setting'], v: number): SettingEval => ({
  setting,
  metrics: { 'ndcg@10': v },
  perQuery: Object.fromEntries(QIDS.map((q) => [q, { 'ndcg@10': v }])),
});

const outcome = {
  evals: [
    { ...evalOf('Raw', 0.1), pairs: { setting: 'Raw', qids: ['q1', 'q2'], queries: [vec(1, 0), vec(2, 0)], docs: [vec(1, 0.1), vec(2, 0.1)] } },
    { ...evalOf('FT', 0.2), pairs: { setting: 'FT', qids: ['q1'], queries: [vec(1, 0)], docs: [vec(1, 0.1)] } }, // one pair: no plot
    evalOf('BM25', 0.3),
  ],
  expansions: new Map([['Raw+expansion', new Map([['q1', 'young cats purr']])]]),
  curves: [{ stage: 'FT', kind: 'retriever', points: [{ step: 1, loss: 2 }] }],
  testQueries: QIDS.map((q) => ({ id: q, text: `query ${q}` })),
} as unknown as ExperimentOutcome;

describe('figuresOf', () => {
  const f = figuresOf(outcome, data, 'test', 7);

  it('shows the highest-graded relevant document as the gold passage, and no case without one', () => {
    expect(f.cases.map((c) => [c.qid, c.goldDocId])).toEqual([['q1', 'd2'], ['q2', 'd3']]);
    expect(f.cases[0].goldPassage).toBe('Kittens Kittens are young cats.');
    expect(f.cases[0].expansions).toEqual([{ setting: 'Raw+expansion', text: 'young cats purr', sharedTerms: ['young', 'cat'] }]);
  });

  it('projects settings with two pairs or more, with the given seed', () => {
    expect(f.tsne.map((t) => t.setting)).toEqual(['Raw']);
    expect(f.tsne[0]).toEqual(tsneOf(outcome.evals[0].pairs!, 7));
  });

  it('passes curves and expansion lengths through', () => {
    expect(f.curves).toBe(outcome.curves);
    expect(f.expansionLength).toEqual([{ setting: 'Raw+expansion', mean: 3, median: 3, words: [3] }]);
  });
});
