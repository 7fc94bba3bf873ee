// The IndexedDB store (through idb): datasets, their documents, queries and judgements, and artifacts
// computed from them. IndexedDB commits a transaction as soon as it is left idle (e.g. while awaiting
// anything that is not IndexedDB), so every method here keeps each transaction purely IndexedDB and
// long reads are split into one transaction per batch.
import { wrap, type IDBPDatabase } from 'idb';
import { NotFoundError } from '../errors.ts';
import type { BeirDoc, BeirQuery, Qrels } from '../data/types.ts';
import { DATASET_ROW_STORES, DB_NAME, DB_VERSION, upgrade, type ExpandrDB, type ModelFileRow } from './schema.ts';
import type { DatasetInfo } from './types.ts';
import { ImportWriter, type ImportInit } from './writer.ts';

/** An 'importing' dataset untouched this long was left by a closed tab (a live import writes every batch). */
export const STALE_IMPORT_MS = 5 * 60_000;

export interface OpenStoreOptions {
  dbName?: string;
  /** Defaults to the global indexedDB; tests pass a fresh fake-indexeddb IDBFactory each. */
  idbFactory?: IDBFactory;
  /** Remove stale 'importing' datasets on open (default true). */
  cleanup?: boolean;
}

export async function openStore(opts: OpenStoreOptions = {}): Promise<Store> {
  const factory = opts.idbFactory ?? globalThis.indexedDB;
  // idb recognises requests and transactions through the global IDB classes, so those must exist even
  // with an injected factory (fake-indexeddb's classes are shared by all its factories).
  if (!factory || typeof globalThis.IDBRequest === 'undefined' || typeof globalThis.IDBKeyRange === 'undefined') {
    throw new NotFoundError(
      "IndexedDB is not available here: use a current Chrome. (In Node tests: import 'fake-indexeddb/auto' to install its classes, then pass a fresh IDBFactory.)",
    );
  }
  // idb's openDB always uses the global indexedDB, so open through the given factory and wrap the request.
  const request = factory.open(opts.dbName ?? DB_NAME, DB_VERSION);
  request.addEventListener('upgradeneeded', (event) => {
    upgrade(wrap(request.result) as IDBPDatabase<ExpandrDB>, event.oldVersion, event.newVersion ?? DB_VERSION, wrap(request.transaction!) as never);
  });
  const db = (await wrap(request)) as IDBPDatabase<ExpandrDB>;
  // Another tab wants a newer schema: step aside rather than block it.
  db.addEventListener('versionchange', () => db.close());
  const store = new Store(db, globalThis.IDBKeyRange);
  if (opts.cleanup ?? true) await store.cleanupIncomplete();
  return store;
}

export class Store {
  /** Imports running through this Store: never cleaned up as stale. */
  private readonly active = new Set<string>();

  constructor(
    private readonly db: IDBPDatabase<ExpandrDB>,
    private readonly range: typeof IDBKeyRange,
  ) {}

  /** Every key of a dataset's rows starts with its id: [id] ≤ key < [id, []] (arrays sort after strings and numbers). */
  private all(datasetId: string): IDBKeyRange {
    return this.range.bound([datasetId], [datasetId, []]);
  }

  /** Datasets ready to use, oldest first. */
  async listDatasets(): Promise<DatasetInfo[]> {
    const all = await this.db.getAll('datasets');
    return all.filter((d) => d.status === 'ready').sort((a, b) => a.createdAt - b.createdAt);
  }

  /** Any stored dataset, including one still importing; undefined when there is none with this id. */
  async getDataset(id: string): Promise<DatasetInfo | undefined> {
    return this.db.get('datasets', id);
  }

  private async ready(id: string): Promise<DatasetInfo> {
    const info = await this.db.get('datasets', id);
    if (!info || info.status !== 'ready') {
      throw new NotFoundError(`Dataset ${id} is not in this browser's storage (it may have been deleted, or its import did not finish). Import it again.`);
    }
    return info;
  }

  /** Removes a dataset with all its documents, queries, judgements and artifacts, in one transaction. */
  async deleteDataset(id: string): Promise<void> {
    const tx = this.db.transaction(['datasets', ...DATASET_ROW_STORES], 'readwrite');
    await Promise.all([
      tx.objectStore('datasets').delete(id),
      ...DATASET_ROW_STORES.map((name) => tx.objectStore(name).delete(this.all(id))),
      tx.done,
    ]);
  }

  /** Documents in import order, `batchSize` at a time (one short transaction per batch). */
  async *iterateDocs(datasetId: string, batchSize = 1000): AsyncGenerator<BeirDoc[]> {
    await this.ready(datasetId);
    for (let next = 0; ; ) {
      const rows = await this.db.getAll('docs', this.range.bound([datasetId, next], [datasetId, Infinity]), batchSize);
      if (rows.length === 0) return;
      next = rows[rows.length - 1].seq + 1;
      yield rows.map(({ id, title, text }) => ({ id, title, text }));
      if (rows.length < batchSize) return;
    }
  }

  /** Documents by id, aligned with `ids` (undefined where a document is not in the dataset). */
  async getDocs(datasetId: string, ids: readonly string[]): Promise<(BeirDoc | undefined)[]> {
    await this.ready(datasetId);
    const tx = this.db.transaction('docs');
    const index = tx.store.index('byId');
    const rows = await Promise.all(ids.map((id) => index.get([datasetId, id])));
    await tx.done;
    return rows.map((r) => r && { id: r.id, title: r.title, text: r.text });
  }

