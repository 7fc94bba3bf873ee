// MD5 against the RFC 1321 §A.5 test suite and node:crypto (a naive oracle), whole and in odd pieces.
import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { Md5, md5Hex } from '../../src/util/md5.ts';
import { createRng } from '../../src/util/random.ts';

const RFC1321: [string, string][] = [
  ['', 'd41d8cd98f00b204e9800998ecf8427e'],
  ['a', '0cc175b9c0f1b6a831c399e269772661'],
  ['abc', '900150983cd24fb0d6963f7d28e17f72'],
  ['message digest', 'f96b697d7cb7938d525a2f31aaf161d0'],
  ['abcdefghijklmnopqrstuvwxyz', 'c3fcd3d76192e4007dfb496cca67e13b'],
  ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 'd174ab98d277d9f5a5611c2c9f419d9f'],
  ['1234567890'.repeat(8), '57edf4a22be3c955ac49da2e2107b67a'],
];

describe('md5', () => {
  test('RFC 1321 test suite', () => {
    for (const [text, hex] of RFC1321) expect(md5Hex(new TextEncoder().encode(text)), JSON.stringify(text)).toBe(hex);
  });

  test('equals node:crypto for lengths around the 56/64-byte padding edges, fed in uneven pieces', () => {
    const rng = createRng(3);
    for (const n of [55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 70_001]) {
      const bytes = Uint8Array.from({ length: n }, () => rng.int(256));
      const want = createHash('md5').update(bytes).digest('hex');
      expect(md5Hex(bytes)).toBe(want);
      const m = new Md5();
      for (let at = 0; at < n; ) {
        const step = 1 + rng.int(97);
        m.update(bytes.subarray(at, at + step));
        at += step;
      }
      expect(m.hex()).toBe(want);
    }
  });
});
