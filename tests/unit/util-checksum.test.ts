// The stored-record checksum (src/util/checksum.ts): its steps are FNV-1a's (tied to the published vectors
// through fnv1a.ts), words are taken as a naive byte-by-byte oracle takes them, every single changed byte and
// every truncation changes it, and a structured clone (what IndexedDB hands back) does not.
import { describe, expect, it } from 'vitest';
import { ContentChecksum, checksumValue } from '../../src/util/checksum.ts';
import { Fnv1a, fnv1aHex } from '../../src/util/fnv1a.ts';

const pad = (hex: string) => hex.padStart(8, '0');

describe('ContentChecksum', () => {
  it('steps as FNV-1a (32-bit) does: fed the bytes of "foobar" one word each, it gives the published hash', () => {
    const c = new ContentChecksum();
    for (const b of new TextEncoder().encode('foobar')) c.word(b);
    expect(c.hex()).toBe(pad(fnv1aHex('foobar'))); // bf9cf968, Fowler/Noll/Vo's vector
  });

  it('takes a typed array as its length, then little-endian 32-bit words, then a 1-3 byte tail (naive oracle)', () => {
    const bytes = Uint8Array.from({ length: 4 * 37 + 3 }, (_, i) => (i * 89 + 7) & 0xff);
    const oracle = new Fnv1a().add(bytes.length);
    for (let i = 0; i < bytes.length; i += 4) {
      let w = 0;
      for (let k = 0; k < 4 && i + k < bytes.length; k++) w |= bytes[i + k] << (8 * k);
      oracle.add(w);
    }
    expect(new ContentChecksum().view(bytes).hex()).toBe(pad(oracle.hex()));
    // The same bytes at an offset that is not a multiple of 4 (the word-view fast path cannot be used).
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    expect(new ContentChecksum().view(shifted.subarray(1)).hex()).toBe(pad(oracle.hex()));
  });
});

describe('checksumValue', () => {
  const vectors = Float32Array.from({ length: 16 }, (_, i) => Math.cos(i));
  const record = { ids: ['d1', 'd2'], vectors, dim: 8, meta: { m: null, ok: true, n: -0.5 } };

  it('is the same for a structured clone and for another key order', () => {
    expect(checksumValue(structuredClone(record))).toEqual(checksumValue(record));
    expect(checksumValue({ meta: record.meta, dim: 8, vectors, ids: record.ids })).toEqual(checksumValue(record));
  });

  it('changes with every single changed byte of an array, and with any truncation', () => {
    const base = checksumValue(record).checksum;
    const bytes = new Uint8Array(vectors.buffer);
    for (let i = 0; i < bytes.length; i++) {
      for (const flip of [0x01, 0x80, 0xff]) {
        const copy = vectors.slice();
        new Uint8Array(copy.buffer)[i] ^= flip;
        expect(checksumValue({ ...record, vectors: copy }).checksum, `byte ${i} ^ ${flip}`).not.toBe(base);
      }
    }
    for (let n = 0; n < vectors.length; n++) expect(checksumValue({ ...record, vectors: vectors.subarray(0, n) }).checksum).not.toBe(base);
  });

  it('tells types apart: a string from a number, a list from an object, one typed array from another with the same bytes', () => {
    expect(checksumValue('1').checksum).not.toBe(checksumValue(1).checksum);
    expect(checksumValue([]).checksum).not.toBe(checksumValue({}).checksum);
    expect(checksumValue(null).checksum).not.toBe(checksumValue(undefined).checksum);
    expect(checksumValue(new Uint8Array(vectors.buffer)).checksum).not.toBe(checksumValue(vectors).checksum);
    expect(checksumValue(['ab', 'c']).checksum).not.toBe(checksumValue(['a', 'bc']).checksum);
  });

  it('counts the content bytes (arrays, 2 per string code unit, 8 per number), not type names', () => {
    expect(checksumValue(vectors).bytes).toBe(64);
    expect(checksumValue(['ab', 'c']).bytes).toBe(6);
    expect(checksumValue({ x: 1.5 }).bytes).toBe(2 + 8);
    expect(checksumValue(new Map([['k', new Set([1])]])).bytes).toBe(2 + 8);
  });

  it('refuses what IndexedDB cannot store (a function)', () => {
    expect(() => checksumValue({ f: () => 1 })).toThrow(/Cannot checksum a function/);
  });
});
