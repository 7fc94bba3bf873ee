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

describe('training-data keys (checkpoints written before the shared hash still resume)', () => {
  it('keeps the retriever and DPO key formats', async () => {
    const { dpoDataKey } = await import('../../src/train/dpo-trainer.ts');
    const { dataKey } = await import('../../src/train/trainer.ts');
    const pairs = [{ prompt: [1, 2, 3], chosen: [4, 5], rejected: [6] }, { prompt: [0, 49151], chosen: [], rejected: [7, 7] }];
    expect(dpoDataKey(pairs as never)).toBe('2:3de25587');
    expect(dataKey({ examples: [{ qid: 'q1', query: 'café α', positives: ['d1'] }] } as never)).toBe('1:89bd0f8e');
  });
});
