// gzip and zip reading: round trips, concatenated gzip members, zip64, the no-random-access fallback,
// and every way a download can be cut short or damaged.
import { gzipSync, strToU8 } from 'fflate';
import { describe, expect, it } from 'vitest';
import { BeirFormatError } from '../../src/errors.ts';
import { gunzipChunks } from '../../src/data/gzip.ts';
import { fromBytes } from '../../src/data/source.ts';
import { listZip, ZIP_READ_CHUNK } from '../../src/data/zip.ts';
import { errorOf, zip } from './helpers/beir-files.ts';

async function collect(gen: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Uint8Array[] = [];
  for await (const c of gen) parts.push(c);
  return new TextDecoder().decode(Buffer.concat(parts));
}

async function* chunksOf(b: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < b.length; i += size) yield b.slice(i, i + size);
}

/** Pseudo-random printable text: compresses a little, so deflate output spans many blocks. */
function noisyText(n: number): string {
  let x = 7;
  let s = '';
  while (s.length < n) s += String.fromCharCode(33 + ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 25)) + (s.length % 80 === 79 ? '\n' : '');
  return s.slice(0, n);
}

/** Rewrites a zip (as fflate writes it) into zip64 form: saturated 32-bit fields, a zip64 extra field per entry, zip64 end records. */
function toZip64(z: Uint8Array): Uint8Array {
  const v = new DataView(z.buffer, z.byteOffset, z.byteLength);
  const end = z.length - 22;
  const count = v.getUint16(end + 10, true), cdOffset = v.getUint32(end + 16, true);
  const parts: Uint8Array[] = [z.subarray(0, cdOffset)];
  let p = cdOffset;
  for (let k = 0; k < count; k++) {
    const n = v.getUint16(p + 28, true), e = v.getUint16(p + 30, true), c = v.getUint16(p + 32, true);
    const head = z.slice(p, p + 46 + n);
    const hv = new DataView(head.buffer);
    const extra = new DataView(new ArrayBuffer(4 + 24));
    extra.setUint16(0, 1, true);
    extra.setUint16(2, 24, true);
    extra.setBigUint64(4, BigInt(hv.getUint32(24, true)), true); // uncompressed
    extra.setBigUint64(12, BigInt(hv.getUint32(20, true)), true); // compressed
    extra.setBigUint64(20, BigInt(hv.getUint32(42, true)), true); // local header offset
    for (const off of [20, 24, 42]) hv.setUint32(off, 0xffffffff, true);
    hv.setUint16(30, e + 28, true);
    parts.push(head, new Uint8Array(extra.buffer), z.slice(p + 46 + n, p + 46 + n + e + c));
    p += 46 + n + e + c;
  }
  const cdSize = parts.slice(1).reduce((s, x) => s + x.length, 0);
  const rec = new DataView(new ArrayBuffer(56 + 20 + 22));
  rec.setUint32(0, 0x06064b50, true);
  rec.setBigUint64(4, 44n, true);
  rec.setBigUint64(24, BigInt(count), true);
  rec.setBigUint64(32, BigInt(count), true);
  rec.setBigUint64(40, BigInt(cdSize), true);
  rec.setBigUint64(48, BigInt(cdOffset), true);
  rec.setUint32(56, 0x07064b50, true);
  rec.setBigUint64(64, BigInt(cdOffset + cdSize), true);
  rec.setUint32(72, 1, true);
  rec.setUint32(76, 0x06054b50, true);
  rec.setUint16(84, 0xffff, true); // entries on this disk
  rec.setUint16(86, 0xffff, true); // entries
  rec.setUint32(88, 0xffffffff, true); // directory size
  rec.setUint32(92, 0xffffffff, true); // directory offset
  return Buffer.concat([...parts, new Uint8Array(rec.buffer)]);
}

describe('gunzipChunks', () => {
  const text = 'line one\nline two\n'.repeat(50);
  const gz = gzipSync(strToU8(text));

  it('decompresses in any chunking', async () => {
    for (const size of [1, 7, 1000]) expect(await collect(gunzipChunks(chunksOf(gz, size), 'c.gz'))).toBe(text);
  });

  it('reads concatenated members (cat a.gz b.gz)', async () => {
    const two = Buffer.concat([gzipSync(strToU8('a\n')), gzipSync(strToU8('b\n'))]);
    for (const size of [1, 5, 100]) expect(await collect(gunzipChunks(chunksOf(two, size), 'c.gz'))).toBe('a\nb\n');
  });

  it('detects a file cut at any byte, including inside the 8-byte trailer fflate does not check', async () => {
    for (let cut = 0; cut < gz.length; cut++) {
      const err = await errorOf(() => collect(gunzipChunks(chunksOf(gz.subarray(0, cut), 16), 'scifact/corpus.jsonl.gz')));
      expect(err, `cut at ${cut}`).toBeInstanceOf(BeirFormatError);
      expect(err.message).toMatch(/^scifact\/corpus\.jsonl\.gz: the gzip data is .*(truncated|empty).*Re-download/);
    }
  });

  it('detects a damaged CRC', async () => {
    const bad = gz.slice();
    bad[bad.length - 6] ^= 0xff;
    const err = await errorOf(() => collect(gunzipChunks(chunksOf(bad, 64), 'c.gz')));
    expect(err.message).toContain('CRC-32');
  });
});

