// The limits that keep reading a dropped dataset within bounded memory, whatever it inflates to, in one
// place. Reading is a stream that holds at most one line (plus one inflated step, INFLATE_FEED_BYTES ×
// DEFLATE_MAX_RATIO), so no limit on a file's total size is needed; these stop hostile or broken input
// early with a DataLimitError that names the file, the limit and how to raise it when the data is real.
import { BeirFormatError, UsageError } from '../errors.ts';
import { formatBytes, formatCount } from '../util/format.ts';

export interface DataLimits {
  /** Longest line in bytes. BEIR lines are a few KiB; the largest corpora have none near 1 MiB. */
  maxLineBytes: number;
  /**
   * Most inflated bytes per compressed byte of one zip member or gzip stream, checked once it has
   * inflated INFLATE_RATIO_AFTER_BYTES. Text deflates 3–10× (SciFact's corpus 2.9×); a bomb ~1000×.
   */
  maxInflateRatio: number;
  /** Most files in one zip or one dropped folder. BEIR zips hold fewer than 100 (CQADupStack about 50). */
  maxMembers: number;
  /** Deepest folder nesting of a path in a zip or a dropped folder ('a/b/c.tsv' is 3). BEIR's is 3. */
  maxDepth: number;
}

export const DATA_LIMITS: Readonly<DataLimits> = Object.freeze({
  maxLineBytes: 64 * 1024 * 1024, // 64 MiB: 100× the longest real line, a bounded buffer
  maxInflateRatio: 200, // 20× the most compressible real text, 5× below a deflate bomb
  maxMembers: 10_000, // 100× a real BEIR zip
  maxDepth: 32, // 10× BEIR's nesting; also ends a symlink loop in a folder on disk
});

/** How each limit is raised in the runner (`expandr eval --max-line-bytes N`) and its unit in messages. */
export const LIMIT_FLAGS: Readonly<Record<keyof DataLimits, { flag: string; unit: 'bytes' | 'count' | 'ratio' }>> = Object.freeze({
  maxLineBytes: { flag: '--max-line-bytes', unit: 'bytes' },
  maxInflateRatio: { flag: '--max-inflate-ratio', unit: 'ratio' },
  maxMembers: { flag: '--max-members', unit: 'count' },
  maxDepth: { flag: '--max-depth', unit: 'count' },
});

/** The inflate ratio is judged only past this many inflated bytes: small files of repeated bytes are harmless. */
export const INFLATE_RATIO_AFTER_BYTES = 16 * 1024 * 1024;

/**
 * Compressed bytes handed to the inflater at a time. fflate inflates a whole push into one buffer, so a
 * 1 MiB push of a bomb is 1 GiB at once; 16 KiB bounds each step to ~16 MiB (DEFLATE_MAX_RATIO).
 */
export const INFLATE_FEED_BYTES = 16 * 1024;

/**
 * Compressed input a gzip stream may take without giving one byte out. A header (file name, comment,
 * extra field) and a stored block are under 64 KiB in real files; fflate holds an unfinished header
 * whole and copies it again on every push, so one that never ends would cost memory and quadratic time.
 */
export const MAX_SILENT_INPUT_BYTES = 1024 * 1024;

/** Deflate's largest ratio: a 258-byte match coded in 2 bits (RFC 1951 §3.2.5). */
export const DEFLATE_MAX_RATIO = 1032;

/** Central directory bytes allowed per member: a real entry is under 200 bytes (header + name). */
export const DIRECTORY_BYTES_PER_MEMBER = 4096;

/** `over` merged onto the defaults; an unknown key or a value that is not a positive number throws. */
export function resolveLimits(over: Partial<DataLimits> = {}): DataLimits {
  const out: DataLimits = { ...DATA_LIMITS };
  for (const [key, value] of Object.entries(over)) {
    if (!(key in DATA_LIMITS)) throw new UsageError(`Unknown data limit "${key}"; the limits are ${Object.keys(DATA_LIMITS).join(', ')}.`);
    if (value === undefined) continue;
    if (typeof value !== 'number' || !(value > 0)) {
      throw new UsageError(`Data limit ${key} (${LIMIT_FLAGS[key as keyof DataLimits].flag}) must be a positive number, got ${String(value)}.`);
    }
    out[key as keyof DataLimits] = value;
  }
  return out;
}

