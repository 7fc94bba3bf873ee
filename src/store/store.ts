// The IndexedDB store (through idb): datasets, their documents, queries and judgements, and artifacts
// computed from them. IndexedDB commits a transaction as soon as it is left idle (e.g. while awaiting
// anything that is not IndexedDB), so every method here keeps each transaction purely IndexedDB and
// long reads are split into one transaction per batch.
import { wrap, type IDBPDatabase } from 'idb';
import { ExpandrError, NotFoundError } from '../errors.ts';
import { lockManager, lockNames, tryLock, type HeldLock, type LockManagerLike } from '../util/web-locks.ts';
import type { BeirDoc, BeirQuery, Qrels } from '../data/types.ts';
import { DATASET_ROW_STORES, DB_NAME, DB_VERSION, upgrade, type ExpandrDB, type ModelFileRow } from './schema.ts';
import type { DatasetInfo } from './types.ts';
import { ImportWriter, type ImportInit } from './writer.ts';

/**
 * Without Web Locks (Node): an 'importing' dataset untouched this long was left by a closed tab (a live
 * import writes every batch). With them, an import holds importLockName(id) and one without it is dead.
 */
export const STALE_IMPORT_MS = 5 * 60_000;
/** An import's lock request and its first row travel separately: a row this fresh is never taken for dead. */
export const IMPORT_LOCK_GRACE_MS = 1000;

/** Longest dataset name kept (a name is a label; longer ones are refused, not cut). */
export const MAX_DATASET_NAME = 200;

export const importLockName = (datasetId: string) => `expandr-import:${datasetId}`;

/** Something the page should tell the user about this tab's storage connection. */
export interface StoreNotice {
  /**
   * blocked: a newer schema waits for other tabs of this app to close theirs; ready: it got through;
   * closed: another tab upgraded the schema, so this connection closed and every call now fails until a reload.
   */
  kind: 'blocked' | 'ready' | 'closed';
  text: string;
}

/** The connection was closed because another tab upgraded the schema: this page must reload. */
export class StoreClosedError extends ExpandrError {
  override name = 'StoreClosedError';
}

const CLOSED_TEXT =
  'The app was updated in another tab (its storage moved to a newer version), so this tab stopped using it. Reload this page to go on; nothing stored was lost.';
const BLOCKED_TEXT =
  'Waiting for other tabs of this app to close their storage (an update needs it): close or reload them. This tab goes on by itself then.';

