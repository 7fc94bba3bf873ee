// The one pass over a BEIR dataset that both the in-memory loader and the IndexedDB import use:
// queries first (small, kept), then the corpus streamed in batches to a sink, then each qrels split
// validated against the query and document ids seen. Checksums are computed while streaming.
import { BeirFormatError, throwIfAborted } from '../errors.ts';
import { formatCount } from '../util/format.ts';
import { throttledProgress, type WorkOptions, type Progress } from '../util/progress.ts';
import { parseDocLine, parseQrelsLine, parseQueryLine } from './beir-parse.ts';
import { Sha256, sha256Hex } from './hash.ts';
import type { BeirLayout, DataFile } from './layout.ts';
import { DataLimitError, resolveLimits, type DataLimits } from './limits.ts';
import { LineSplitter } from './lines.ts';
import type { BeirDoc, BeirQuery, Qrels } from './types.ts';
import type { WarningLog } from './warnings.ts';

/** Documents handed to the sink at a time (one IndexedDB transaction each). */
export const DOC_BATCH = 2000;

export interface ReadOptions extends WorkOptions {
  /** Overrides of DATA_LIMITS (limits.ts); detectLayout takes the same object for the archive limits. */
  limits?: Partial<DataLimits>;
  /** Longest accepted line in bytes: the same as limits.maxLineBytes, which it overrides. */
  maxLineBytes?: number;
  /** Documents per sink call. */
  batchSize?: number;
}

/** Where the records go. Each call is awaited before reading on. */
export interface BeirSink {
  queries(queries: BeirQuery[]): Promise<void>;
  docs(batch: BeirDoc[]): Promise<void>;
  qrels(split: string, qrels: Qrels): Promise<void>;
}

export interface SplitCounts {
  /** Queries with at least one judgement kept. */
  queries: number;
  /** Judgement lines kept. */
  qrels: number;
}

export interface ReadSummary {
  counts: { docs: number; queries: number; qrelLines: number };
  splits: Record<string, SplitCounts>;
  /** SHA-256 of each decompressed file, keyed by canonical name ('corpus.jsonl', 'qrels/test.tsv'). */
  fileSha256: Record<string, string>;
  /**
   * 'sha256:' + SHA-256 of the manifest `${sha256}  ${canonical}\n` over the files sorted by canonical
   * name, i.e. of `sha256sum corpus.jsonl qrels/*.tsv queries.jsonl` run on the decompressed files:
   * `(zcat corpus.jsonl.gz | sha256sum | sed 's/-$/corpus.jsonl/'; sha256sum qrels/*.tsv queries.jsonl) | sort -k2 | sha256sum`.
   * Independent of how the dataset was packed (zip, folder, .gz).
   */
  checksum: string;
}

/** The limits a read holds to: opts.limits over DATA_LIMITS, and opts.maxLineBytes over both. */
export function readLimits(opts: ReadOptions): DataLimits {
  return resolveLimits({ ...opts.limits, ...(opts.maxLineBytes !== undefined && { maxLineBytes: opts.maxLineBytes }) });
}

/** Streams one file line by line; `perChunk` runs after each chunk (flush batches, report progress). */
async function scan(
  file: DataFile,
  opts: ReadOptions,
  onRaw: (n: number) => void,
  onLine: (text: string, line: number) => void,
  perChunk: () => Promise<void> | void,
  warn: WarningLog,
): Promise<string> {
  const sha = new Sha256();
  // Blank lines are counted (line numbers stay an editor's) but never handed on or kept.
  const lines = new LineSplitter(file.label, readLimits(opts).maxLineBytes, { skipEmpty: true });
  const nonBlank = (text: string, line: number) => {
    if (text.trim() !== '') onLine(text, line);
  };
  try {
    for await (const chunk of file.open(onRaw)) {
      throwIfAborted(opts.signal, 'Import');
      sha.update(chunk);
      lines.push(chunk, nonBlank);
      await perChunk();
    }
  } catch (e) {
    // A limit met by the inflater below: say which line it had reached.
    if (e instanceof DataLimitError && e.line === null) throw e.atLine(lines.line + 1);
    throw e;
  }
  throwIfAborted(opts.signal, 'Import');
  lines.finish(nonBlank);
  await perChunk();
  if (lines.invalidUtf8) {
    warn.add(file.label, 'invalid-utf8', `line ${lines.invalidUtf8Lines.join(', ')}`, lines.invalidUtf8);
  }
  return sha.hex();
}

/** Progress for one stage in stored bytes: monotone, capped at the total, forced to the total at the end. */
function stageProgress(stage: string, files: DataFile[], opts: ReadOptions) {
  const report = throttledProgress(opts.onProgress);
  const total = files.reduce((s, f) => s + f.storedSize, 0);
  let done = 0;
  const p = (text: string): Progress => ({ stage, done: Math.min(done, total), total, unit: 'bytes', text });
  return {
    onRaw: (n: number) => void (done += n),
    tick: (text: string) => report(p(text)),
    end: (text: string) => ((done = total), report(p(text), true)),
  };
}

