// Runs: what a retriever returns for a query set.

export interface Hit {
  docId: string;
  score: number;
}

/** query id → hits. Order of hits is irrelevant to evaluation (trec_eval re-sorts by score, then doc id). */
export type Run = Map<string, Hit[]>;