export function formatLimit(key: keyof DataLimits, value: number): string {
  const unit = LIMIT_FLAGS[key].unit;
  return unit === 'bytes' ? formatBytes(value) : unit === 'ratio' ? `${formatCount(value)}×` : formatCount(value);
}

/** A limit of DataLimits reached: the message says which file, which limit, and how to raise it. */
export class DataLimitError extends BeirFormatError {
  override name = 'DataLimitError';
  constructor(
    file: string,
    line: number | null,
    readonly limit: keyof DataLimits,
    readonly value: number,
    readonly problem: string,
    readonly otherwise: string,
  ) {
    super(
      file,
      line,
      problem,
      `${otherwise}. If the data is real, raise the limit ${limit} (${formatLimit(limit, value)}): ` +
        `\`expandr eval ${LIMIT_FLAGS[limit].flag} N\` in the runner, limits.${limit} in the import options`,
    );
  }

  /** The same error at a line, for a limit met below the line reader (an inflater) whose line is known above. */
  atLine(line: number): DataLimitError {
    return new DataLimitError(this.file, line, this.limit, this.value, this.problem, this.otherwise);
  }
}

/**
 * Watches one inflating stream: throws DataLimitError once it has inflated more than
 * `maxInflateRatio` × the compressed bytes it consumed (past INFLATE_RATIO_AFTER_BYTES).
 */
export class InflateGuard {
  private compressed = 0;
  private inflated = 0;

  constructor(
    private readonly label: string,
    private readonly maxInflateRatio: number | undefined,
  ) {}

  consumed(n: number): void {
    this.compressed += n;
  }

  /** Yields `chunks`, counting each as produced (so the limit is met before the next one is handed on). */
  *pass(chunks: Uint8Array[]): Generator<Uint8Array> {
    for (const c of chunks) {
      this.produced(c.length);
      yield c;
    }
  }

  produced(n: number): void {
    this.inflated += n;
    const max = this.maxInflateRatio;
    if (max === undefined || this.inflated <= INFLATE_RATIO_AFTER_BYTES || this.inflated <= max * this.compressed) return;
    throw new DataLimitError(
      this.label,
      null,
      'maxInflateRatio',
      max,
      `inflates more than ${formatCount(max)}× its compressed size (${formatBytes(this.compressed)} gave ${formatBytes(this.inflated)} so far)`,
      'This looks like a zip or gzip bomb, not text: check where the file came from',
    );
  }
}

/** Compressed bytes in pieces of at most INFLATE_FEED_BYTES (views, no copies). */
export function* feedPieces(chunk: Uint8Array): Generator<Uint8Array> {
  for (let i = 0; i < chunk.length; i += INFLATE_FEED_BYTES) yield chunk.subarray(i, i + INFLATE_FEED_BYTES);
}

/** Folder depth of a '/'-separated path: its number of segments ('a/b/c.tsv' → 3). */
export function pathDepth(path: string): number {
  let n = 1;
  for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) n++;
  return n;
}

export function tooManyMembers(where: string, limit: number, found: string): DataLimitError {
  return new DataLimitError(
    where,
    null,
    'maxMembers',
    limit,
    `holds ${found} files`,
    'A BEIR dataset is a handful of files: drop the dataset folder or zip itself, not a folder above it',
  );
}

export function tooDeep(where: string, path: string, limit: number): DataLimitError {
  return new DataLimitError(
    where,
    null,
    'maxDepth',
    limit,
    `"${path.length > 120 ? `${path.slice(0, 60)}…${path.slice(-60)}` : path}" is ${formatCount(pathDepth(path))} levels deep`,
    'A BEIR dataset is at most a folder with a qrels/ folder inside: drop the dataset folder itself',
  );
}
