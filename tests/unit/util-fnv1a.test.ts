// FNV-1a against the published test vectors (Fowler/Noll/Vo, 32-bit FNV-1a) and the incremental form.
import { describe, expect, it } from 'vitest';
import { Fnv1a, fnv1aHex } from '../../src/util/fnv1a.ts';

describe('FNV-1a', () => {
  it('matches the published 32-bit vectors', () => {
    expect(fnv1aHex('')).toBe('811c9dc5');
    expect(fnv1aHex('a')).toBe('e40c292c');
    expect(fnv1aHex('foobar')).toBe('bf9cf968');
  });

  it('is the same fed at once or piecewise', () => {
    expect(new Fnv1a().addString('foo').addString('bar').hex()).toBe(fnv1aHex('foobar'));
    expect(new Fnv1a().add(0x66).add(0x6f).add(0x6f).hex()).toBe(fnv1aHex('foo'));
  });
});
