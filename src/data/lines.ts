// Bytes → lines, without ever holding a whole file as one string. Lines are split on the byte 0x0A
// (which never occurs inside a UTF-8 multi-byte sequence) and each line is decoded on its own, so the
// length limit is exact in bytes and a line that spans chunks is only joined once it is complete.
// At most one line is held; with `skipEmpty`, runs of empty lines are counted in one pass over their
// bytes without a call per line (a member of 3 GB of newlines is 3 billion lines).
import { formatBytes } from '../util/format.ts';
import { DATA_LIMITS, DataLimitError } from './limits.ts';

/** Longest line accepted by default (DATA_LIMITS.maxLineBytes). */
export const MAX_LINE_BYTES = DATA_LIMITS.maxLineBytes;

export interface LineSplitterOptions {
  /** Count empty lines ('' and a lone '\r') without emitting them. */
  skipEmpty?: boolean;
}

export type LineFn = (text: string, line: number) => void;

export class LineSplitter {
  /** Number of the last line emitted (1-based; blank lines count, so numbers match an editor's). */
  line = 0;
  /** Lines that were not valid UTF-8 (decoded with U+FFFD in place of the bad bytes): count and first few. */
  invalidUtf8 = 0;
  invalidUtf8Lines: number[] = [];
  private parts: Uint8Array[] = [];
  private partLen = 0;
  private readonly strict = new TextDecoder('utf-8', { fatal: true });
  private readonly lenient = new TextDecoder('utf-8');

  private readonly skipEmpty: boolean;

  constructor(
    private readonly file: string,
    private readonly maxLineBytes = MAX_LINE_BYTES,
    opts: LineSplitterOptions = {},
  ) {
    this.skipEmpty = opts.skipEmpty ?? false;
  }

  /** Emits every line completed by `chunk`. */
  push(chunk: Uint8Array, onLine: LineFn): void {
    let start = 0;
    for (;;) {
      if (this.skipEmpty && this.partLen === 0) {
        let i = start;
        while (i < chunk.length && chunk[i] === 0x0a) i++;
        this.line += i - start;
        start = i;
      }
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      if (this.partLen === 0) this.emit(chunk.subarray(start, nl), onLine);
      else {
        this.keep(chunk.subarray(start, nl));
        this.emit(this.join(), onLine);
      }
      start = nl + 1;
    }
    if (start < chunk.length) this.keep(chunk.slice(start)); // a copy: callers may reuse their buffers
  }

  /** Emits the last line when the input does not end with a newline. */
  finish(onLine: LineFn): void {
    if (this.partLen > 0) this.emit(this.join(), onLine);
  }

  private keep(part: Uint8Array): void {
    this.partLen += part.length;
    if (this.partLen > this.maxLineBytes) this.tooLong();
    this.parts.push(part);
  }

  private join(): Uint8Array {
    const out = this.parts.length === 1 ? this.parts[0] : new Uint8Array(this.partLen);
    if (this.parts.length > 1) {
      let o = 0;
      for (const p of this.parts) out.set(p, o), (o += p.length);
    }
    this.parts = [];
    this.partLen = 0;
    return out;
  }

  private emit(bytes: Uint8Array, onLine: LineFn): void {
    if (bytes.length > this.maxLineBytes) this.tooLong();
    this.line++;
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === 0x0d) end--; // CRLF
    const body = bytes.subarray(0, end);
    if (end === 0 && this.skipEmpty) return;
    let text: string;
    try {
      text = this.strict.decode(body); // also drops a leading byte-order mark
    } catch {
      if (this.invalidUtf8++ < 5) this.invalidUtf8Lines.push(this.line);
      text = this.lenient.decode(body);
    }
    onLine(text, this.line);
  }

  private tooLong(): never {
    throw new DataLimitError(
      this.file,
      this.line + 1,
      'maxLineBytes',
      this.maxLineBytes,
      `the line is longer than ${formatBytes(this.maxLineBytes)}`,
      'Check that the file has one record per line (JSON lines / TSV) and is not binary or minified into one line',
    );
  }
}
