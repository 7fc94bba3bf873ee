// Hostile archives built cheaply: a deflate stream of a few MB that inflates to GBs (the copies of one
// self-contained block concatenated), zips written by hand (so a member can claim a size it does not
// have, or a zip can hold a million members), and gzip members around the same deflate streams.
// Used by tests/unit/data-bounds*.test.ts and bench/data-bounds.bench.ts.
import { closeSync, openSync, writeSync } from 'node:fs';
import { constants, crc32, deflateRawSync } from 'node:zlib';

/** Inflated bytes per copied block: the stream is ~1000:1 at any size above a few KiB; 8 MiB builds in ~50 ms. */
const BOMB_UNIT = 8 << 20;

/** A raw deflate stream plus what it inflates to. */
export interface Deflated {
  /** Raw deflate data (no zlib/gzip framing). */
  data: Uint8Array;
  /** Inflated length in bytes. */
  size: number;
  /** CRC-32 of the inflated bytes. */
  crc: number;
}

/** Deflate blocks for `n` bytes of `fill`, byte-aligned and not final (Z_SYNC_FLUSH), referring only to themselves. */
function block(n: number, fill: number): Buffer {
  return deflateRawSync(Buffer.alloc(n, fill), { level: 9, finishFlush: constants.Z_SYNC_FLUSH });
}

/** The final empty fixed-Huffman block (BFINAL 1, BTYPE 01, end-of-block code): ends any deflate stream. */
const FINAL_BLOCK = Uint8Array.of(0x03, 0x00);

/**
 * Raw deflate that inflates to `size` bytes of the byte `fill` (0x0a: blank lines; 0x61: one long line),
 * about 1000 times smaller: 3 GB of newlines is ~3 MB. Built from copies of one block, in well under a
 * second (the CRC of the copies is combined, not computed over the bytes). `prefix` and `suffix` are
 * real bytes before and after the run (e.g. a document line on each side of a billion blank lines).
 */
export function deflateBomb(size: number, fill = 0x0a, opts: { prefix?: Uint8Array; suffix?: Uint8Array } = {}): Deflated {
  const prefix = opts.prefix ?? new Uint8Array(0);
  const suffix = opts.suffix ?? new Uint8Array(0);
  const unit = Math.min(BOMB_UNIT, size);
  const copies = unit === 0 ? 0 : Math.floor(size / unit);
  const rest = size - copies * unit;
  const parts: Uint8Array[] = [];
  let crc = crc32(prefix) >>> 0;
  if (prefix.length) parts.push(deflateRawSync(prefix, { finishFlush: constants.Z_SYNC_FLUSH }));
  if (copies > 0) {
    const b = block(unit, fill);
    const unitCrc = crc32(Buffer.alloc(unit, fill)) >>> 0;
    for (let i = 0; i < copies; i++) parts.push(b), (crc = crc32Combine(crc, unitCrc, unit));
  }
  if (rest > 0) parts.push(block(rest, fill)), (crc = crc32Combine(crc, crc32(Buffer.alloc(rest, fill)) >>> 0, rest));
  if (suffix.length) parts.push(deflateRawSync(suffix, { finishFlush: constants.Z_SYNC_FLUSH })), (crc = crc32Combine(crc, crc32(suffix) >>> 0, suffix.length));
  parts.push(FINAL_BLOCK);
  return { data: Buffer.concat(parts), size: prefix.length + size + suffix.length, crc };
}

// zlib's crc32_combine (crc32.c): the CRC of A‖B from crc(A), crc(B) and |B|, by squaring the
// GF(2) matrix of "append one zero bit" — log2|B| steps instead of a pass over B.
function gf2Times(mat: Uint32Array, vec: number): number {
  let sum = 0;
  for (let i = 0; vec !== 0; i++, vec >>>= 1) if (vec & 1) sum ^= mat[i];
  return sum >>> 0;
}

function gf2Square(square: Uint32Array, mat: Uint32Array): void {
  for (let n = 0; n < 32; n++) square[n] = gf2Times(mat, mat[n]);
}

