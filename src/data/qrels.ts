// What a split's relevance judgements say about its queries: which queries a split evaluates, and the
// gold document d* of a training query (the Q2A prompt, the candidates and the rewards use it).
import type { BeirQuery, Qrels } from './types.ts';

/** The queries a split evaluates: those named in its qrels, in query-file order (as BEIR loads a split). */
export function splitQueries(all: Iterable<BeirQuery>, qrels: Qrels): BeirQuery[] {
  return [...all].filter((q) => qrels.has(q.id));
}

/**
 * The gold document d* of a query: the judged document with the highest relevance among those in the
 * corpus (`has`), ties by judgement order (the qrels file's order); null when none is relevant (rel > 0).
 */
export function pickGoldDoc(judged: Iterable<readonly [string, number]>, has: (docId: string) => boolean): string | null {
  let best: string | null = null;
  let bestRel = 0;
  for (const [id, rel] of judged) {
    if (rel > bestRel && has(id)) {
      best = id;
      bestRel = rel;
    }
  }
  return best;
}

/** pickGoldDoc for query `qid` of `qrels`. */
export function goldDocOf(qrels: Qrels, qid: string, has: (docId: string) => boolean): string | null {
  return pickGoldDoc(qrels.get(qid) ?? [], has);
}
