// The streaming SHA-256 and CRC-32 against outside references (node:crypto, zlib's published check value).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Crc32, Sha256, sha256Hex } from '../../src/data/hash.ts';

function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) out[i] = (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24;
  return out;
}

const nodeSha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('Sha256', () => {
  it('matches the FIPS 180-4 examples', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
  });

  it('matches node:crypto at every length around the 55/56/64-byte padding edges', () => {
    for (let n = 0; n <= 200; n++) {
      const b = bytes(n, n);
      expect(new Sha256().update(b).hex()).toBe(nodeSha(b));
    }
  });

  it('gives the same digest however the input is chunked', () => {
    const b = bytes(10_000);
    for (const size of [1, 3, 63, 64, 65, 1000, 4096]) {
      const h = new Sha256();
      for (let i = 0; i < b.length; i += size) h.update(b.subarray(i, i + size));
      expect(h.hex()).toBe(nodeSha(b));
    }
  });
});

describe('Crc32', () => {
  it('gives the standard check value for "123456789"', () => {
    expect(new Crc32().update(new TextEncoder().encode('123456789')).value()).toBe(0xcbf43926);
  });

  it('is the same in one piece and in chunks', () => {
    const b = bytes(5000);
    const c = new Crc32();
    for (let i = 0; i < b.length; i += 777) c.update(b.subarray(i, i + 777));
    expect(c.value()).toBe(new Crc32().update(b).value());
  });
});
