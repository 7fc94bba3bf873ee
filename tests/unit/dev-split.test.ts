import { describe, expect, it } from 'vitest';
import { cutDevSplit, resolveDevSplit } from '../../src/data/dev-split.ts';
import type { Qrels } from '../../src/data/types.ts';

const qrels = (ids: string[]): Qrels => new Map(ids.map((id) => [id, new Map([[`d${id}`, 1]])]));
const ids100 = Array.from({ length: 100 }, (_, i) => `q${i}`);

describe('dev split', () => {
  it('cuts a seeded fraction: disjoint, complete, file order kept, reproducible, seed-dependent', () => {
    const a = cutDevSplit(qrels(ids100), 'train', 0.2, 7);
    expect(a.dev.size).toBe(20);
    expect(a.train.size).toBe(80);
    for (const id of a.dev.keys()) expect(a.train.has(id)).toBe(false);
    expect(new Set([...a.dev.keys(), ...a.train.keys()]).size).toBe(100);
    const order = [...a.dev.keys()].map((id) => Number(id.slice(1)));
    expect(order).toEqual([...order].sort((x, y) => x - y));
    const b = cutDevSplit(qrels(ids100), 'train', 0.2, 7);
    expect([...b.dev.keys()]).toEqual([...a.dev.keys()]);
    expect(b.record.devKey).toBe(a.record.devKey);
    const c = cutDevSplit(qrels(ids100), 'train', 0.2, 8);
    expect(c.record.devKey).not.toBe(a.record.devKey);
    expect(a.record).toMatchObject({ kind: 'cut', from: 'train', fraction: 0.2, seed: 7, trainQueries: 80, devQueries: 20 });
  });

  it('refuses fractions that leave a part empty', () => {
    expect(() => cutDevSplit(qrels(['a', 'b']), 'train', 0.1)).toThrow(/too few/);
    expect(() => cutDevSplit(qrels(ids100), 'train', 1)).toThrow(/between 0 and 1/);
  });

  it("uses the dataset's own dev split when it has one, removing its queries from train", () => {
    const splits = new Map([['train', qrels(['a', 'b', 'c'])], ['dev', qrels(['c', 'x'])]]);
    const r = resolveDevSplit(splits, 'train');
    expect([...r.train.keys()]).toEqual(['a', 'b']);
    expect([...r.dev.keys()]).toEqual(['c', 'x']);
    expect(r.record.kind).toBe('dataset');
    expect(resolveDevSplit(splits, 'train', { fraction: 0.5, seed: 1 }).record.kind).toBe('cut');
    expect(() => resolveDevSplit(splits, 'nope')).toThrow(/no split "nope"/);
  });
});
