// The BEIR data model shared by import, store, retrieval and evaluation.

/** One corpus document. BEIR's `_id` becomes `id`; a missing title is ''. */
export interface BeirDoc {
  id: string;
  title: string;
  text: string;
}

/** One query. BEIR's `_id` becomes `id`. */
export interface BeirQuery {
  id: string;
  text: string;
}

/** Relevance judgements: query id → doc id → graded relevance (integer, may be 0 or negative). */
export type Qrels = Map<string, Map<string, number>>;

/** "Flat" document text as Pyserini's BEIR flat indexes and the paper use it: title + " " + text. */
export function flatText(doc: BeirDoc): string {
  return doc.title ? `${doc.title} ${doc.text}` : doc.text;
}
