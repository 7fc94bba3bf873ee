// What the store keeps about each imported dataset.

export type DatasetStatus = 'importing' | 'ready';

export interface DatasetInfo {
  /** Fresh per import (two imports of the same files are two datasets). */
  id: string;
  /** Shown to the user; unique among stored datasets ('scifact', 'scifact (2)', ...). */
  name: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
  /** Last write during import: an 'importing' dataset that stops changing was left by a closed tab. */
  updatedAt: number;
  /** Paths of the files as dropped. */
  source: string[];
  /** Content checksum of the decompressed files ('sha256:…', see data/read-beir.ts ReadSummary.checksum). */
  checksum: string;
  /** SHA-256 of each decompressed file by canonical name ('corpus.jsonl', 'qrels/test.tsv'): compare with sha256sum. */
  fileSha256: Record<string, string>;
  status: DatasetStatus;
  counts: { docs: number; queries: number; qrelLines: number };
  /** Per split: queries with judgements, judgements. */
  splits: Record<string, { queries: number; qrels: number }>;
  /** Import warnings, one readable sentence each. */
  warnings: string[];
}
