// The IndexedDB schema, versioned. To change it: bump DB_VERSION and add the next `case` to upgrade();
// each case migrates from version v to v + 1, so a browser on any older version walks up one step at a time.
import type { DBSchema, IDBPDatabase, IDBPTransaction, StoreNames } from 'idb';
import type { DatasetInfo } from './types.ts';

export const DB_NAME = 'expandr';
export const DB_VERSION = 2;

/** A document row. Key [datasetId, seq]: seq is the import order, so a key range walks the corpus in order. */
export interface DocRow {
  datasetId: string;
  seq: number;
  id: string;
  title: string;
  text: string;
}

/** A query row, keyed like documents so that queries come back in file order. */
export interface QueryRow {
  datasetId: string;
  seq: number;
  id: string;
  text: string;
}

/** Judgements of one split, in parts of at most QRELS_PART lines, stored column-wise (cheap to clone). */
export interface QrelsRow {
  datasetId: string;
  split: string;
  part: number;
  qids: string[];
  docids: string[];
  scores: number[];
}

/**
 * Anything computed from a dataset (BM25 index, runs, embeddings): any structured-cloneable value.
 * Bulk values (embedding chunks, training checkpoints) are stored sealed, with a checksum inside the value
 * (sealed.ts), so checksums needed no schema change: rows written before them have none and are read
 * unverified rather than migrated (re-hashing a value that may already be damaged would bless it).
 */
export interface ArtifactRow {
  datasetId: string;
  key: string;
  value: unknown;
}

export interface ExpandrDB extends DBSchema {
  datasets: { key: string; value: DatasetInfo };
  docs: { key: [string, number]; value: DocRow; indexes: { byId: [string, string] } };
  queries: { key: [string, number]; value: QueryRow; indexes: { byId: [string, string] } };
  qrels: { key: [string, string, number]; value: QrelsRow };
  artifacts: { key: [string, string]; value: ArtifactRow };
  modelFiles: { key: [string, string, string]; value: ModelFileRow };
}

/**
 * One file of a cached model (v2), e.g. ('hf:BAAI/bge-small-en-v1.5', 'main', 'model.safetensors').
 * Not tied to a dataset: a model serves every dataset, and deleting a dataset keeps it.
 */
export interface ModelFileRow {
  /** Where the model came from: 'hf:<id>' for the Hugging Face Hub, 'local:<model hash>' for a drop. */
  source: string;
  /** Hub revision (branch, tag or commit); '' for a drop. */
  revision: string;
  /** Path inside the model folder, '/'-separated: 'config.json', '1_Pooling/config.json'. */
  file: string;
  /** Checked on read against the SHA-256 the model's manifest entry records (sources-cache.ts; chunks: chunked-file.ts). */
  bytes: Uint8Array;
  /** Milliseconds since the epoch. */
  storedAt: number;
}

/** Every store whose rows belong to a dataset (all keys start with the dataset id). */
export const DATASET_ROW_STORES = ['docs', 'queries', 'qrels', 'artifacts'] as const;

export function upgrade(
  db: IDBPDatabase<ExpandrDB>,
  oldVersion: number,
  newVersion: number,
  _tx: IDBPTransaction<ExpandrDB, StoreNames<ExpandrDB>[], 'versionchange'>,
): void {
  for (let v = oldVersion; v < newVersion; v++) {
    switch (v) {
      case 0: {
        db.createObjectStore('datasets', { keyPath: 'id' });
        const docs = db.createObjectStore('docs', { keyPath: ['datasetId', 'seq'] });
        docs.createIndex('byId', ['datasetId', 'id'], { unique: true });
        const queries = db.createObjectStore('queries', { keyPath: ['datasetId', 'seq'] });
        queries.createIndex('byId', ['datasetId', 'id'], { unique: true });
        db.createObjectStore('qrels', { keyPath: ['datasetId', 'split', 'part'] });
        db.createObjectStore('artifacts', { keyPath: ['datasetId', 'key'] });
        break;
      }
      case 1:
        // v2: model files cached for offline use (Hugging Face downloads, dropped models).
        db.createObjectStore('modelFiles', { keyPath: ['source', 'revision', 'file'] });
        break;
      default:
        throw new Error(`No migration from database version ${v}: this build only knows up to ${DB_VERSION}`);
    }
  }
}
