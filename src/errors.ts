// Typed errors. Every message says what went wrong, where (file, line) and what to do about it.

/** Base class so callers can tell our errors from bugs. */
export class ExpandrError extends Error {
  override name = 'ExpandrError';
}

/** A file that cannot be read as what it should be: names the file and, where it applies, the 1-based line. */
export class FileFormatError extends ExpandrError {
  override name = 'FileFormatError';
  constructor(
    readonly file: string,
    readonly line: number | null,
    problem: string,
    fix: string,
  ) {
    super(`${file}${line === null ? '' : ` line ${line}`}: ${problem}. ${fix}`);
  }
}

/** A BEIR file (corpus, queries, qrels, zip, gzip) that cannot be read as BEIR. */
export class BeirFormatError extends FileFormatError {
  override name = 'BeirFormatError';
}

/** The user (or a newer request) cancelled long work. Not a failure: the UI shows it quietly. */
export class CancelledError extends ExpandrError {
  override name = 'CancelledError';
  constructor(what = 'Operation') {
    super(`${what} cancelled.`);
  }
}

/** Not enough browser storage for what is about to be written. */
export class QuotaError extends ExpandrError {
  override name = 'QuotaError';
}

/**
 * Storage ran out in the middle of a write (IndexedDB's QuotaExceededError): says what was being written,
 * about how many bytes it still needs, what became of the part already written, and what to do.
 * A QuotaError, so code that handles a full disk handles this one too.
 */
export class StorageFullError extends QuotaError {
  override name = 'StorageFullError';
  constructor(
    /** What was being written ('importing scifact', 'embedding chunk 3 of emb-…'). */
    readonly what: string,
    /** Bytes still to write (an estimate; the whole import when its part was rolled back). */
    readonly neededBytes: number,
    /** The browser's usage and quota when the error was made (navigator.storage.estimate), where known. */
    readonly usage: number | undefined,
    readonly quota: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Stored data that is not what was written: an IndexedDB record (an embedding chunk, a checkpoint, a cached
 * model file) or a file on disk (a run or checkpoint folder, a model folder) whose checksum or size differs
 * from the one recorded with it. `where` names the record or file, `fix` what to do (re-encode, re-fetch,
 * start the training afresh); the caller never uses the data.
 */
export class DamagedDataError extends ExpandrError {
  override name = 'DamagedDataError';
  constructor(
    readonly where: string,
    problem: string,
    readonly fix: string,
  ) {
    super(`${where}: ${problem}. ${fix}`);
  }
}

/** A stored object (dataset, index, run) that is missing or from an incompatible version. */
export class NotFoundError extends ExpandrError {
  override name = 'NotFoundError';
}

/** Command-line misuse: the message is printed as is, with exit code 2. */
export class UsageError extends ExpandrError {
  override name = 'UsageError';
}

/** Throws CancelledError when the signal has fired; call it between units of work. */
export function throwIfAborted(signal: AbortSignal | undefined, what?: string): void {
  if (signal?.aborted) throw new CancelledError(what);
}

/**
 * A run or qrels that cannot be evaluated: bad TREC line, duplicate doc id in a query, non-finite score.
 * `file` names the file (or the in-memory run, e.g. 'run'); `line` is 1-based, null when not from a file.
 */
export class RunFormatError extends FileFormatError {
  override name = 'RunFormatError';
}

/** A metric name that does not parse (e.g. 'ndcg@0', 'f1@10'), or inputs a statistic cannot pair up. */
export class MetricError extends ExpandrError {
  override name = 'MetricError';
}

/** A model file (config.json, safetensors, tokenizer) that cannot be used: names the file and the fix. */
export class ModelFormatError extends ExpandrError {
  override name = 'ModelFormatError';
  constructor(
    readonly file: string,
    problem: string,
    fix: string,
  ) {
    super(`${file}: ${problem}. ${fix}`);
  }
}

/** WebLLM needs WebGPU (navigator.gpu and an adapter); the message says which browser to use. */
export class WebGpuUnavailableError extends ExpandrError {
  override name = 'WebGpuUnavailableError';
}

/** This GPU/browser lacks a feature or limit the chosen WebLLM model needs (shader-f16, buffer sizes, memory). */
export class GpuCapabilityError extends ExpandrError {
  override name = 'GpuCapabilityError';
}

/** Model files could not be had: offline or the download failed, and they are not in the browser's cache. */
export class ModelFetchError extends ExpandrError {
  override name = 'ModelFetchError';
}

/** Any other failure inside WebLLM, with its original message and what to try. */
export class WebLlmError extends ExpandrError {
  override name = 'WebLlmError';
}
