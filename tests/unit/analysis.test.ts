// The run analysis (src/pipeline/analysis*.ts) on small hand-made run objects, each number worked out by
// hand: quantiles and histograms, expansion length, rewards and the filter, DPO curves with accuracy from
// the checkpoint, chosen/rejected length, per-query gains, the choice of cases, stage times, and the
// lines that stand in for what a run lacks.
import { describe, expect, it } from 'vitest';
import { analyzeRun } from '../../src/pipeline/analysis.ts';
import { inLoopOrder, isMissing, type AnalysisInput } from '../../src/pipeline/analysis-input.ts';
import { dpoSection } from '../../src/pipeline/analysis-dpo.ts';
import { caseSection, chooseCases, expansionLengthSection, GOLD_CHARS } from '../../src/pipeline/analysis-expansions.ts';
import { analysisMarkdown } from '../../src/pipeline/analysis-markdown.ts';
import { queryGainSection } from '../../src/pipeline/analysis-queries.ts';
import { pairLengthSection, rewardSection } from '../../src/pipeline/analysis-rewards.ts';
import { histogram, quantile, spacedIndices } from '../../src/pipeline/analysis-stats.ts';
import { timingSection } from '../../src/pipeline/analysis-timings.ts';
import { SETTING_NAMES, type PreferenceRecord, type ScoredCandidate } from '../../src/pipeline/types.ts';

/** Decimal digits compared where a value comes out of float sums (toBeCloseTo). */
const DIGITS = 12;

const CONFIG: NonNullable<AnalysisInput['config']> = { rounds: 1, seed: 42, split: 'test', settings: [...SETTING_NAMES], rewards: { filter: 0.6 } };

const cand = (retrieverReward: number, selfReward: number, cosSum: number, words: number): ScoredCandidate => ({
  text: Array.from({ length: words }, () => 'w').join(' '),
  temperature: 1,
  retrieverReward,
  selfReward,
  reward: retrieverReward + selfReward,
  cosSum,
  words,
});
const rec = (qid: string, candidates: ScoredCandidate[], chosen: number, rejected: number, skipped?: string): PreferenceRecord => ({
  qid,
  query: `query ${qid}`,
  goldDocId: `d${qid}`,
  answer: 'y',
  candidates,
  chosen,
  rejected,
  ...(skipped && { skipped }),
});

/** Four train queries: a pair (chosen longer), one below the filter, one without an answer, a pair (chosen shorter). */
const RECORDS: PreferenceRecord[] = [
  rec('1', [cand(1, 1, 0.9, 10), cand(0.5, 0.5, 0.5, 4)], 0, 1),
  rec('2', [cand(1, 0.5, 0.4, 5), cand(0.5, 1, 0.5, 5)], -1, -1, 'below filter'),
  rec('3', [cand(0, 0, 0, 3), cand(0, 0, 0, 3)], -1, -1, 'empty answer'),
  rec('4', [cand(0.5, 0.5, 1.0, 8), cand(1, 1, 1.2, 6)], 1, 0),
];

describe('statistics', () => {
  it('quantiles interpolate linearly between order statistics; histograms have open end buckets', () => {
    expect(quantile([4, 1, 3, 2], 0.5)).toBe(2.5);
    expect(quantile([1, 2, 3, 4], 0.9)).toBeCloseTo(3.7, DIGITS);
    expect(quantile([7], 0.9)).toBe(7);
    expect(quantile([], 0.5)).toBeNaN();
    expect(histogram([-1, 0.2, 0.59, 0.6, 2], [0.2, 0.6]).map((b) => [b.lo, b.hi, b.count])).toEqual([
      [-Infinity, 0.2, 1],
      [0.2, 0.6, 2],
      [0.6, Infinity, 2],
    ]);
    expect(spacedIndices(5, 11)).toEqual([0, 1, 2, 3, 4]);
    expect(spacedIndices(16, 4)).toEqual([0, 5, 10, 15]);
  });

  it('orders LLMs and stages as the loop trains them, seeds after the config seed', () => {
    expect(inLoopOrder(['zzz', 'wo-retriever-reward', 'round-10', 'wo-self-reward', 'round-1@seed7', 'base', 'round-1', 'wo-retriever-training', 'round-2'])).toEqual([
      'base',
      'round-1',
      'round-1@seed7',
      'round-2',
      'round-10',
      'wo-retriever-training',
      'wo-self-reward',
      'wo-retriever-reward',
      'zzz',
    ]);
  });
});