  /** All queries, in file order. */
  async getQueries(datasetId: string): Promise<BeirQuery[]> {
    await this.ready(datasetId);
    const rows = await this.db.getAll('queries', this.all(datasetId));
    return rows.map(({ id, text }) => ({ id, text }));
  }

  /** The judgements of one split. */
  async getQrels(datasetId: string, split: string): Promise<Qrels> {
    const info = await this.ready(datasetId);
    if (!info.splits[split]) {
      throw new NotFoundError(`Dataset ${info.name} has no "${split}" split (it has: ${Object.keys(info.splits).join(', ')}).`);
    }
    const rows = await this.db.getAll('qrels', this.range.bound([datasetId, split], [datasetId, split, Infinity]));
    const qrels: Qrels = new Map();
    for (const r of rows) {
      for (let i = 0; i < r.qids.length; i++) {
        let m = qrels.get(r.qids[i]);
        if (!m) qrels.set(r.qids[i], (m = new Map()));
        m.set(r.docids[i], r.scores[i]);
      }
    }
    return qrels;
  }

  /** Stores a value computed from a dataset (any structured-cloneable value) under `key`, replacing any. */
  async putArtifact(datasetId: string, key: string, value: unknown): Promise<void> {
    const tx = this.db.transaction(['datasets', 'artifacts'], 'readwrite');
    // Checked in the same transaction, so an artifact can never outlive its dataset.
    const info = await tx.objectStore('datasets').get(datasetId);
    if (!info) {
      tx.abort();
      await tx.done.catch(() => {});
      throw new NotFoundError(`Cannot store "${key}": dataset ${datasetId} is not in this browser's storage.`);
    }
    await Promise.all([tx.objectStore('artifacts').put({ datasetId, key, value }), tx.done]);
  }

  async getArtifact<T = unknown>(datasetId: string, key: string): Promise<T | undefined> {
    return (await this.db.get('artifacts', [datasetId, key]))?.value as T | undefined;
  }

  async deleteArtifact(datasetId: string, key: string): Promise<void> {
    await this.db.delete('artifacts', [datasetId, key]);
  }

  /** Keys of a dataset's artifacts, sorted. */
  async listArtifacts(datasetId: string): Promise<string[]> {
    const keys = await this.db.getAllKeys('artifacts', this.all(datasetId));
    return keys.map((k) => k[1]);
  }

  /** One cached model file, or undefined. */
  async getModelFile(source: string, revision: string, file: string): Promise<Uint8Array | undefined> {
    return (await this.db.get('modelFiles', [source, revision, file]))?.bytes;
  }

  /** Caches one model file (replacing any). Quota errors surface as the browser's QuotaExceededError. */
  async putModelFile(source: string, revision: string, file: string, bytes: Uint8Array): Promise<void> {
    const row: ModelFileRow = { source, revision, file, bytes, storedAt: Date.now() };
    await this.db.put('modelFiles', row);
  }

  /** Removes the cached files of a model (one revision, or all when `revision` is undefined). */
  async deleteModelFiles(source: string, revision?: string): Promise<void> {
    const range = revision === undefined ? this.range.bound([source], [source, []]) : this.range.bound([source, revision], [source, revision, []]);
    await this.db.delete('modelFiles', range);
  }

  /** (source, revision, file) of every cached model file, sorted; reads keys only, not the bytes. */
  async listModelFiles(): Promise<{ source: string; revision: string; file: string }[]> {
    const keys = await this.db.getAllKeys('modelFiles');
    return keys.map(([source, revision, file]) => ({ source, revision, file }));
  }

  /** Rows per object store, for one dataset or for all (diagnostics; tests check deletes with it). */
  async countRows(datasetId?: string): Promise<Record<'datasets' | (typeof DATASET_ROW_STORES)[number], number>> {
    const tx = this.db.transaction(['datasets', ...DATASET_ROW_STORES]);
    const rows = (name: (typeof DATASET_ROW_STORES)[number]) => tx.objectStore(name).count(datasetId === undefined ? undefined : this.all(datasetId));
    const [datasets, docs, queries, qrels, artifacts] = await Promise.all([
      tx.objectStore('datasets').count(datasetId),
      ...DATASET_ROW_STORES.map(rows),
    ]);
    await tx.done;
    return { datasets, docs, queries, qrels, artifacts };
  }

  /** Starts an import: a dataset row with status 'importing' that the returned writer fills. */
  async beginImport(init: ImportInit): Promise<ImportWriter> {
    const writer = await ImportWriter.begin(this.db, init, (id) => this.deleteDataset(id), (id, on) => (on ? this.active.add(id) : this.active.delete(id)));
    return writer;
  }

  /**
   * Deletes 'importing' datasets left behind by a closed tab or a crash: those not written for
   * `olderThanMs` and not being imported through this Store. Returns how many were removed.
   */
  async cleanupIncomplete(olderThanMs = STALE_IMPORT_MS): Promise<number> {
    const now = Date.now();
    const stale = (await this.db.getAll('datasets')).filter(
      (d) => d.status === 'importing' && now - d.updatedAt >= olderThanMs && !this.active.has(d.id),
    );
    for (const d of stale) await this.deleteDataset(d.id);
    return stale.length;
  }

  close(): void {
    this.db.close();
  }
}
