// Eqs. 11–14 on hand-computed examples: ranks and ties, the ablations, the filter boundary, skips, pairs.
import { describe, expect, it } from 'vitest';
import type { TextKind } from '../../src/encoder/types.ts';
import type { QueryCandidates } from '../../src/pipeline/candidates.ts';
import { buildPreferences, encoderEmbed, pairsToJsonl, summarizePreferences, type EmbedFn } from '../../src/pipeline/preferences.ts';
import { q2dPrompt } from '../../src/pipeline/prompts.ts';
import { choosePair, combineReward, competitionRanks, cosine, passesFilter, rankSimilarity, scoreCandidates } from '../../src/pipeline/rewards.ts';
import { parsePreferencePairs } from '../../src/llm/dpo-data.ts';
import { progressLog } from './helpers/beir-files.ts';

const v = (...x: number[]) => Float32Array.from(x);
const BOTH = { retrieverReward: true, selfReward: true, filter: 0.6 };
const close = (a: number[], b: number[]) => a.forEach((x, i) => expect(x).toBeCloseTo(b[i], 12));

// d* = (1, 0), y = (0, 1); e3 points like e0 but is twice as long (a cosine tie, a dot-product win).
const GOLD = v(1, 0);
const ANSWER = v(0, 1);
const CANDS = [v(1, 0), v(0, 1), v(1, 1), v(2, 0)];

describe('ranks', () => {
  it('are competition ranks: 1 = most similar, ties share the best rank', () => {
    expect(competitionRanks([0.2, 0.9, 0.5, 0.9, 0.1])).toEqual([4, 1, 3, 1, 5]);
    expect(competitionRanks([1, 1, 1])).toEqual([1, 1, 1]);
    expect(competitionRanks([])).toEqual([]);
  });

  it('treat float32-noise differences as ties', () => {
    expect(competitionRanks([0.5, 0.5 + 1e-9, 0.4])).toEqual([1, 1, 3]);
    expect(competitionRanks([1000, 1000 + 1e-4, 3])).toEqual([1, 1, 3]); // relative tolerance
    expect(competitionRanks([0.5, 0.5 + 1e-4])).toEqual([2, 1]);
  });
});

describe('scoreCandidates (Eqs. 11, 13, 14)', () => {
  it('cosine ranks, both terms', () => {
    const s = scoreCandidates({ gold: GOLD, answer: ANSWER, candidates: CANDS }, BOTH, 'cosine');
    // by d*: cos 1, 0, .707, 1 → ranks 1, 4, 3, 1;  by y: cos 0, 1, .707, 0 → ranks 3, 1, 2, 3
    close(s.retrieverReward, [1, 1 / 4, 1 / 3, 1]);
    close(s.selfReward, [1 / 3, 1, 1 / 2, 1 / 3]);
    close(s.reward, [4 / 3, 5 / 4, 5 / 6, 4 / 3]);
    close(s.cosSum, [1, 1, Math.SQRT2, 1]);
    expect(choosePair(s.reward)).toEqual({ chosen: 0, rejected: 2 }); // argmax: first of the tied 4/3
  });

  it('dot-product ranks see the length of e3', () => {
    const s = scoreCandidates({ gold: GOLD, answer: ANSWER, candidates: CANDS }, BOTH, 'dot');
    // by d*: dot 1, 0, 1, 2 → ranks 2, 4, 2, 1;  by y: dot 0, 1, 1, 0 → ranks 3, 1, 1, 3
    close(s.retrieverReward, [1 / 2, 1 / 4, 1 / 2, 1]);
    close(s.selfReward, [1 / 3, 1, 1, 1 / 3]);
    close(s.reward, [5 / 6, 5 / 4, 3 / 2, 4 / 3]);
    close(s.cosSum, [1, 1, Math.SQRT2, 1]); // the filter's quantity stays cosine
    expect(choosePair(s.reward)).toEqual({ chosen: 2, rejected: 0 });
  });

  it('w/o self-reward keeps only 1/rank(e | d*)', () => {
    const s = scoreCandidates({ gold: GOLD, answer: ANSWER, candidates: CANDS }, { ...BOTH, selfReward: false }, 'cosine');
    close(s.reward, [1, 1 / 4, 1 / 3, 1]);
    expect(choosePair(s.reward)).toEqual({ chosen: 0, rejected: 1 });
  });

  it('w/o retriever reward keeps only 1/rank(e | y)', () => {
    const s = scoreCandidates({ gold: GOLD, answer: ANSWER, candidates: CANDS }, { ...BOTH, retrieverReward: false }, 'cosine');
    close(s.reward, [1 / 3, 1, 1 / 2, 1 / 3]);
    expect(choosePair(s.reward)).toEqual({ chosen: 1, rejected: 0 });
  });

  it('refuses to drop both terms', () => {
    expect(() => combineReward(1, 1, { retrieverReward: false, selfReward: false })).toThrow(/both off/);
  });
});