describe('expansion length', () => {
  it('counts words per LLM and names the settings that used it and those whose expansions are missing', () => {
    const s = expansionLengthSection({ config: CONFIG, expansions: { 'round-1': { a: 'x y' }, base: { a: 'a b c', b: 'a', c: 'a b c d e f' } } });
    if (isMissing(s)) throw new Error(s.missing);
    expect(s.rows.map((r) => [r.llm, r.settings, r.n, r.median])).toEqual([
      ['base', ['Raw+expansion', 'w/o LLM training'], 3, 3],
      ['round-1', ['ExpandR'], 1, 2],
    ]);
    expect(s.rows[0].mean).toBeCloseTo(10 / 3, DIGITS);
    expect(s.rows[0].p90).toBeCloseTo(5.4, DIGITS); // sorted 1, 3, 6: 3 + 0.8 × 3
    expect(s.notes).toHaveLength(3);
    expect(s.notes[0]).toMatch(/^w\/o retriever training: .*expansions\/wo-retriever-training-test\/expansions\.jsonl missing/);
  });

  it('takes ExpandR from the last round', () => {
    const s = expansionLengthSection({ config: { ...CONFIG, rounds: 2, settings: ['ExpandR', 'w/o LLM training'] }, expansions: { base: { a: 'x' }, 'round-1': { a: 'x' }, 'round-2': { a: 'x' } } });
    if (isMissing(s)) throw new Error(s.missing);
    expect(s.rows.map((r) => [r.llm, r.settings])).toEqual([
      ['base', ['w/o LLM training']],
      ['round-1', []],
      ['round-2', ['ExpandR']],
    ]);
  });
});

describe('rewards and pairs', () => {
  it('summarises rewards of the scored queries, the filter drops, the skips and the pairs', () => {
    const r = rewardSection({ config: CONFIG, preferences: { 'round-1': RECORDS } });
    if (isMissing(r)) throw new Error(r.missing);
    expect(r.filter).toBe(0.6);
    const s = r.stages[0];
    expect([s.name, s.queries, s.scored, s.pairs, s.filterDropped, s.topAgreement]).toEqual(['round-1', 4, 3, 2, 1, 2]);
    expect(s.skipped).toEqual({ 'below filter': 1, 'empty answer': 1 });
    expect(s.filterShareOfQueries).toBe(0.25);
    expect(s.filterShareOfScored).toBeCloseTo(1 / 3, DIGITS);
    // Six candidates of the three scored queries: rr 1, .5, 1, .5, .5, 1; sr 1, .5, .5, 1, .5, 1.
    expect([s.retrieverReward.n, s.retrieverReward.mean, s.selfReward.mean, s.sum.mean]).toEqual([6, 0.75, 0.75, 1.5]);
    expect(s.sum.quantiles).toEqual([1, 1, 1.125, 1.5, 1.875, 2, 2]);
    expect(s.maxCosSum.quantiles[0]).toBe(0.5);
    expect(s.maxCosSum.quantiles[6]).toBe(1.2);
    expect(s.maxCosSum.mean).toBeCloseTo(2.6 / 3, DIGITS);
    expect([s.gap.n, s.gap.mean, s.meanChosenReward, s.meanRejectedReward]).toEqual([2, 1, 2, 1]);
    const counts = (b: { count: number }[]) => b.map((x) => x.count);
    expect(counts(s.histograms.sum)).toEqual([0, 0, 0, 0, 2, 0, 2, 2]);
    expect(s.histograms.cosEdges).toEqual([0.2, 0.4, 0.6, 0.8, 1, 1.2, 1.4, 1.6, 1.8]);
    expect(counts(s.histograms.maxCosSum)).toEqual([0, 0, 1, 0, 1, 0, 1, 0, 0, 0]);
  });

  it('counts chosen longer, shorter and equal in words', () => {
    const p = pairLengthSection({ preferences: { 'round-1': RECORDS, 'wo-self-reward': [RECORDS[0]] } });
    if (isMissing(p)) throw new Error(p.missing);
    expect(p.stages.map((s) => [s.name, s.pairs, s.chosenLonger, s.chosenShorter, s.equal, s.meanChosenWords, s.meanRejectedWords, s.meanDifference])).toEqual([
      ['round-1', 2, 1, 1, 0, 8, 6, 2],
      ['wo-self-reward', 1, 1, 0, 0, 10, 4, 6],
    ]);
  });

  it('assumes the paper filter without a config, and says when no LLM was trained', () => {
    const r = rewardSection({ preferences: { 'round-1': RECORDS } });
    expect(!isMissing(r) && [r.filter, r.filterAssumed]).toEqual([0.6, true]);
    expect(rewardSection({ preferences: {} })).toEqual({ missing: expect.stringMatching(/preferences\.json has no LLM-training stage/) });
    expect(pairLengthSection({})).toEqual({ missing: expect.stringMatching(/preferences\.json missing/) });
  });
});

