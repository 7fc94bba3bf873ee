// "Train on one dataset, test on another" (paper §4: trained on one collection, tested zero-shot on BEIR)
// and the dev split: train sources (namespaced merge of two datasets, the dev cut recorded, the
// same-dataset overlap refused) and the runner end to end: tiny-bert + stories260K trained on a SciFact
// subset's train part, tested on a test-only set with other ids, every row with its dev numbers.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BeirDataset } from '../../src/data/load.ts';
import type { Qrels } from '../../src/data/types.ts';
import { experimentCommand } from '../../src/cli/experiment-command.ts';
import { checkNoOverlap, resolveTrainSource } from '../../src/pipeline/train-sources.ts';
import { writeScifactSubset } from '../browser/scifact-subset.ts';
import { TINY_RUNNER_CONFIG } from './helpers/tiny-runner-config.ts';
import { writeTestOnlySubset } from '../browser/test-only-subset.ts';

const ROOT = join(import.meta.dirname, '../..');
const SCIFACT = join(ROOT, '../shared/data/beir/scifact');
const LONG_TEST_MS = 600_000;
const DEV = { fraction: null, seed: 42 };

function dataset(name: string, checksum: string, splits: Record<string, string[]>): BeirDataset {
  const ids = [...new Set(Object.values(splits).flat())];
  const qrels = (qs: string[]): Qrels => new Map(qs.map((q) => [q, new Map([[`d${q}`, 1]])]));
  return {
    name,
    docs: ids.map((q) => ({ id: `d${q}`, title: '', text: `doc ${q}` })),
    queries: new Map(ids.map((q) => [q, { id: q, text: `query ${q}` }])),
    qrels: new Map(Object.entries(splits).map(([s, qs]) => [s, qrels(qs)])),
    splits: {},
    warnings: [],
    checksum,
    fileSha256: {},
  } as unknown as BeirDataset;
}
const ids = (p: string, n: number) => Array.from({ length: n }, (_, i) => `${p}${i}`);

describe('train sources', () => {
  it('merges two train datasets with colliding ids under NAME/ and records each dev cut', () => {
    const a = dataset('a', 'ca', { train: ids('q', 10) });
    const b = dataset('b', 'cb', { train: ids('q', 5), dev: ['x1', 'x2'] });
    const s = resolveTrainSource([a, b], 'train', DEV);
    expect(s.records.map((r) => [r.prefix, r.dev.kind, r.dev.devQueries, r.trainQueries])).toEqual([['a/', 'cut', 2, 8], ['b/', 'dataset', 2, 5]]);
    expect(s.data.queries.has('a/q0') && s.data.queries.has('b/q0')).toBe(true);
    expect(s.data.docs).toHaveLength(17);
    for (const [qid, judged] of [...s.train, ...s.dev]) for (const doc of judged.keys()) expect(doc).toBe(`${qid.slice(0, 2)}d${qid.slice(2)}`);
    expect(s.train.size + s.dev.size).toBe(17);
    // One train dataset keeps its ids; its cut equals the dev-split module's.
    const one = resolveTrainSource([a], 'train', { fraction: 0.3, seed: 7 });
    expect(one.data).toBe(a);
    expect(one.records[0].dev).toMatchObject({ kind: 'cut', fraction: 0.3, seed: 7, devQueries: 3 });
  });

  it('refuses test ids that are train/dev queries of the same dataset, naming them; other datasets may reuse ids', () => {
    const a = dataset('a', 'ca', { train: ids('q', 10), test: ['t1', 'q3', 'q8'] });
    expect(() => checkNoOverlap(a, 'test', resolveTrainSource([a], 'train', DEV))).toThrow(/2 query id\(s\) of the test split "test" are also train\/dev queries.*q3, q8/);
    const other = dataset('other', 'co', { test: ['q3', 'q8'] });
    expect(() => checkNoOverlap(other, 'test', resolveTrainSource([a], 'train', DEV))).not.toThrow();
    // A merged source: the same dataset found by checksum behind its prefix.
    const b = dataset('b', 'cb', { train: ids('q', 5) });
    expect(() => checkNoOverlap(a, 'test', resolveTrainSource([b, a], 'train', DEV))).toThrow(/q3, q8/);
    expect(() => resolveTrainSource([other], 'train', DEV)).toThrow(/other has no train split "train"/);
  });
});

