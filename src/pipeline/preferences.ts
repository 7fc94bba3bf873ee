// Preference records and DPO pairs from candidates, answers and the current retriever (paper §3.3,
// Eqs. 11–16; the arithmetic is in rewards.ts). Per train query, in this order:
//   no gold document  → skipped 'no gold document'
//   < 2 candidates    → skipped 'too few candidates'
//   empty answer y    → skipped 'empty answer' (nothing is embedded; the candidates' numbers stay 0)
//   embed d*, y and the candidates; ranks, rewards, cos sums
//   max cos sum < filter → skipped 'below filter'
//   all rewards equal    → skipped 'all rewards equal'
//   else chosen = argmax R, rejected = argmin R, and a pair {prompt: Q2D prompt, chosen, rejected}.
//
// The embedding seam is EmbedFn; encoderEmbed backs it with an Encoder (BertEncoder.encode). Text kinds
// (REWARD_TEXT_KINDS) follow how each text meets the retriever at search time: a candidate is part of the
// query (Eq. 8 encodes expansions as queries, app/dense-eval.ts), d* is a document, and y is "treated as a
// query" (paper, Eq. 13). For encoders without prefixes (Contriever, the reference) kinds change nothing.
import type { Encoder, TextKind } from '../encoder/types.ts';
import { throwIfAborted } from '../errors.ts';
import type { PreferencePair } from '../llm/dpo-data.ts';
import type { WorkOptions } from '../util/progress.ts';
import type { QueryCandidates } from './candidates.ts';
import type { RewardSettings } from './config.ts';
import { q2dPrompt } from './prompts.ts';
import { choosePair, passesFilter, scoreCandidates, type Similarity } from './rewards.ts';
import type { PreferenceRecord, QueryWithGold, ScoredCandidate } from './types.ts';

/** Embeddings of `texts` (one Float32Array per text, in order) as the current retriever encodes `kind`. */
export type EmbedFn = (texts: string[], kind: TextKind) => Promise<Float32Array[]>;

export const REWARD_TEXT_KINDS: Readonly<Record<'gold' | 'answer' | 'candidate', TextKind>> = Object.freeze({ gold: 'doc', answer: 'query', candidate: 'query' });

/** Queries embedded per round of EmbedFn calls (32 × 33 texts ≈ 1,000 per call). */
export const DEFAULT_REWARD_QUERIES_PER_BATCH = 32;

/** EmbedFn over an Encoder: encode() returns [n × dim] row-major, split here into rows. */
export function encoderEmbed(encoder: Pick<Encoder, 'encode' | 'dim'>, options: WorkOptions & { batchSize?: number } = {}): EmbedFn {
  return async (texts, kind) => {
    if (texts.length === 0) return [];
    const flat = await encoder.encode(texts, kind, { batchSize: options.batchSize, signal: options.signal });
    const d = encoder.dim;
    return texts.map((_, i) => flat.subarray(i * d, (i + 1) * d));
  };
}

export interface PreferenceOptions extends WorkOptions {
  rewards: RewardSettings;
  /** Ranking similarity: rankSimilarity(encoder.settings, config.encoder.expansionNorm). */
  similarity: Similarity;
  /** Queries per round of embedding calls (default DEFAULT_REWARD_QUERIES_PER_BATCH). */
  queriesPerBatch?: number;
}

const words = (t: string) => (t.trim() ? t.trim().split(/\s+/).length : 0);

const unscored = (c: QueryCandidates['candidates'][number]): ScoredCandidate => ({ text: c.text, temperature: c.temperature, retrieverReward: 0, selfReward: 0, reward: 0, cosSum: 0, words: words(c.text) });

/**
 * One record per query (in `queries` order) and the DPO pairs of the records that were not skipped.
 * `sets` are matched to queries by qid. Progress: stage 'pipeline:rewards', unit 'queries'.
 */