describe('DPO curves', () => {
  const pt = (step: number, loss: number, margin: number) => ({ step, loss, chosenReward: margin, rejectedReward: 0, margin });
  it('takes accuracy from the checkpoint by step, and says where none is recorded', () => {
    const d = dpoSection({
      curves: [
        { stage: 'retriever:FT', kind: 'retriever', points: [{ step: 1, loss: 3 }] },
        { stage: 'dpo:wo-self-reward', kind: 'dpo', points: [pt(1, 0.7, 0)] },
        { stage: 'dpo:round-1', kind: 'dpo', points: [pt(1, 0.69, 0), pt(2, 0.68, 0.1), pt(3, 0.6, 0.2), pt(4, 0.5, 0.4)] },
      ],
      dpoCheckpoints: {
        'round-1': [1, 2, 3, 4].map((step) => ({ ...pt(step, 9, 9), accuracy: [0, 0.5, 1, 1][step - 1] })),
        'wo-retriever-reward': [{ ...pt(1, 0.6, 0.3), accuracy: 0.5 }],
      },
    });
    if (isMissing(d)) throw new Error(d.missing);
    expect(d.stages.map((s) => [s.name, s.steps, s.source, s.accuracySource])).toEqual([
      ['round-1', 4, 'figures', 'checkpoint'],
      ['wo-self-reward', 1, 'figures', 'none'],
      ['wo-retriever-reward', 1, 'checkpoint', 'checkpoint'],
    ]);
    const r1 = d.stages[0];
    // A quarter of 4 steps is one: the first and the last step; loss and margin from figures.json, accuracy from the checkpoint.
    expect(r1.start).toEqual({ loss: 0.69, margin: 0, accuracy: 0 });
    expect(r1.end).toEqual({ loss: 0.5, margin: 0.4, accuracy: 1 });
    expect(r1.rows.map((p) => p.accuracy)).toEqual([0, 0.5, 1, 1]);
    expect(d.stages[1].end.accuracy).toBeNaN();
    expect(d.notes[0]).toMatch(/^Accuracy per step is not recorded for wo-self-reward:/);
    expect(dpoSection({ curves: [] })).toEqual({ missing: expect.stringMatching(/has no DPO curve/) });
  });
});