describe('listZip with random access (central directory)', () => {
  const files = { 'd/a.txt': 'alpha\n', 'd/sub/b.txt': 'beta\n'.repeat(1000), 'd/empty.txt': '' };

  for (const [what, level] of [['deflated', 6], ['stored', 0]] as const) {
    it(`lists and reads ${what} entries`, async () => {
      const entries = await listZip(fromBytes('d.zip', zip(files, level)));
      expect(entries.map((e) => [e.name, e.size])).toEqual([['d/a.txt', 6], ['d/sub/b.txt', 5000], ['d/empty.txt', 0]]);
      for (const e of entries) expect(await collect(e.open(() => {}))).toBe(files[e.name as keyof typeof files]);
    });
  }

  it('reads zip64 directories and extra fields', async () => {
    const entries = await listZip(fromBytes('d.zip', toZip64(zip(files))));
    expect(entries.map((e) => e.name)).toEqual(Object.keys(files));
    for (const e of entries) expect(await collect(e.open(() => {}))).toBe(files[e.name as keyof typeof files]);
  });

  it('streams an entry larger than one read, counting compressed bytes read', async () => {
    const big = noisyText(ZIP_READ_CHUNK * 2 + 12345);
    const [entry] = await listZip(fromBytes('big.zip', zip({ 'big.txt': big })));
    let raw = 0;
    expect(await collect(entry.open((n) => (raw += n)))).toBe(big);
    expect(raw).toBe(entry.storedSize);
    expect(entry.storedSize).toBeGreaterThan(ZIP_READ_CHUNK);
  });

  it('rejects a zip cut short at any point, naming it and saying to re-download', async () => {
    const z = zip(files);
    for (let cut = 0; cut < z.length; cut += 7) {
      const err = await errorOf(async () => {
        for (const e of await listZip(fromBytes('scifact.zip', z.subarray(0, cut)))) await collect(e.open(() => {}));
      });
      expect(err, `cut at ${cut}`).toBeInstanceOf(BeirFormatError);
      expect(err.message).toMatch(/^scifact\.zip: .*Re-download the file; the zip is truncated or damaged$/);
    }
  });

  it('detects damaged entry data (inflate error or CRC mismatch)', async () => {
    const z = zip({ 'a.txt': noisyText(5000) });
    z[100] ^= 0x55; // inside the deflate stream of the only entry
    const [e] = await listZip(fromBytes('x.zip', z));
    const err = await errorOf(() => collect(e.open(() => {})));
    expect(err.message).toMatch(/^x\.zip: a\.txt (cannot be inflated|does not match its recorded size or CRC-32)/);
  });
});

describe('listZip without random access (fflate Unzip fallback)', () => {
  const files = { 'd/a.txt': 'alpha\n', 'd/b.txt': 'beta\n'.repeat(3000) };

  it('lists and reads entries from a plain stream', async () => {
    for (const level of [0, 6] as const) {
      const entries = await listZip(fromBytes('d.zip', zip(files, level), { noSlice: true, chunkSize: 100 }));
      expect(entries.map((e) => [e.name, e.size])).toEqual([['d/a.txt', 6], ['d/b.txt', 15000]]);
      for (const e of entries) expect(await collect(e.open(() => {}))).toBe(files[e.name as keyof typeof files]);
    }
  });

  it('rejects a stream cut inside an entry or inside the central directory', async () => {
    const z = zip(files);
    for (let cut = 0; cut < z.length; cut += 9) {
      const src = fromBytes('d.zip', z.subarray(0, cut), { noSlice: true, chunkSize: 50 });
      const err = await errorOf(async () => {
        for (const e of await listZip(src)) await collect(e.open(() => {}));
      });
      expect(err, `cut at ${cut}`).toBeInstanceOf(BeirFormatError);
      expect(err.message).toMatch(/^d\.zip: .*Re-download/);
    }
  });
});