describe('filter and pair choice', () => {
  it('keeps a query whose best cos sum equals the threshold exactly', () => {
    // cos((1,0), (3,4)) = 3/5 = 0.6 and cos((-4,3), (3,4)) = 0: the sum is exactly 0.6.
    const s = scoreCandidates({ gold: v(1, 0), answer: v(-4, 3), candidates: [v(3, 4), v(0, -1)] }, BOTH, 'cosine');
    expect(Math.max(...s.cosSum)).toBe(0.6);
    expect(passesFilter(s.cosSum, 0.6)).toBe(true);
    expect(passesFilter(s.cosSum, 0.6 + 1e-12)).toBe(false);
  });

  it('cosine of a zero vector is 0', () => {
    expect(cosine(v(0, 0), v(1, 2))).toBe(0);
  });

  it('no pair when every reward is equal or there is one candidate', () => {
    expect(choosePair([2, 2, 2])).toBeNull();
    expect(choosePair([1])).toBeNull();
    expect(choosePair([0.5, 1, 0.5, 1])).toEqual({ chosen: 1, rejected: 0 });
  });

  it('rank similarity follows the retriever', () => {
    expect(rankSimilarity({ normalize: false, similarity: 'dot' }, 'contriever')).toBe('cosine');
    expect(rankSimilarity({ normalize: false, similarity: 'dot' }, 'raw')).toBe('dot');
    expect(rankSimilarity({ normalize: true, similarity: 'dot' }, 'raw')).toBe('cosine');
  });
});

/** An EmbedFn from a table of text → vector, recording every call. */
function tableEmbed(table: Record<string, Float32Array>) {
  const calls: { texts: string[]; kind: TextKind }[] = [];
  const embed: EmbedFn = async (texts, kind) => {
    calls.push({ texts, kind });
    return texts.map((t) => {
      const e = table[t];
      if (!e) throw new Error(`no vector for ${t}`);
      return e;
    });
  };
  return { embed, calls };
}

describe('buildPreferences', () => {
  const table: Record<string, Float32Array> = { gold: GOLD, answer: ANSWER, a: CANDS[0], b: CANDS[1], c: CANDS[2], d: CANDS[3], same: v(1, 1), far: v(-1, 0) };
  const cands = (...texts: string[]) => texts.map((text, i) => ({ text, temperature: 0.8 + 0.1 * i, sample: i }));
  const q = (qid: string, goldDoc = 'gold') => ({ qid, query: `query ${qid}`, goldDocId: `d${qid}`, goldDoc });

  it('scores, skips and pairs each query as documented', async () => {
    const sets: QueryCandidates[] = [
      { qid: '1', answer: 'answer', candidates: cands('a', 'b', 'c', 'd') },
      { qid: '2', answer: '', candidates: cands('a', 'b') },
      { qid: '3', answer: 'answer', candidates: cands('same', 'same') },
      { qid: '4', answer: 'answer', candidates: cands('far', 'far') },
      { qid: '5', answer: 'answer', candidates: cands('a') },
      { qid: '6', answer: 'answer', candidates: cands('a', 'b') },
    ];
    const { embed, calls } = tableEmbed(table);
    const log = progressLog();
    const { records, pairs } = await buildPreferences(sets, [q('1'), q('2'), q('3'), q('4'), q('5'), q('6', '')], embed, { rewards: BOTH, similarity: 'cosine', queriesPerBatch: 2, onProgress: log.onProgress });
    expect(records.map((r) => r.skipped)).toEqual([undefined, 'empty answer', 'all rewards equal', 'below filter', 'too few candidates', 'no gold document']);
    const r1 = records[0];
    expect([r1.chosen, r1.rejected]).toEqual([0, 2]);
    close(r1.candidates.map((c) => c.reward), [4 / 3, 5 / 4, 5 / 6, 4 / 3]);
    expect(r1.candidates[0]).toMatchObject({ text: 'a', temperature: 0.8, words: 1 });
    // The empty-answer query is never embedded and its numbers stay 0.
    expect(calls.flatMap((c) => c.texts)).not.toContain('');
    expect(records[1].candidates.every((c) => c.reward === 0 && c.cosSum === 0)).toBe(true);
    expect(pairs).toEqual([{ prompt: q2dPrompt('query 1'), chosen: 'a', rejected: 'c' }]);
    // Kinds: candidates and answers as queries, d* as a document; two queries per round.
    expect(calls.map((c) => c.kind)).toEqual(['query', 'query', 'doc', 'query', 'query', 'doc']);
    expect(calls[1].texts).toEqual(['a', 'b', 'c', 'd', 'same', 'same']);
    expect(log.monotone()).toBe(true);
    expect(log.stages().get('pipeline:rewards')).toMatchObject({ done: 3, total: 3 }) // queries 1, 3, 4 reach scoring;
    expect(summarizePreferences(records)).toMatchObject({ queries: 6, pairs: 1, skipped: { 'empty answer': 1, 'all rewards equal': 1, 'below filter': 1, 'too few candidates': 1, 'no gold document': 1 } });
  });

  it('pairs round-trip through the train-llm JSONL reader', async () => {
    const { embed } = tableEmbed(table);
    const { pairs } = await buildPreferences([{ qid: '1', answer: 'answer', candidates: cands('a', 'b', 'c', 'd') }], [q('1')], embed, { rewards: BOTH, similarity: 'dot' });
    expect(parsePreferencePairs(pairsToJsonl(pairs))).toEqual(pairs);
    expect(pairs[0]).toMatchObject({ chosen: 'c', rejected: 'a' });
  });

  it('encoderEmbed splits the encoder output into rows', async () => {
    const encoder = { dim: 2, encode: async (texts: string[]) => Float32Array.from(texts.flatMap((t) => [t.length, 1])) };
    const rows = await encoderEmbed(encoder)(['a', 'abc'], 'query');
    expect(rows.map((r) => [...r])).toEqual([[1, 1], [3, 1]]);
    expect(await encoderEmbed(encoder)([], 'doc')).toEqual([]);
  });
});