describe('the runner trained on one dataset and tested on another', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'expandr-cross-'));
    writeScifactSubset(SCIFACT, join(dir, 'scifact-a'), { queries: 6, docs: 40 });
    writeTestOnlySubset(SCIFACT, join(dir, 'testonly-b'), { queries: 4, docs: 30, skip: 6 });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const config = (over: Record<string, unknown>) => {
    const file = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        data: join(dir, 'testonly-b'),
        trainData: [join(dir, 'scifact-a')],
        trainQueries: 4,
        ...TINY_RUNNER_CONFIG,
        settings: ['BM25', 'Raw', 'Raw+expansion', 'FT', 'ExpandR'],
        ...over,
      }),
    );
    return file;
  };

  it(
    'completes with test rows on the test-only set, dev rows on the train set, and the sources recorded',
    async () => {
      const out = join(dir, 'run');
      mkdirSync(out);
      const printed = vi.spyOn(console, 'log').mockImplementation(() => {});
      try {
        await experimentCommand(['--config', config({}), '--out', out, '--quiet', '--json'], new AbortController().signal);
        expect(JSON.parse(printed.mock.calls.at(-1)![0] as string).sources.devQueries).toBe(1);
      } finally {
        printed.mockRestore();
      }
      const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
      expect(results.dataset).toBe('testonly-b');
      expect(results.rows.map((r: { setting: string }) => r.setting)).toEqual(['BM25', 'Raw', 'Raw+expansion', 'FT', 'ExpandR']);
      for (const r of results.rows) {
        expect(r['ndcg@10']).toBeGreaterThanOrEqual(0);
        expect(r.dev.queries).toBe(1);
        expect(r.dev['ndcg@10']).toBeGreaterThanOrEqual(0);
        expect(r.dev['ndcg@10']).toBeLessThanOrEqual(1);
      }
      expect(results.sources.test).toMatchObject({ dataset: 'testonly-b', split: 'test', queries: 4 });
      expect(results.sources.train).toEqual([expect.objectContaining({ dataset: 'scifact-a', split: 'train', trainQueries: 5, prefix: '' })]);
      expect(results.sources.train[0].dev).toMatchObject({ kind: 'cut', from: 'train', fraction: 0.2, seed: 42, devQueries: 1, trainQueries: 5 });
      // Test runs name the test-only set's queries, dev runs the train set's; expansions exist for both.
      const devRun = readFileSync(join(out, 'runs', 'ExpandR-dev', 'run.trec'), 'utf8');
      expect(devRun.split('\n')[0]).not.toMatch(/^b/);
      expect(readFileSync(join(out, 'runs', 'ExpandR', 'run.trec'), 'utf8').split('\n')[0]).toMatch(/^b\d+ Q0 bd/);
      expect(readFileSync(join(out, 'expansions', 'round-1-dev', 'expansions.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
      const md = readFileSync(join(out, 'results.md'), 'utf8');
      expect(md).toContain('Choose on dev only');
      expect(md).toContain('dev nDCG@10 (choose on this)');
      expect(md).toContain('tested on testonly-b "test" (4 queries)');
      // The interval plot of each row against FT beside it, linked under the differences table; no variants, no variants' plot.
      expect(readFileSync(join(out, 'differences-vs-ft.svg'), 'utf8')).toMatch(/^<svg [^>]*>.*>ExpandR<\/text>.*<\/svg>$/s);
      expect(md).toContain('](differences-vs-ft.svg)');
      expect(existsSync(join(out, 'variants-vs-round1.svg'))).toBe(false);
    },
    LONG_TEST_MS,
  );

  it('refuses a test split that shares query ids with the train part of the same dataset', async () => {
    const file = config({ data: join(dir, 'scifact-a'), trainData: [], split: 'train', settings: ['BM25'] });
    await expect(experimentCommand(['--config', file, '--out', join(dir, 'refused'), '--quiet'], new AbortController().signal)).rejects.toThrow(/query id\(s\) of the test split "train" are also train\/dev queries/);
  });
});