export function crc32Combine(crc1: number, crc2: number, len2: number): number {
  if (len2 <= 0) return crc1 >>> 0;
  const even = new Uint32Array(32);
  const odd = new Uint32Array(32);
  odd[0] = 0xedb88320; // the CRC-32 polynomial: one zero bit
  for (let n = 1, row = 1; n < 32; n++, row <<= 1) odd[n] = row;
  gf2Square(even, odd); // two zero bits
  gf2Square(odd, even); // four zero bits
  let c = crc1 >>> 0;
  let len = len2;
  for (;;) {
    gf2Square(even, odd); // first pass: one zero byte
    if (len % 2) c = gf2Times(even, c);
    len = Math.floor(len / 2);
    if (len === 0) break;
    gf2Square(odd, even);
    if (len % 2) c = gf2Times(odd, c);
    len = Math.floor(len / 2);
    if (len === 0) break;
  }
  return (c ^ crc2) >>> 0;
}

/** Ordinary deflate of real bytes. */
export function deflated(bytes: Uint8Array): Deflated {
  return { data: deflateRawSync(bytes), size: bytes.length, crc: crc32(bytes) >>> 0 };
}

/** A gzip member around a deflate stream (RFC 1952: 10-byte header, data, CRC-32, size mod 2^32). */
export function gzipOf(d: Deflated): Uint8Array {
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(d.crc, 0);
  trailer.writeUInt32LE(d.size % 2 ** 32, 4);
  return Buffer.concat([Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff), d.data, trailer]);
}

export interface ZipMember {
  name: string;
  /** Deflated (method 8), or stored bytes (method 0). */
  body: Deflated | Uint8Array;
  /** Uncompressed size written in the headers when it should lie; else the true size. */
  claimedSize?: number;
}

/** Writes a zip (no zip64: every size and offset under 4 GiB) through `write`, member by member. */
export function writeZip(members: Iterable<ZipMember>, write: (b: Uint8Array) => void): void {
  let offset = 0;
  const out = (b: Uint8Array) => void ((offset += b.length), write(b));
  const central: Buffer[] = [];
  let count = 0;
  for (const m of members) {
    const stored = m.body instanceof Uint8Array;
    const data = stored ? (m.body as Uint8Array) : (m.body as Deflated).data;
    const size = m.claimedSize ?? (stored ? data.length : (m.body as Deflated).size);
    const crc = stored ? crc32(data) >>> 0 : (m.body as Deflated).crc;
    const name = Buffer.from(m.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(stored ? 0 : 8, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4);
    cd.writeUInt16LE(20, 6);
    local.copy(cd, 8, 6, 26); // flags, method, time, date, crc, sizes
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(offset, 42);
    central.push(cd, name);
    out(local), out(name), out(data);
    count++;
  }
  const cdOffset = offset;
  for (const b of central) out(b);
  if (count > 0xffff) {
    // More entries than 16 bits hold: zip64 end record and locator (APPNOTE §4.3.14-15) carry the count.
    const rec = Buffer.alloc(56 + 20);
    rec.writeUInt32LE(0x06064b50, 0);
    rec.writeBigUInt64LE(44n, 4);
    rec.writeUInt16LE(45, 12);
    rec.writeUInt16LE(45, 14);
    rec.writeBigUInt64LE(BigInt(count), 24);
    rec.writeBigUInt64LE(BigInt(count), 32);
    rec.writeBigUInt64LE(BigInt(offset - cdOffset), 40);
    rec.writeBigUInt64LE(BigInt(cdOffset), 48);
    rec.writeUInt32LE(0x07064b50, 56);
    rec.writeBigUInt64LE(BigInt(offset), 64);
    rec.writeUInt32LE(1, 72);
    out(rec);
  }
  const end = Buffer.alloc(22);
  const cdSize = (count > 0xffff ? offset - 76 : offset) - cdOffset;
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Math.min(count, 0xffff), 8);
  end.writeUInt16LE(Math.min(count, 0xffff), 10);
  end.writeUInt32LE(cdSize, 12);
  end.writeUInt32LE(cdOffset, 16);
  out(end);
}

