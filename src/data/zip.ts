// Zip archives as BEIR distributes them. With random access (SourceFile.slice) the central directory is
// read from the end of the file (zip64 included) and each entry is inflated on demand through fflate's
// streaming Inflate, so only the entries the importer needs are read, a slice at a time. Without
// random access, fflate's streaming Unzip reads the archive front to back (once to list, once per entry).
// Memory stays bounded whatever an entry inflates to: compressed bytes go to the inflater a small piece
// at a time (limits.ts), an entry that inflates past its recorded size is stopped at once, and the
// member count, folder depth and (when asked) inflate ratio are limited.
// Spec: PKWARE APPNOTE.TXT 6.3 (§4.3.12 central directory, §4.3.16 end record, §4.5.3 zip64 extra).
import { Inflate, Unzip, UnzipInflate } from 'fflate';
import { BeirFormatError } from '../errors.ts';
import { formatCount } from '../util/format.ts';
import { Crc32 } from './hash.ts';
import { DATA_LIMITS, DIRECTORY_BYTES_PER_MEMBER, feedPieces, InflateGuard, pathDepth, tooDeep, tooManyMembers, type DataLimits } from './limits.ts';
import { readChunks, type SourceFile } from './source.ts';

/** One file inside a zip. */
export interface ZipEntry {
  /** Path inside the archive, '/'-separated. */
  name: string;
  /** Bytes of the archive read to get this entry (its compressed size; the whole zip without random access). */
  storedSize: number;
  /** Uncompressed size when the archive records it, else an estimate. */
  size: number;
  /** Decompressed bytes; `onRaw` is told how many archive bytes each step read. */
  open(onRaw: (n: number) => void): AsyncGenerator<Uint8Array>;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;
const SIG_END64 = 0x06064b50;
const SIG_LOCATOR64 = 0x07064b50;
const END_MIN = 22; // end-of-central-directory record without its comment
const MAX_COMMENT = 0xffff;
/** Bytes read per slice when streaming an entry: large enough to amortise calls, small enough for memory. */
export const ZIP_READ_CHUNK = 1 << 20;
/** Used for progress/quota when the archive does not record an entry's size (streamed zips). */
const ASSUMED_DEFLATE_RATIO = 4;

export function zipError(zipPath: string, detail: string): BeirFormatError {
  return new BeirFormatError(zipPath, null, detail, 'Re-download the file; the zip is truncated or damaged');
}

const u16 = (b: Uint8Array, i: number) => b[i] | (b[i + 1] << 8);
const u32 = (b: Uint8Array, i: number) => (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
const u64 = (b: Uint8Array, i: number) => u32(b, i) + u32(b, i + 4) * 2 ** 32;
const utf8 = new TextDecoder();

/**
 * What listZip enforces: members and depth default to DATA_LIMITS; the inflate ratio is checked only
 * when given (the BEIR reader gives it; model files may be mostly zeros and are left alone).
 */
export type ZipLimits = Partial<Pick<DataLimits, 'maxMembers' | 'maxDepth' | 'maxInflateRatio'>>;

/**
 * Lists the files of a zip (directories left out). Throws BeirFormatError for a truncated or damaged
 * zip, DataLimitError for one with too many members or too deep a path (and, reading, too high a ratio).
 */
export async function listZip(zip: SourceFile, limits: ZipLimits = {}): Promise<ZipEntry[]> {
  const lim = { maxMembers: limits.maxMembers ?? DATA_LIMITS.maxMembers, maxDepth: limits.maxDepth ?? DATA_LIMITS.maxDepth, maxInflateRatio: limits.maxInflateRatio };
  return zip.slice ? listCentral(zip, zip.slice.bind(zip), lim) : listSequential(zip, lim);
}

type Limits = Pick<DataLimits, 'maxMembers' | 'maxDepth'> & { maxInflateRatio?: number };

function checkName(zip: SourceFile, name: string, lim: Limits): void {
  if (pathDepth(name) > lim.maxDepth) throw tooDeep(zip.path, name, lim.maxDepth);
}

type Slice = (start: number, end: number) => Promise<Uint8Array>;

interface Central {
  name: string;
  method: number;
  flags: number;
  crc: number;
  compressed: number;
  size: number;
  localOffset: number;
}

/** Offset of the end-of-central-directory record in `tail` (the last bytes of the archive), or -1. */
function findEnd(tail: Uint8Array): number {
  for (let i = tail.length - END_MIN; i >= 0; i--) {
    if (u32(tail, i) === SIG_END && i + END_MIN + u16(tail, i + 20) <= tail.length) return i;
  }
  return -1;
}

async function listCentral(zip: SourceFile, slice: Slice, lim: Limits): Promise<ZipEntry[]> {
  const tailLen = Math.min(zip.size, END_MIN + MAX_COMMENT + 20);
  const tailStart = zip.size - tailLen;
  const tail = await slice(tailStart, zip.size);
  const end = findEnd(tail);
  if (end < 0) throw zipError(zip.path, 'no end-of-central-directory record: the zip is truncated or not a zip file');
  let count = u16(tail, end + 10);
  let cdSize = u32(tail, end + 12);
  let cdOffset = u32(tail, end + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = end - 20;
    if (loc < 0 || u32(tail, loc) !== SIG_LOCATOR64) throw zipError(zip.path, 'zip64 locator missing');
    const rec = await slice(u64(tail, loc + 8), u64(tail, loc + 8) + 56);
    if (rec.length < 56 || u32(rec, 0) !== SIG_END64) throw zipError(zip.path, 'zip64 end record missing');
    count = u64(rec, 32);
    cdSize = u64(rec, 40);
    cdOffset = u64(rec, 48);
  }
  if (cdOffset + cdSize > tailStart + end) throw zipError(zip.path, 'the central directory runs past the end of the file');
  if (count > lim.maxMembers) throw tooManyMembers(zip.path, lim.maxMembers, formatCount(count));
  // The directory is read whole: its size must fit the member count, however the record lies.
  if (cdSize > Math.max(count, 1) * DIRECTORY_BYTES_PER_MEMBER) {
    throw zipError(zip.path, `the central directory (${formatCount(cdSize)} bytes) is too large for ${formatCount(count)} entries`);
  }
  const cd = await slice(cdOffset, cdOffset + cdSize);
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let k = 0; k < count; k++) {
    if (p + 46 > cd.length || u32(cd, p) !== SIG_CENTRAL) throw zipError(zip.path, 'damaged central directory');
    const nameLen = u16(cd, p + 28), extraLen = u16(cd, p + 30), commentLen = u16(cd, p + 32);
    const c: Central = {
      flags: u16(cd, p + 8),
      method: u16(cd, p + 10),
      crc: u32(cd, p + 16),
      compressed: u32(cd, p + 20),
      size: u32(cd, p + 24),
      localOffset: u32(cd, p + 42),
      name: utf8.decode(cd.subarray(p + 46, p + 46 + nameLen)).replace(/\\/g, '/'),
    };
    readZip64Extra(cd.subarray(p + 46 + nameLen, p + 46 + nameLen + extraLen), c);
    p += 46 + nameLen + extraLen + commentLen;
    checkName(zip, c.name, lim);
    if (!c.name.endsWith('/')) entries.push(centralEntry(zip, slice, c, lim.maxInflateRatio));
  }
  return entries;
}

/** Zip64 extended information (§4.5.3): 64-bit values for the fields saturated at 0xffffffff, in this order. */
function readZip64Extra(extra: Uint8Array, c: Central): void {
  for (let i = 0; i + 4 <= extra.length; ) {
    const id = u16(extra, i), len = u16(extra, i + 2);
    if (id === 0x0001) {
      let q = i + 4;
      if (c.size === 0xffffffff) (c.size = u64(extra, q)), (q += 8);
      if (c.compressed === 0xffffffff) (c.compressed = u64(extra, q)), (q += 8);
      if (c.localOffset === 0xffffffff) c.localOffset = u64(extra, q);
      return;
    }
    i += 4 + len;
  }
}

function centralEntry(zip: SourceFile, slice: Slice, c: Central, maxInflateRatio: number | undefined): ZipEntry {
  return {
    name: c.name,
    storedSize: c.compressed,
    size: c.size,
    open: (onRaw) => openCentral(zip, slice, c, onRaw, maxInflateRatio),
  };
}

async function* openCentral(
  zip: SourceFile,
  slice: Slice,
  c: Central,
  onRaw: (n: number) => void,
  maxInflateRatio: number | undefined,
): AsyncGenerator<Uint8Array> {
  const label = `${c.name} (in ${zip.path})`;
  if (c.flags & 1) throw new BeirFormatError(label, null, 'the entry is encrypted', 'Zip it again without a password');
  if (c.method !== 0 && c.method !== 8) {
    throw new BeirFormatError(label, null, `compression method ${c.method} is not supported`, 'Zip it again with the standard (deflate) compression');
  }
  const local = await slice(c.localOffset, c.localOffset + 30);
  if (local.length < 30 || u32(local, 0) !== SIG_LOCAL) throw zipError(zip.path, `damaged local header for ${c.name}`);
  const start = c.localOffset + 30 + u16(local, 26) + u16(local, 28);
  const end = start + c.compressed;
  if (end > zip.size) throw zipError(zip.path, `${c.name} runs past the end of the file`);

  const out: Uint8Array[] = [];
  const keep = (chunk: Uint8Array) => {
    if (chunk.length > 0) out.push(chunk);
  };
  const inflater = c.method === 8 ? new Inflate(keep) : null;
  const guard = new InflateGuard(label, maxInflateRatio);
  const crc = new Crc32();
  let outLen = 0;
  const emit = function* () {
    for (const chunk of out.splice(0)) {
      outLen += chunk.length;
      // Stopped as soon as it passes its recorded size: a lying header cannot make us inflate on.
      if (outLen > c.size) throw zipError(zip.path, `${c.name} inflates past its recorded size (${formatCount(c.size)} bytes)`);
      guard.produced(chunk.length);
      crc.update(chunk);
      yield chunk;
    }
  };
  let pos = start;
  do {
    // A deflate entry always gets one push with final = true, even when it is empty.
    const raw = pos < end ? await slice(pos, Math.min(end, pos + ZIP_READ_CHUNK)) : new Uint8Array(0);
    if (pos < end && raw.length === 0) throw zipError(zip.path, `${c.name} runs past the end of the file`);
    pos += raw.length;
    onRaw(raw.length);
    if (!inflater) keep(raw);
    else {
      // One small piece at a time, each one's output handed on before the next is inflated.
      const pieces = raw.length > 0 ? [...feedPieces(raw)] : [raw];
      for (let i = 0; i < pieces.length; i++) {
        try {
          inflater.push(pieces[i], pos >= end && i === pieces.length - 1);
        } catch (e) {
          throw zipError(zip.path, `${c.name} cannot be inflated (${(e as Error).message})`);
        }
        guard.consumed(pieces[i].length);
        yield* emit();
      }
    }
    yield* emit();
  } while (pos < end);
  if (outLen !== c.size || crc.value() !== c.crc) {
    throw zipError(zip.path, `${c.name} does not match its recorded size or CRC-32`);
  }
}

// ---- Without random access: fflate's streaming Unzip, front to back. ----

type FileInfo = { name: string; size?: number; originalSize?: number };

/**
 * Pushes the whole archive through Unzip and yields the bytes of entry `want` (others are inflated and
 * dropped; null lists only). Every entry is held to the limits, so a bomb among the skipped ones stops too.
 */
async function* unzipPass(zip: SourceFile, want: string | null, onFile: (info: FileInfo) => void, onRaw: (n: number) => void, lim: Limits): AsyncGenerator<Uint8Array> {
  const out: Uint8Array[] = [];
  const pending = new Set<string>(); // entries started but not finished: the archive stopped inside them
  // Errors raised inside Unzip's callbacks are kept here and thrown after the push (a throw there would be fflate's).
  let failure: Error | null = null;
  let wantDone = false;
  let members = 0;
  let current: InflateGuard | null = null; // Unzip inflates one entry at a time: the one the input is in
  const unzip = new Unzip((file) => {
    if (failure) return file.terminate();
    const name = file.name.replace(/\\/g, '/');
    if (++members > lim.maxMembers) failure = tooManyMembers(zip.path, lim.maxMembers, `more than ${formatCount(lim.maxMembers)}`);
    else if (pathDepth(name) > lim.maxDepth) failure = tooDeep(zip.path, name, lim.maxDepth);
    if (failure) return file.terminate();
    onFile(file);
    if (file.name.endsWith('/')) return file.terminate();
    pending.add(file.name);
    const guard = (current = new InflateGuard(`${name} (in ${zip.path})`, lim.maxInflateRatio));
    let inflated = 0;
    file.ondata = (err, chunk, final) => {
      if (failure) return;
      if (err) return void (failure = err);
      inflated += chunk.length;
      if (file.originalSize !== undefined && inflated > file.originalSize) {
        return void (failure = zipError(zip.path, `${name} inflates past its recorded size (${formatCount(file.originalSize)} bytes)`));
      }
      try {
        guard.produced(chunk.length);
      } catch (e) {
        return void (failure = e as Error);
      }
      if (file.name === want && chunk.length) out.push(chunk);
      if (final) {
        pending.delete(file.name);
        if (file.name === want) wantDone = true;
      }
    };
    // Starting every entry (even to drop its bytes) keeps Unzip from buffering the ones we skip.
    file.start();
  });
  unzip.register(UnzipInflate);
  const push = (piece: Uint8Array, final: boolean) => {
    current?.consumed(piece.length);
    try {
      unzip.push(piece, final);
    } catch (e) {
      failure ??= zipError(zip.path, `cannot be read (${(e as Error).message})`);
    }
    if (failure instanceof BeirFormatError) throw failure;
    if (failure) throw zipError(zip.path, `cannot be read (${failure.message})`);
  };
  let tail: Uint8Array = new Uint8Array(0); // the end of the archive, where the end-of-central-directory record must be
  for await (const chunk of readChunks(zip.stream())) {
    onRaw(chunk.length);
    if (want === null) tail = keepTail(tail, chunk, END_MIN + MAX_COMMENT);
    for (const piece of feedPieces(chunk)) {
      push(piece, false);
      yield* out.splice(0);
      if (wantDone) return;
    }
  }
  push(new Uint8Array(0), true);
  yield* out.splice(0);
  if (pending.size > 0 || (want !== null && !wantDone)) throw zipError(zip.path, 'the archive ends in the middle of an entry');
  if (want === null && findEnd(tail) < 0) throw zipError(zip.path, 'no end-of-central-directory record: the zip is truncated or not a zip file');
}

function keepTail(tail: Uint8Array, chunk: Uint8Array, max: number): Uint8Array {
  if (chunk.length >= max) return chunk.slice(chunk.length - max);
  const keep = Math.min(tail.length, max - chunk.length);
  const out = new Uint8Array(keep + chunk.length);
  out.set(tail.subarray(tail.length - keep));
  out.set(chunk, keep);
  return out;
}

async function listSequential(zip: SourceFile, lim: Limits): Promise<ZipEntry[]> {
  const infos: FileInfo[] = [];
  const onFile = (f: FileInfo) => infos.push({ name: f.name, size: f.size, originalSize: f.originalSize });
  for await (const _ of unzipPass(zip, null, onFile, () => {}, lim)) void _; // listing only: nothing is yielded
  return infos
    .filter((f) => !f.name.endsWith('/'))
    .map((f) => ({
      name: f.name.replace(/\\/g, '/'),
      storedSize: zip.size, // each open reads the archive from the start
      size: f.originalSize ?? (f.size ?? zip.size) * ASSUMED_DEFLATE_RATIO,
      open: (onRaw: (n: number) => void) => unzipPass(zip, f.name, () => {}, onRaw, lim),
    }));
}
