// A full disk in the middle of a write: IndexedDB's QuotaExceededError (or the QuotaError the import writer
// made of it) becomes a StorageFullError that says what was being written, about how much it still needs,
// what became of the part already written, and what to do.
import { QuotaError, StorageFullError } from '../errors.ts';
import { formatBytes } from '../util/format.ts';

export interface StorageEstimate {
  quota?: number;
  usage?: number;
}

/** True for IndexedDB's QuotaExceededError and for a QuotaError made from one. */
export function isQuotaExceeded(e: unknown): boolean {
  return e instanceof QuotaError || (e as { name?: string })?.name === 'QuotaExceededError';
}

/** navigator.storage.estimate() where there is one (the page, a worker), else nothing; never throws. */
export async function browserEstimate(): Promise<StorageEstimate> {
  const sm = (globalThis as { navigator?: { storage?: { estimate?: () => Promise<StorageEstimate> } } }).navigator?.storage;
  try {
    return (await sm?.estimate?.()) ?? {};
  } catch {
    return {};
  }
}

export interface StorageFullContext {
  /** What was being written: 'importing scifact', 'storing embedding chunk 3 of 7'. */
  what: string;
  /** Bytes still to write (an estimate). */
  neededBytes: number;
  /** What became of the part already written: 'Nothing of it was kept; your other datasets are untouched.' */
  kept: string;
  /** What to do once there is room: 'import it again', 'encode again: it resumes from chunk 3'. */
  retry: string;
  /** Defaults to browserEstimate (tests pass their own). */
  estimate?: () => Promise<StorageEstimate>;
}

export async function storageFullError(c: StorageFullContext): Promise<StorageFullError> {
  const { usage, quota } = await (c.estimate ?? browserEstimate)();
  // Usage only: Chrome's estimate() reports a quota of usage + 10 GiB whatever the real limit (a privacy
  // measure), so a "free" figure from it would mislead; the real limit shows only as this error.
  const state = usage !== undefined ? ` (this site now uses ${formatBytes(usage)})` : '';
  return new StorageFullError(
    c.what,
    c.neededBytes,
    usage,
    quota,
    `Browser storage is full: ${c.what} needs about ${formatBytes(c.neededBytes)} more${state}. ${c.kept} ` +
      `To go on, free space (delete a dataset, run or model you no longer need in the page, or free disk space), then ${c.retry}.`,
  );
}

/** Runs `write`; a full disk becomes storageFullError(context()), anything else passes through. */
export async function writeOrFull<T>(write: () => Promise<T>, context: () => StorageFullContext | Promise<StorageFullContext>): Promise<T> {
  try {
    return await write();
  } catch (e) {
    if (!isQuotaExceeded(e) || e instanceof StorageFullError) throw e;
    throw await storageFullError(await context());
  }
}