/** The zip in memory. */
export function zipBytes(members: Iterable<ZipMember>): Uint8Array<ArrayBuffer> {
  const parts: Uint8Array[] = [];
  writeZip(members, (b) => parts.push(b));
  return Buffer.concat(parts);
}

/** The zip written to `path` as it is produced (never held whole). */
export function writeZipFile(path: string, members: Iterable<ZipMember>): void {
  const fd = openSync(path, 'w');
  try {
    writeZip(members, (b) => void writeSync(fd, b));
  } finally {
    closeSync(fd);
  }
}

/**
 * A zip of `n` empty stored members `${dir}/${i}` (zip64 end records past 65,535), written field by
 * field into one buffer: a million members (~90 MB) in well under a second, where writeZip takes ~15 s.
 */
export function manyMembersZip(n: number, dir = 'm'): Uint8Array<ArrayBuffer> {
  const names = (i: number) => Buffer.from(`${dir}/${i}`);
  let nameBytes = 0;
  for (let i = 0; i < n; i++) nameBytes += dir.length + 1 + String(i).length;
  const cdSize = 46 * n + nameBytes;
  const buf = Buffer.alloc(30 * n + nameBytes + cdSize + 76 + 22);
  let p = 0;
  const offsets = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    offsets[i] = p;
    const name = names(i);
    buf.writeUInt32LE(0x04034b50, p);
    buf.writeUInt16LE(10, p + 4); // version needed; method 0, CRC 0, sizes 0 (Buffer.alloc zeroes)
    buf.writeUInt16LE(name.length, p + 26);
    name.copy(buf, p + 30);
    p += 30 + name.length;
  }
  const cdOffset = p;
  for (let i = 0; i < n; i++) {
    const name = names(i);
    buf.writeUInt32LE(0x02014b50, p);
    buf.writeUInt16LE(10, p + 4);
    buf.writeUInt16LE(10, p + 6);
    buf.writeUInt16LE(name.length, p + 28);
    buf.writeUInt32LE(offsets[i], p + 42);
    name.copy(buf, p + 46);
    p += 46 + name.length;
  }
  const end64 = p;
  buf.writeUInt32LE(0x06064b50, p);
  buf.writeBigUInt64LE(44n, p + 4);
  buf.writeUInt16LE(45, p + 12);
  buf.writeUInt16LE(45, p + 14);
  buf.writeBigUInt64LE(BigInt(n), p + 24);
  buf.writeBigUInt64LE(BigInt(n), p + 32);
  buf.writeBigUInt64LE(BigInt(cdSize), p + 40);
  buf.writeBigUInt64LE(BigInt(cdOffset), p + 48);
  buf.writeUInt32LE(0x07064b50, p + 56);
  buf.writeBigUInt64LE(BigInt(end64), p + 64);
  buf.writeUInt32LE(1, p + 72);
  p += 76;
  buf.writeUInt32LE(0x06054b50, p);
  buf.writeUInt16LE(Math.min(n, 0xffff), p + 8);
  buf.writeUInt16LE(Math.min(n, 0xffff), p + 10);
  buf.writeUInt32LE(cdSize, p + 12);
  buf.writeUInt32LE(cdOffset, p + 16);
  return buf;
}

const enc = (s: string) => new TextEncoder().encode(s);

/** A BEIR zip (dir/corpus.jsonl, queries.jsonl, qrels/test.tsv) whose corpus is `corpus`; the rest is valid and tiny. */
export function beirZipMembers(corpus: Deflated | Uint8Array, dir = 'bomb', claimedSize?: number): ZipMember[] {
  return [
    { name: `${dir}/queries.jsonl`, body: deflated(enc('{"_id":"q1","text":"cats"}\n')) },
    { name: `${dir}/qrels/test.tsv`, body: deflated(enc('query-id\tcorpus-id\tscore\nq1\td1\t1\n')) },
    { name: `${dir}/corpus.jsonl`, body: corpus, claimedSize },
  ];
}
