// Import into the browser's storage: check the quota, then stream queries → corpus → qrels into a fresh
// dataset (status 'importing'), and flip it to 'ready' at the end. Any failure or cancel removes
// everything written under the new id; other stored datasets are never touched. A disk that fills up
// mid-import (the up-front check is an estimate) ends in StorageFullError after that removal.
import { QuotaError, throwIfAborted } from '../errors.ts';
import type { Store } from './store.ts';
import type { DatasetInfo } from './types.ts';
import { formatBytes } from '../util/format.ts';
import { isQuotaExceeded, storageFullError, writeOrFull, type StorageFullContext } from './quota.ts';
import { detectLayout, type BeirLayout } from '../data/layout.ts';
import { readBeir, readLimits, type ReadOptions } from '../data/read-beir.ts';
import type { SourceFile } from '../data/source.ts';
import { WarningLog, type ImportWarning } from '../data/warnings.ts';

/**
 * Stored bytes per byte of decompressed JSON lines. IndexedDB keeps strings as structured clones
 * (UTF-16 for non-Latin-1 text) plus keys and an index on doc ids, and Chrome's LevelDB needs room
 * while compacting: 2× is a safe margin that still lets a dataset fill most of the quota.
 */
export const STORAGE_OVERHEAD = 2;

export interface StorageEstimate {
  quota?: number;
  usage?: number;
}

export interface ImportOptions extends ReadOptions {
  /** Dataset name; defaults to the folder or zip name. Taken names get ' (2)', ' (3)', ... */
  name?: string;
  /** Free-space check; defaults to navigator.storage.estimate where it exists (skipped where it does not). */
  estimate?: () => Promise<StorageEstimate>;
  /** Asks the browser not to evict the data; defaults to navigator.storage.persist where it exists. */
  persist?: () => Promise<boolean>;
}

export interface ImportOutcome {
  dataset: DatasetInfo;
  warnings: ImportWarning[];
}

type StorageManagerLike = { estimate?: () => Promise<StorageEstimate>; persist?: () => Promise<boolean> };

function storageManager(): StorageManagerLike | undefined {
  return (globalThis as { navigator?: { storage?: StorageManagerLike } }).navigator?.storage;
}

/** Bytes the import will need: decompressed sizes (exact for zips and plain files, estimated for .gz) × overhead. */
export function neededBytes(layout: BeirLayout): number {
  const files = [layout.corpus, layout.queries, ...layout.qrels];
  return files.reduce((s, f) => s + f.size, 0) * STORAGE_OVERHEAD;
}

/** Throws QuotaError when the estimate says the import cannot fit. */
export async function checkQuota(layout: BeirLayout, estimate: (() => Promise<StorageEstimate>) | undefined): Promise<void> {
  if (!estimate) return;
  const { quota, usage = 0 } = await estimate();
  if (quota === undefined) return;
  const free = Math.max(0, quota - usage);
  const needed = neededBytes(layout);
  if (needed > free) {
    throw new QuotaError(
      `Importing ${layout.name} needs about ${formatBytes(needed)} of browser storage, but only ${formatBytes(free)} is free ` +
        `(quota ${formatBytes(quota)}, used ${formatBytes(usage)}). Free disk space, delete stored datasets you no longer need, ` +
        `or import a smaller dataset.`,
    );
  }
}

export async function importBeir(store: Store, sources: SourceFile[], opts: ImportOptions = {}): Promise<ImportOutcome> {
  const warn = new WarningLog();
  const layout = await detectLayout(sources, warn, readLimits(opts)); // the archive limits, raised as the line limit is
  const sm = storageManager();
  const estimate = opts.estimate ?? (sm?.estimate ? () => sm.estimate!() : undefined);
  await checkQuota(layout, estimate);
  const persist = opts.persist ?? (sm?.persist ? () => sm.persist!() : undefined);
  await persist?.().catch(() => false); // a refusal only means the browser may evict the data later
  throwIfAborted(opts.signal, 'Import');

  const name = opts.name ?? layout.name;
  // A full disk mid-import: what was written is removed (below), so the whole import is what it needs.
  const full = (): StorageFullContext => ({
    what: `importing ${name}`,
    neededBytes: neededBytes(layout),
    kept: 'What it had written was removed; your other datasets, models and runs are untouched.',
    retry: 'import it again',
    estimate,
  });
  const writer = await writeOrFull(() => store.beginImport({ name, source: layout.sources }), full);
  try {
    const summary = await readBeir(
      layout,
      {
        queries: (qs) => writer.putQueries(qs),
        docs: (batch) => writer.putDocs(batch),
        qrels: (split, qrels) => writer.putQrels(split, qrels),
      },
      warn,
      opts,
    );
    throwIfAborted(opts.signal, 'Import');
    const warnings = warn.list();
    const dataset = await writer.finish({ ...summary, warnings: warnings.map((w) => w.message) });
    return { dataset, warnings };
  } catch (e) {
    // If even the clean-up fails (storage gone), the rows stay 'importing' and cleanupIncomplete() removes them later.
    await writer.abort().catch(() => {});
    if (isQuotaExceeded(e)) throw await storageFullError(full());
    throw e;
  }
}
