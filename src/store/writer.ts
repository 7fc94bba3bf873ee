// Writes one dataset import: a 'importing' dataset row first, then queries, document batches and
// judgements (each batch its own transaction, which also stamps updatedAt), then the flip to 'ready'.
// On failure or cancel, abort() deletes everything written under the dataset's id.
import type { IDBPDatabase, IDBPTransaction } from 'idb';
import { NotFoundError, QuotaError } from '../errors.ts';
import type { BeirDoc, BeirQuery, Qrels } from '../data/types.ts';
import type { ExpandrDB, QrelsRow } from './schema.ts';

type RowStore = 'docs' | 'queries' | 'qrels';
type WriteTx = IDBPTransaction<ExpandrDB, ('datasets' | RowStore)[], 'readwrite'>;
import type { DatasetInfo } from './types.ts';

/** Queries per transaction (queries are short; MS MARCO has 500k). */
export const QUERY_BATCH = 5000;
/** Judgement lines per stored row. */
export const QRELS_PART = 50_000;

export interface ImportInit {
  name: string;
  source: string[];
}

export interface ImportResult {
  checksum: string;
  fileSha256: Record<string, string>;
  counts: DatasetInfo['counts'];
  splits: DatasetInfo['splits'];
  warnings: string[];
}

function newId(): string {
  const c = globalThis.crypto;
  return c?.randomUUID ? c.randomUUID() : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/** 'scifact' → 'scifact (2)' when 'scifact' is taken, and so on. */
export function uniqueName(name: string, taken: Set<string>): string {
  if (!taken.has(name)) return name;
  for (let i = 2; ; i++) if (!taken.has(`${name} (${i})`)) return `${name} (${i})`;
}

export class ImportWriter {
  private docSeq = 0;
  private querySeq = 0;

  private constructor(
    private readonly db: IDBPDatabase<ExpandrDB>,
    readonly info: DatasetInfo,
    private readonly remove: (id: string) => Promise<void>,
    private readonly track: (id: string, on: boolean) => void,
  ) {}

  get id(): string {
    return this.info.id;
  }

  static async begin(
    db: IDBPDatabase<ExpandrDB>,
    init: ImportInit,
    remove: (id: string) => Promise<void>,
    track: (id: string, on: boolean) => void,
  ): Promise<ImportWriter> {
    const now = Date.now();
    const info: DatasetInfo = {
      id: newId(),
      name: init.name,
      createdAt: now,
      updatedAt: now,
      source: init.source,
      checksum: '',
      fileSha256: {},
      status: 'importing',
      counts: { docs: 0, queries: 0, qrelLines: 0 },
      splits: {},
      warnings: [],
    };
    track(info.id, true);
    try {
      await db.put('datasets', info);
    } catch (e) {
      track(info.id, false); // nothing was written (a put is atomic): no import to protect from cleanup
      throw quotaOr(e, info.name);
    }
    return new ImportWriter(db, info, remove, track);
  }

  /**
   * One write transaction over `stores` plus 'datasets': checks the dataset is still there (a stale
   * cleanup elsewhere may have removed it), stamps updatedAt, runs `write`, and maps a full disk to QuotaError.
   */
  private async write(stores: RowStore[], write: (tx: WriteTx) => Promise<unknown>[]): Promise<void> {
    const tx: WriteTx = this.db.transaction(['datasets', ...stores], 'readwrite');
    try {
      const info = await tx.objectStore('datasets').get(this.id);
      if (!info) {
        throw new NotFoundError(`The import of ${this.info.name} was removed from storage while it ran (by another tab?). Import it again.`);
      }
      this.info.updatedAt = Date.now();
      await Promise.all([handled(tx.objectStore('datasets').put({ ...info, updatedAt: this.info.updatedAt })), ...write(tx), tx.done]);
    } catch (e) {
      abortQuietly(tx);
      await tx.done.catch(() => {});
      throw quotaOr(e, this.info.name);
    }
  }

  async putQueries(queries: BeirQuery[]): Promise<void> {
    for (let i = 0; i < queries.length; i += QUERY_BATCH) {
      const part = queries.slice(i, i + QUERY_BATCH);
      const seq0 = this.querySeq;
      await this.write(['queries'], (tx) => part.map((q, k) => handled(tx.objectStore('queries').put({ datasetId: this.id, seq: seq0 + k, id: q.id, text: q.text }))));
      this.querySeq += part.length;
    }
  }

  async putDocs(docs: BeirDoc[]): Promise<void> {
    const seq0 = this.docSeq;
    await this.write(['docs'], (tx) =>
      docs.map((d, k) => handled(tx.objectStore('docs').put({ datasetId: this.id, seq: seq0 + k, id: d.id, title: d.title, text: d.text }))),
    );
    this.docSeq += docs.length;
  }

  async putQrels(split: string, qrels: Qrels): Promise<void> {
    const rows: QrelsRow[] = [];
    let row: QrelsRow | undefined;
    for (const [qid, docs] of qrels) {
      for (const [docid, score] of docs) {
        if (!row || row.qids.length >= QRELS_PART) rows.push((row = { datasetId: this.id, split, part: rows.length, qids: [], docids: [], scores: [] }));
        row.qids.push(qid);
        row.docids.push(docid);
        row.scores.push(score);
      }
    }
    for (const r of rows) await this.write(['qrels'], (tx) => [tx.objectStore('qrels').put(r)]);
  }

  /** Flips the dataset to 'ready' with its final counts; its name gets ' (2)' etc. if another dataset has it. */
  async finish(result: ImportResult): Promise<DatasetInfo> {
    const tx = this.db.transaction('datasets', 'readwrite');
    try {
      const all = await tx.store.getAll();
      if (!all.some((d) => d.id === this.id)) throw new NotFoundError(`The import of ${this.info.name} was removed from storage while it ran. Import it again.`);
      const taken = new Set(all.filter((d) => d.id !== this.id && d.status === 'ready').map((d) => d.name));
      const info: DatasetInfo = { ...this.info, ...result, name: uniqueName(this.info.name, taken), status: 'ready', updatedAt: Date.now() };
      await Promise.all([tx.store.put(info), tx.done]);
      this.track(this.id, false);
      return info;
    } catch (e) {
      abortQuietly(tx);
      await tx.done.catch(() => {});
      throw quotaOr(e, this.info.name);
    }
  }

  /** Deletes everything written under this import's id. Safe to call more than once. */
  async abort(): Promise<void> {
    try {
      await this.remove(this.id);
    } finally {
      this.track(this.id, false);
    }
  }
}

/**
 * A request's promise with a handler attached at once: when a later put of the batch throws (a full disk),
 * the transaction is aborted and the earlier requests reject; Promise.all never saw them, so unhandled otherwise.
 */
function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

/** Nothing of a failed batch may commit; a transaction that already ended cannot be aborted, which is fine. */
function abortQuietly(tx: { abort(): void }): void {
  try {
    tx.abort();
  } catch {
    // already committed or aborted
  }
}

/** IndexedDB's QuotaExceededError → QuotaError with what to do; anything else unchanged. */
function quotaOr(e: unknown, name: string): unknown {
  if ((e as { name?: string })?.name !== 'QuotaExceededError') return e;
  return new QuotaError(
    `Browser storage filled up while importing ${name}. Free disk space, delete stored datasets you no longer need, or import a smaller dataset.`,
  );
}

