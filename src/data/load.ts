// The in-memory loader for the Node runner and tests: the whole dataset as plain maps and arrays.
import { detectLayout } from './layout.ts';
import { readBeir, readLimits, type ReadOptions, type SplitCounts } from './read-beir.ts';
import type { SourceFile } from './source.ts';
import type { BeirDoc, BeirQuery, Qrels } from './types.ts';
import { WarningLog, type ImportWarning } from './warnings.ts';

export interface BeirDataset {
  name: string;
  /** In file order. */
  docs: BeirDoc[];
  /** By id, in file order. */
  queries: Map<string, BeirQuery>;
  /** Split name → judgements (validated: every id is a known query / document). */
  qrels: Map<string, Qrels>;
  /** Per split: queries with judgements and judgements kept. */
  splits: Record<string, SplitCounts>;
  warnings: ImportWarning[];
  /** Content checksum over the decompressed files; see ReadSummary.checksum. */
  checksum: string;
  fileSha256: Record<string, string>;
}

export interface LoadOptions extends ReadOptions {
  /** Overrides the name taken from the folder or zip. */
  name?: string;
}

/** Reads a BEIR dataset (zip, folder or loose files; plain or .gz) into memory. */
export async function loadBeir(sources: SourceFile[], opts: LoadOptions = {}): Promise<BeirDataset> {
  const warn = new WarningLog();
  const layout = await detectLayout(sources, warn, readLimits(opts));
  const docs: BeirDoc[] = [];
  const queries = new Map<string, BeirQuery>();
  const qrels = new Map<string, Qrels>();
  const summary = await readBeir(
    layout,
    {
      queries: async (qs) => void qs.forEach((q) => queries.set(q.id, q)),
      docs: async (batch) => void docs.push(...batch),
      qrels: async (split, q) => void qrels.set(split, q),
    },
    warn,
    opts,
  );
  return {
    name: opts.name ?? layout.name,
    docs,
    queries,
    qrels,
    splits: summary.splits,
    warnings: warn.list(),
    checksum: summary.checksum,
    fileSha256: summary.fileSha256,
  };
}
