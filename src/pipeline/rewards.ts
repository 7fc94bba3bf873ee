// The reward model of ExpandR (paper §3.3, Eqs. 11–14), as pure functions of embeddings:
//   R_retriever(e) = 1 / rank(e | d*)   rank of e among the query's candidates by sim(d*, e)     (Eq. 14)
//   R_self(e)      = 1 / rank(e | y)    rank of e among the query's candidates by sim(y, e)      (Eq. 13)
//   R(e)           = R_self(e) + R_retriever(e)    (an ablation keeps one term)                 (Eq. 11)
// and the query filter of the reference code: skip when max_e cos(d*, e) + cos(y, e) < filter (0.6).
//
// Similarities. Ranks use the retriever's own similarity (rankSimilarity): cosine when it works with unit
// vectors (a normalising encoder, cosine scoring, or Eq. 8's 'contriever' variant, where the expansion's
// share of a score is exactly cos(e, d)/2), else the raw dot product ('raw' / AnchorDR, where it is
// dot(e, d)/2). The filter always uses cosine, as the reference code (normalised Contriever) did, so its
// 0.6 keeps its meaning whatever the encoder's scale.
//
// Ties: competition ("1224") ranking — rank(e) = 1 + the number of candidates scoring strictly higher, so
// tied candidates share the best rank of their group and get equal rewards. Scores within
// TIE_TOLERANCE (relative, at least absolute) count as tied: identical texts encoded in different padded
// batches differ in the last float32 bits and must not be ranked apart.
import type { ExpansionNorm } from '../retrieval/dense/expanded-query.ts';
import type { RewardSettings } from './config.ts';

export type Similarity = 'dot' | 'cosine';

/** Two scores closer than this (× max(1, |a|, |b|)) are tied. */
export const TIE_TOLERANCE = 1e-6;

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`dot: vectors of ${a.length} and ${b.length} values`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Cosine similarity in float64; 0 when either vector is all zeros. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const na = Math.sqrt(dot(a, a));
  const nb = Math.sqrt(dot(b, b));
  return na === 0 || nb === 0 ? 0 : dot(a, b) / (na * nb);
}

export const similarityFn = (similarity: Similarity): ((a: ArrayLike<number>, b: ArrayLike<number>) => number) => (similarity === 'cosine' ? cosine : dot);

/** The similarity ranks use, from the encoder's settings and the Eq. 8 variant (see the header). */
export function rankSimilarity(settings: { normalize: boolean; similarity: 'dot' | 'cosine' }, norm: ExpansionNorm): Similarity {
  return norm === 'contriever' || settings.normalize || settings.similarity === 'cosine' ? 'cosine' : 'dot';
}

const tied = (a: number, b: number) => Math.abs(a - b) <= TIE_TOLERANCE * Math.max(1, Math.abs(a), Math.abs(b));

/** Competition ranks, 1 = highest score; ties (within TIE_TOLERANCE) share the best rank. */
export function competitionRanks(scores: readonly number[]): number[] {
  return scores.map((s) => 1 + scores.filter((t) => t > s && !tied(t, s)).length);
}

/** Eq. 11 with the ablations; throws when both terms are off (no reward at all). */
export function combineReward(retrieverReward: number, selfReward: number, settings: Pick<RewardSettings, 'retrieverReward' | 'selfReward'>): number {
  if (!settings.retrieverReward && !settings.selfReward) throw new RangeError('rewards.retrieverReward and rewards.selfReward are both off: turn at least one on.');
  return (settings.retrieverReward ? retrieverReward : 0) + (settings.selfReward ? selfReward : 0);
}

export interface CandidateScores {
  /** 1/rank by sim(d*, e). */
  retrieverReward: number[];
  /** 1/rank by sim(y, e). */
  selfReward: number[];
  /** Eq. 11 per RewardSettings. */
  reward: number[];
  /** cos(d*, e) + cos(y, e). */
  cosSum: number[];
}

/** Rewards of one query's candidates from the embeddings of d*, y and each candidate. */
export function scoreCandidates(
  embeddings: { gold: ArrayLike<number>; answer: ArrayLike<number>; candidates: readonly ArrayLike<number>[] },
  settings: Pick<RewardSettings, 'retrieverReward' | 'selfReward'>,
  similarity: Similarity,
): CandidateScores {
  const sim = similarityFn(similarity);
  const byGold = competitionRanks(embeddings.candidates.map((e) => sim(embeddings.gold, e)));
  const byAnswer = competitionRanks(embeddings.candidates.map((e) => sim(embeddings.answer, e)));
  const retrieverReward = byGold.map((r) => 1 / r);
  const selfReward = byAnswer.map((r) => 1 / r);
  return {
    retrieverReward,
    selfReward,
    reward: retrieverReward.map((r, i) => combineReward(r, selfReward[i], settings)),
    cosSum: embeddings.candidates.map((e) => cosine(embeddings.gold, e) + cosine(embeddings.answer, e)),
  };
}

/** True when the query passes the filter: max_e (cos(d*, e) + cos(y, e)) ≥ filter (equality passes). */
export function passesFilter(cosSum: readonly number[], filter: number): boolean {
  return cosSum.length > 0 && Math.max(...cosSum) >= filter;
}

/**
 * chosen = argmax R, rejected = argmin R (first index on ties, as numpy's argmax/argmin); null when all
 * rewards are equal (no preference to learn).
 */
export function choosePair(reward: readonly number[]): { chosen: number; rejected: number } | null {
  if (reward.length < 2) return null;
  let chosen = 0;
  let rejected = 0;
  for (let i = 1; i < reward.length; i++) {
    if (reward[i] > reward[chosen]) chosen = i;
    if (reward[i] < reward[rejected]) rejected = i;
  }
  return reward[chosen] === reward[rejected] ? null : { chosen, rejected };
}