function emptyFile(file: DataFile, what: string): BeirFormatError {
  return new BeirFormatError(file.label, null, `the file is empty (no ${what})`, `Check that this is the right ${file.canonical}`);
}

/** The line each id of a file first appeared on; a second appearance is an error naming both lines. */
class IdLines extends Map<string, number> {
  constructor(
    private readonly file: DataFile,
    private readonly what: string,
  ) {
    super();
  }

  add(id: string, line: number): void {
    const first = this.get(id);
    if (first !== undefined) {
      throw new BeirFormatError(this.file.label, line, `${this.what} id "${id}" already appeared on line ${first}`, 'Ids must be unique: remove or rename one of the two');
    }
    this.set(id, line);
  }
}

export async function readBeir(layout: BeirLayout, sink: BeirSink, warn: WarningLog, opts: ReadOptions = {}): Promise<ReadSummary> {
  const fileSha256: Record<string, string> = {};
  const batchSize = opts.batchSize ?? DOC_BATCH;

  // Queries: small, kept in memory to validate qrels.
  const queries: BeirQuery[] = [];
  const qf = layout.queries;
  const queryLine = new IdLines(qf, 'query');
  let prog = stageProgress('import:queries', [qf], opts);
  const qText = () => `${qf.label}: ${formatCount(queries.length)} queries`;
  fileSha256[qf.canonical] = await scan(qf, opts, prog.onRaw, (text, line) => {
    const q = parseQueryLine(text, qf.label, line, warn);
    queryLine.add(q.id, line);
    queries.push(q);
  }, () => prog.tick(qText()), warn);
  if (queries.length === 0) throw emptyFile(qf, 'queries');
  await sink.queries(queries);
  prog.end(qText());

  // Corpus: streamed to the sink in batches; only the ids (and their lines, for duplicates) are kept.
  let batch: BeirDoc[] = [];
  const cf = layout.corpus;
  const docLine = new IdLines(cf, 'document');
  prog = stageProgress('import:corpus', [cf], opts);
  const cText = () => `${cf.label}: ${formatCount(docLine.size)} docs`;
  fileSha256[cf.canonical] = await scan(cf, opts, prog.onRaw, (text, line) => {
    const d = parseDocLine(text, cf.label, line, warn);
    docLine.add(d.id, line);
    batch.push(d);
  }, async () => {
    if (batch.length >= batchSize) {
      const full = batch;
      batch = [];
      await sink.docs(full);
    }
    prog.tick(cText());
  }, warn);
  if (batch.length > 0) await sink.docs(batch);
  if (docLine.size === 0) throw emptyFile(cf, 'documents');
  prog.end(cText());

  // Qrels: validated against the ids above; unknown ids are dropped with a counted warning.
  const splits: Record<string, SplitCounts> = {};
  let qrelLines = 0;
  prog = stageProgress('import:qrels', layout.qrels, opts);
  for (const f of layout.qrels) {
    const qrels: Qrels = new Map();
    let kept = 0;
    let first = true;
    let judgements = 0;
    fileSha256[f.canonical] = await scan(f, opts, prog.onRaw, (text, line) => {
      const r = parseQrelsLine(text, f.label, line, first);
      first = false;
      if (!r) return;
      judgements++;
      if (!queryLine.has(r.qid)) return warn.add(f.label, 'qrels-unknown-query', `line ${line}: "${r.qid}"`);
      if (!docLine.has(r.docid)) return warn.add(f.label, 'qrels-unknown-doc', `line ${line}: "${r.docid}"`);
      let perQuery = qrels.get(r.qid);
      if (!perQuery) qrels.set(r.qid, (perQuery = new Map()));
      if (perQuery.has(r.docid)) warn.add(f.label, 'qrels-duplicate', `line ${line}: "${r.qid}" "${r.docid}"`);
      else kept++;
      perQuery.set(r.docid, r.score); // trec_eval / pytrec_eval keep the later value
    }, () => prog.tick(`${f.label}: ${formatCount(kept)} judgements`), warn);
    if (judgements === 0) throw emptyFile(f, 'judgements');
    if (kept === 0) {
      throw new BeirFormatError(f.label, null, `none of its ${formatCount(judgements)} judgements names a known query and document`, 'Check that the qrels belong to this corpus and queries');
    }
    splits[f.split] = { queries: qrels.size, qrels: kept };
    qrelLines += kept;
    await sink.qrels(f.split, qrels);
  }
  prog.end(`${formatCount(qrelLines)} judgements in ${layout.qrels.length} ${layout.qrels.length === 1 ? 'split' : 'splits'}`);

  const manifest = Object.keys(fileSha256)
    .sort()
    .map((name) => `${fileSha256[name]}  ${name}\n`)
    .join('');
  return {
    counts: { docs: docLine.size, queries: queries.length, qrelLines },
    splits,
    fileSha256,
    checksum: `sha256:${sha256Hex(manifest)}`,
  };
}