describe('per query', () => {
  it('counts gains, losses and ties of each expanded row against its plain row', () => {
    const q = queryGainSection({ perQuery: { Raw: { a: 0.5, b: 0.5, c: 1, d: 0 }, 'Raw+expansion': { a: 1, b: 0.25, c: 1, d: 0.1, e: 1 } } });
    if (isMissing(q)) throw new Error(q.missing);
    expect(q.pairs).toHaveLength(1);
    const p = q.pairs[0];
    expect([p.expanded, p.plain, p.queries, p.gain, p.loss, p.tie, p.meanLoss]).toEqual(['Raw+expansion', 'Raw', 4, 2, 1, 1, -0.25]);
    expect(p.meanGain).toBeCloseTo(0.3, DIGITS);
    expect(p.meanDiff).toBeCloseTo(0.0875, DIGITS);
    // By Raw's value: d missed (0 → 0.1), a and b partly (0.5 → 1, 0.5 → 0.25), c perfect (1 → 1).
    expect(p.byPlain.missed).toEqual({ queries: 1, gain: 1, loss: 0, meanDiff: 0.1 });
    expect(p.byPlain.partly).toEqual({ queries: 2, gain: 1, loss: 1, meanDiff: 0.125 });
    expect(p.byPlain.perfect).toEqual({ queries: 1, gain: 0, loss: 0, meanDiff: 0 });
    expect(q.notes[0]).toMatch(/^Not in this run .*ExpandR vs FT/);
    expect(queryGainSection({ perQuery: { Raw: {} } })).toEqual({ missing: expect.stringMatching(/it has: Raw/) });
  });

  it('chooses the largest gains and losses, ties by query id, the other side filling in', () => {
    const diffs = new Map(Object.entries({ a: 0.5, b: -0.2, c: 0.5, d: 0, e: 0.1, f: -0.9, g: 0.3, h: -0.2 }));
    expect(chooseCases(diffs)).toEqual(['a', 'c', 'g', 'f', 'b']);
    expect(chooseCases(new Map(Object.entries({ a: 0.1, b: 0.2, c: 0.3, d: 0.4, e: 0.5, f: -0.1 })))).toEqual(['e', 'd', 'c', 'b', 'f']);
    expect(chooseCases(new Map(Object.entries({ a: 0.1, b: -0.1, c: -0.2, d: -0.3, e: -0.4, f: 0 })))).toEqual(['a', 'e', 'd', 'c', 'b']);
  });

  it('builds case views of ExpandR against FT with the gold passage cut and both expansions', () => {
    const input: AnalysisInput = {
      config: CONFIG,
      perQuery: { Raw: { q1: 0.2, q2: 0.3 }, FT: { q1: 0.5, q2: 0.5 }, ExpandR: { q1: 1, q2: 0.25 } },
      expansions: { base: { q1: 'before one', q2: 'before two' }, 'round-1': { q1: 'after one' } },
      queries: { q1: 'first query', q2: 'second query' },
      gold: { q1: { docId: 'd1', text: 'x'.repeat(500) } },
    };
    const c = caseSection(input);
    if (isMissing(c)) throw new Error(c.missing);
    expect(c.compared).toEqual(['ExpandR', 'FT']);
    expect(c.cases.map((x) => [x.qid, x.diff, x.query, x.before, x.after, x.ndcg])).toEqual([
      ['q1', 0.5, 'first query', 'before one', 'after one', { Raw: 0.2, FT: 0.5, ExpandR: 1 }],
      ['q2', -0.25, 'second query', 'before two', undefined, { Raw: 0.3, FT: 0.5, ExpandR: 0.25 }],
    ]);
    expect(c.cases[0].gold!.text).toHaveLength(GOLD_CHARS);
    expect(c.cases[1].gold).toBeUndefined();
    expect(c.how).toMatch(/^The 1 test queries where ExpandR gains most nDCG@10 over FT and the 1 where it loses most/);
    // Without ExpandR and FT: Raw+expansion against Raw.
    const plain = caseSection({ perQuery: { Raw: { q1: 0 }, 'Raw+expansion': { q1: 1 } } });
    expect(!isMissing(plain) && plain.compared).toEqual(['Raw+expansion', 'Raw']);
    expect(!isMissing(plain) && plain.notes.join(' ')).toMatch(/give --data.*expansions\/base-test\/expansions\.jsonl missing/);
  });
});

describe('an earlier round of ExpandR (two rounds, the run at round 1)', () => {
  const input: AnalysisInput = {
    config: { ...CONFIG, rounds: 2 },
    perQuery: { Raw: { q1: 0.2, q2: 0.3 }, 'Raw+expansion': { q1: 0.1, q2: 0.6 }, FT: { q1: 0.5, q2: 0.5 }, 'ExpandR@round1': { q1: 1, q2: 0.25 } },
    expansions: { base: { q1: 'before one', q2: 'before two' }, 'round-1': { q1: 'after one', q2: 'after two' } },
  };

  it('compares ExpandR@round1 with FT and Raw+expansion per query', () => {
    const q = queryGainSection(input);
    if (isMissing(q)) throw new Error(q.missing);
    expect(q.pairs.map((p) => [p.expanded, p.plain, p.gain, p.loss])).toEqual([
      ['Raw+expansion', 'Raw', 1, 1],
      ['ExpandR@round1', 'FT', 1, 1],
      ['ExpandR@round1', 'Raw+expansion', 1, 1],
    ]);
    expect(q.notes[0]).toMatch(/ExpandR@round1 vs w\/o LLM training/);
  });

  it('shows its cases against FT with the round-1 LLM as the expansion after DPO, and its expansion lengths as used by it', () => {
    const c = caseSection(input);
    if (isMissing(c)) throw new Error(c.missing);
    expect(c.compared).toEqual(['ExpandR@round1', 'FT']);
    expect(c.cases.map((x) => [x.qid, x.after, x.ndcg.ExpandR])).toEqual([
      ['q1', 'after one', 1],
      ['q2', 'after two', 0.25],
    ]);
    const l = expansionLengthSection(input);
    if (isMissing(l)) throw new Error(l.missing);
    expect(l.rows.find((r) => r.llm === 'round-1')?.settings).toEqual(['ExpandR@round1']);
  });
});