export interface OpenStoreOptions {
  dbName?: string;
  /** Defaults to the global indexedDB; tests pass a fresh fake-indexeddb IDBFactory each. */
  idbFactory?: IDBFactory;
  /** Remove stale 'importing' datasets on open (default true). */
  cleanup?: boolean;
  /** Schema version to open (default DB_VERSION); tests open a higher one to act as a newer app in another tab. */
  version?: number;
  /** Told when an upgrade waits on other tabs, gets through, or when another tab's upgrade closes this connection. */
  onNotice?: (notice: StoreNotice) => void;
  /** Web Locks (default navigator.locks where it exists; tests pass a fake). */
  locks?: LockManagerLike;
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
  const request = factory.open(opts.dbName ?? DB_NAME, opts.version ?? DB_VERSION);
  request.addEventListener('upgradeneeded', (event) => {
    // Above DB_VERSION (a test acting as a newer app) there is nothing this build could migrate.
    const to = Math.min(event.newVersion ?? DB_VERSION, DB_VERSION);
    upgrade(wrap(request.result) as IDBPDatabase<ExpandrDB>, event.oldVersion, to, wrap(request.transaction!) as never);
  });
  // Another tab (an older page that does not step aside) keeps the old schema open: the open waits, and says so.
  let blocked = false;
  request.addEventListener('blocked', () => {
    blocked = true;
    opts.onNotice?.({ kind: 'blocked', text: BLOCKED_TEXT });
  });
  let raw: IDBPDatabase<ExpandrDB>;
  try {
    raw = (await wrap(request)) as IDBPDatabase<ExpandrDB>;
  } catch (e) {
    if ((e as { name?: string })?.name !== 'VersionError') throw e;
    throw new StoreClosedError(
      `This browser's storage was written by a newer version of the app (another tab updated it). Reload this page to get the new version; nothing stored was lost.`,
    );
  }
  if (blocked) opts.onNotice?.({ kind: 'ready', text: 'The storage update went through.' });
  let closed: StoreClosedError | null = null;
  // Another tab wants a newer schema: step aside rather than block it, and refuse every later call
  // (this page's code knows only the old schema), so no write of this tab lands in the new one.
  raw.addEventListener('versionchange', () => {
    raw.close();
    closed = new StoreClosedError(CLOSED_TEXT);
    opts.onNotice?.({ kind: 'closed', text: CLOSED_TEXT });
  });
  const db = new Proxy(raw, {
    get(target, prop) {
      if (closed && prop !== 'close') throw closed;
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const store = new Store(db, globalThis.IDBKeyRange, opts.locks ?? lockManager());
  if (opts.cleanup ?? true) await store.cleanupIncomplete();
  return store;
}

export class Store {
  /** Imports running through this Store: never cleaned up as stale. */
  private readonly active = new Set<string>();
  /** Their Web Locks (importLockName), which tell other tabs they are alive. */
  private readonly importLocks = new Map<string, Promise<HeldLock | null>>();

  constructor(
    private readonly db: IDBPDatabase<ExpandrDB>,
    private readonly range: typeof IDBKeyRange,
    private readonly locks: LockManagerLike | undefined = undefined,
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

  /** Renames a ready dataset (a name is what the user sees; runs and caches key on its id and checksum). */
  async renameDataset(id: string, name: string): Promise<DatasetInfo> {
    const clean = name.trim();
    if (!clean) throw new ExpandrError('A dataset name cannot be empty.');
    if (clean.length > MAX_DATASET_NAME) throw new ExpandrError(`A dataset name has at most ${MAX_DATASET_NAME} characters (this one has ${clean.length}).`);
    const tx = this.db.transaction('datasets', 'readwrite');
    const info = await tx.store.get(id);
    if (!info || info.status !== 'ready') throw new NotFoundError(`Dataset ${id} is not in this browser's storage (it may have been deleted in another tab). Reload the page.`);
    const renamed = { ...info, name: clean };
    await tx.store.put(renamed);
    await tx.done;
    return renamed;
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
    const writer = await ImportWriter.begin(this.db, init, (id) => this.deleteDataset(id), (id, on) => this.track(id, on));
    return writer;
  }

  /** Called before an import's first row is written (on) and after it finished or was removed (off). */
  private track(id: string, on: boolean): void {
    if (on) {
      this.active.add(id);
      this.importLocks.set(id, tryLock(importLockName(id), this.locks).catch(() => null));
      return;
    }
    this.active.delete(id);
    void this.importLocks.get(id)?.then((lock) => lock?.release());
    this.importLocks.delete(id);
  }

  /**
   * Deletes 'importing' datasets left behind by a killed tab or a crash: not being imported through this
   * Store and, with Web Locks, whose import lock no tab holds (a killed tab's locks go with it); without
   * them, not written for `olderThanMs`. Returns how many were removed.
   */
  async cleanupIncomplete(olderThanMs = STALE_IMPORT_MS): Promise<number> {
    const held = await lockNames(this.locks);
    const now = Date.now();
    const dead = (d: DatasetInfo) =>
      held ? !held.has(importLockName(d.id)) && now - d.updatedAt >= Math.min(olderThanMs, IMPORT_LOCK_GRACE_MS) : now - d.updatedAt >= olderThanMs;
    const stale = (await this.db.getAll('datasets')).filter((d) => d.status === 'importing' && !this.active.has(d.id) && dead(d));
    for (const d of stale) await this.deleteDataset(d.id);
    return stale.length;
  }

  close(): void {
    this.db.close();
  }
}