export async function buildPreferences(
  sets: readonly QueryCandidates[],
  queries: readonly QueryWithGold[],
  embed: EmbedFn,
  options: PreferenceOptions,
): Promise<{ records: PreferenceRecord[]; pairs: PreferencePair[] }> {
  const byQid = new Map(sets.map((s) => [s.qid, s]));
  const records: PreferenceRecord[] = [];
  const toScore: { record: PreferenceRecord; set: QueryCandidates; gold: string }[] = [];
  for (const q of queries) {
    const set = byQid.get(q.qid) ?? { qid: q.qid, answer: '', candidates: [] };
    const record: PreferenceRecord = { qid: q.qid, query: q.query, goldDocId: q.goldDocId, answer: set.answer, candidates: set.candidates.map(unscored), chosen: -1, rejected: -1 };
    records.push(record);
    if (!q.goldDoc.trim()) record.skipped = 'no gold document';
    else if (set.candidates.length < 2) record.skipped = 'too few candidates';
    else if (!set.answer.trim()) record.skipped = 'empty answer';
    else toScore.push({ record, set, gold: q.goldDoc });
  }

  const per = Math.max(1, options.queriesPerBatch ?? DEFAULT_REWARD_QUERIES_PER_BATCH);
  const stage = 'pipeline:rewards';
  options.onProgress?.({ stage, done: 0, total: toScore.length, unit: 'queries' });
  for (let b = 0; b < toScore.length; b += per) {
    throwIfAborted(options.signal, 'Scoring candidates');
    const group = toScore.slice(b, b + per);
    const aVecs = await embed(group.map((g) => g.set.answer), REWARD_TEXT_KINDS.answer);
    const cVecs = await embed(group.flatMap((g) => g.set.candidates.map((c) => c.text)), REWARD_TEXT_KINDS.candidate);
    const gVecs = await embed(group.map((g) => g.gold), REWARD_TEXT_KINDS.gold);
    let off = 0;
    group.forEach((g, k) => {
      const n = g.set.candidates.length;
      const candidates = cVecs.slice(off, off + n);
      off += n;
      const answer = aVecs[k];
      const s = scoreCandidates({ gold: gVecs[k], answer, candidates }, options.rewards, options.similarity);
      g.record.candidates = g.set.candidates.map((c, i) => ({
        text: c.text,
        temperature: c.temperature,
        retrieverReward: s.retrieverReward[i],
        selfReward: s.selfReward[i],
        reward: s.reward[i],
        cosSum: s.cosSum[i],
        words: words(c.text),
      }));
      if (!passesFilter(s.cosSum, options.rewards.filter)) {
        g.record.skipped = 'below filter';
        return;
      }
      const pair = choosePair(s.reward);
      if (!pair) g.record.skipped = 'all rewards equal';
      else Object.assign(g.record, pair);
    });
    options.onProgress?.({ stage, done: Math.min(b + per, toScore.length), total: toScore.length, unit: 'queries' });
  }
  return { records, pairs: preferencePairs(records) };
}

/** The DPO pairs of the records with a chosen and a rejected candidate, prompt = the query's Q2D prompt. */
export function preferencePairs(records: readonly PreferenceRecord[]): PreferencePair[] {
  return records
    .filter((r) => r.chosen >= 0 && r.rejected >= 0 && !r.skipped)
    .map((r) => ({ prompt: q2dPrompt(r.query), chosen: r.candidates[r.chosen].text, rejected: r.candidates[r.rejected].text }));
}

/** JSONL of pairs, the format `expandr train-llm --pairs` reads (llm/dpo-data.ts parsePreferencePairs). */
export function pairsToJsonl(pairs: readonly PreferencePair[]): string {
  return pairs.map((p) => JSON.stringify({ prompt: p.prompt, chosen: p.chosen, rejected: p.rejected }) + '\n').join('');
}

export interface PreferenceSummary {
  queries: number;
  pairs: number;
  /** Skipped queries by reason. */
  skipped: Record<string, number>;
  /** Means over the pairs (NaN without pairs). */
  meanChosenReward: number;
  meanRejectedReward: number;
}

/** Counts for a status line or the reward-curve figure. */
export function summarizePreferences(records: readonly PreferenceRecord[]): PreferenceSummary {
  const skipped: Record<string, number> = {};
  let c = 0;
  let r = 0;
  let n = 0;
  for (const rec of records) {
    if (rec.skipped) skipped[rec.skipped] = (skipped[rec.skipped] ?? 0) + 1;
    else if (rec.chosen >= 0) {
      c += rec.candidates[rec.chosen].reward;
      r += rec.candidates[rec.rejected].reward;
      n++;
    }
  }
  return { queries: records.length, pairs: n, skipped, meanChosenReward: n ? c / n : NaN, meanRejectedReward: n ? r / n : NaN };
}