describe('expansions of the other seeds', () => {
  it("name the settings they were used by at that seed, for the settings that run at every seed", () => {
    const l = expansionLengthSection({
      config: { ...CONFIG, rounds: 2, seeds: [42, 43], seededSettings: ['Raw+expansion', 'ExpandR'] },
      perQuery: { 'ExpandR@round1': { q1: 1 } },
      expansions: { base: { q1: 'a' }, 'base@seed43': { q1: 'a b' }, 'round-1': { q1: 'a' }, 'round-1@seed43': { q1: 'a' }, 'round-2': { q1: 'a' }, 'round-2@seed43': { q1: 'a' } },
    });
    if (isMissing(l)) throw new Error(l.missing);
    const by = Object.fromEntries(l.rows.map((r) => [r.llm, r.settings]));
    // w/o LLM training also reads the base LLM's expansions, but only at the first seed.
    expect(by.base).toEqual(['Raw+expansion', 'w/o LLM training']);
    expect(by['base@seed43']).toEqual(['Raw+expansion (seed 43)']);
    expect(by['round-1@seed43']).toEqual(['ExpandR@round1 (seed 43)']);
    expect(by['round-2@seed43']).toEqual(['ExpandR (seed 43)']);
  });
});

describe('stage times', () => {
  it('groups the stages and sums them', () => {
    const t = timingSection({ timings: { totalMs: 9000, stages: { 'expansions:base:test': 1000, 'eval:Raw': 500, 'devEval:Raw': 250, 'dpo:round-1': 1500, 'retriever:FT@seed7': 600, 'candidates:base': 100, odd: 50 } } });
    if (isMissing(t)) throw new Error(t.missing);
    expect(t.totalMs).toBe(4000);
    expect(t.invocationMs).toBe(9000);
    expect(t.groups.map((g) => [g.group, g.stages, g.ms, g.share])).toEqual([
      ['expansions', 1, 1000, 0.25],
      ['candidates', 1, 100, 0.025],
      ['preferences', 0, 0, 0],
      ['DPO', 1, 1500, 0.375],
      ['retriever training', 1, 600, 0.15],
      ['evaluation', 2, 750, 0.1875],
      ['other', 1, 50, 0.0125],
    ]);
    expect(timingSection({ timings: { stages: {} } })).toEqual({ missing: expect.stringMatching(/timings\.json lists no stage/) });
  });
});

describe('the whole analysis', () => {
  it('prints a missing line per section for an empty run, naming the file', () => {
    const md = analysisMarkdown(analyzeRun({}), 'Analysis of nothing');
    expect(md.match(/^## \d\. /gm)).toHaveLength(7);
    for (const file of ['expansions/LLM-test/expansions.jsonl', 'preferences.json missing', 'figures.json (curves) missing', 'per-query.json missing', 'timings.json missing']) expect(md).toContain(file);
    expect(md).toContain('No config (run.json)');
  });

  it('renders the tables of a run with everything', () => {
    const a = analyzeRun({
      config: CONFIG,
      perQuery: { Raw: { q1: 0.5 }, 'Raw+expansion': { q1: 1 }, FT: { q1: 0.5 }, ExpandR: { q1: 1 } },
      preferences: { 'round-1': RECORDS },
      curves: [{ stage: 'dpo:round-1', kind: 'dpo', points: [{ step: 1, loss: 0.6931, chosenReward: 0, rejectedReward: 0, margin: 0 }] }],
      dpoCheckpoints: { 'round-1': [{ step: 1, loss: 0.6931, accuracy: 0 }] },
      timings: { stages: { 'expansions:base:test': 1500 } },
      expansions: { base: { q1: 'a b c', q2: 'a', q3: 'a b c d e f' }, 'round-1': { q1: 'x | y' } },
    });
    const md = analysisMarkdown(a, 'T');
    expect(md).toContain('| base | Raw+expansion, w/o LLM training | 3 | 3.3 | 3.0 | 5.4 |');
    expect(md).toContain('| round-1 | 4 | 3 | 2 | 1 (25.0%; 33.3% of scored) | empty answer 1 | 1.500 | 2 (66.7%) | 2.000 | 1.000 |');
    expect(md).toContain('| 1 | 0.6931 | 0.0000 | 0.0000 | 0.0000 | 0.00 |');
    expect(md).toContain('| round-1 | 2 | 1 (50.0%) | 1 (50.0%) | 0 (0.0%) | 8.0 | 6.0 | 2.0 |');
    expect(md).toContain('| Raw+expansion | Raw | 1 | 1 | 0 | 0 | +0.5000 | — | +0.5000 |');
    expect(md).toContain('| Raw+expansion | Raw | 0 | 1: 1 up / 0 down, +0.5000 | 0 |');
    expect(md).toContain('**After DPO** (ExpandR\'s adapter). x \\| y');
    expect(md).toContain('| expansions | 1 | 1.5 | 100.0% |');
  });
});
