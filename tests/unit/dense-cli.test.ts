// The runner's dense commands on a tiny BEIR fixture: `encode` (documents and queries, JSONL), and
// `eval --retriever dense` (metrics as for BM25, TREC run, expansions, the embedding cache hit on the
// second run). The real BERT encoder on the tiny random model of tests/reference/fixtures, cpu backend,
// and the hashed stand-in through the injectable factory (to count what gets encoded).
import * as tf from '@tensorflow/tfjs-core';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { encodeCommand } from '../../src/cli/encode-command.ts';
import { evalCommand } from '../../src/cli/eval-command.ts';
import { guessPreset, type DenseDeps } from '../../src/cli/encoder-setup.ts';
import { loadBertEncoder } from '../../src/encoder/encoder.ts';
import { modelFilesFromPath } from '../../src/model/sources-node.ts';
import { flatText } from '../../src/data/types.ts';
import { UsageError } from '../../src/errors.ts';
import { tinyFiles, jsonl } from './helpers/beir-files.ts';
import { hashEncoder } from './helpers/hash-encoder.ts';

const TINY_BERT = 'tests/reference/fixtures/tiny-bert';
const DOCS = [
  { id: 'd1', title: 'Cats', text: 'Cats purr.' },
  { id: 'd2', title: 'Kittens', text: 'Kittens are young cats.' },
  { id: 'd3', title: '', text: 'Dogs bark.' },
  { id: 'd4', title: 'Birds', text: 'Birds sing.' },
];

let tmp: string;
let data: string;
let cache: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'expandr-cli-'));
  data = join(tmp, 'tiny');
  cache = join(tmp, 'cache');
  for (const [p, c] of Object.entries(tinyFiles(''))) {
    await mkdir(join(data, p, '..'), { recursive: true });
    await writeFile(join(data, p), c);
  }
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

/** Runs a command and returns its stdout lines (console.log). */
async function run(cmd: typeof evalCommand, argv: string[], deps?: DenseDeps): Promise<string[]> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  const err = vi.spyOn(console, 'error').mockImplementation(() => {});
  try {
    await cmd(argv, new AbortController().signal, deps);
  } finally {
    spy.mockRestore();
    err.mockRestore();
  }
  return lines;
}
const lastJson = (lines: string[]) => JSON.parse(lines.at(-1)!) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const readJsonl = async (f: string) => (await readFile(f, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { id: string; embedding: number[] });

describe('expandr encode', () => {
  it('writes one {"id","embedding"} per document, equal to the encoder on title + " " + text', async () => {
    const out = join(tmp, 'docs.jsonl');
    const j = lastJson(await run(encodeCommand, ['--data', data, '--encoder', TINY_BERT, '--out', out, '--backend', 'cpu', '--cache-dir', cache, '--json', '--quiet']));
    expect(j).toMatchObject({ kind: 'docs', count: 4, dim: 32, backend: 'cpu', cacheHit: false, model: 'tiny-bert' });
    const rows = await readJsonl(out);
    expect(rows.map((r) => r.id)).toEqual(['d1', 'd2', 'd3', 'd4']);
    const enc = await loadBertEncoder((await modelFilesFromPath(TINY_BERT)).files);
    const direct = await enc.encode(DOCS.map(flatText), 'doc');
    enc.dispose();
    rows.forEach((r, i) => expect(Float32Array.from(r.embedding)).toEqual(direct.subarray(i * 32, (i + 1) * 32)));

    const again = lastJson(await run(encodeCommand, ['--data', data, '--encoder', TINY_BERT, '--out', out, '--backend', 'cpu', '--cache-dir', cache, '--json', '--quiet', '--limit', '2']));
    expect(again).toMatchObject({ count: 2, cacheHit: false }); // a prefix is another corpus
  });

  it('writes the queries of a split with --queries, and rejects --split without it', async () => {
    const out = join(tmp, 'queries.jsonl');
    const j = lastJson(await run(encodeCommand, ['--data', data, '--encoder', TINY_BERT, '--out', out, '--backend', 'cpu', '--queries', '--split', 'test', '--json', '--quiet']));
    expect(j).toMatchObject({ kind: 'queries', count: 2 });
    expect((await readJsonl(out)).map((r) => r.id)).toEqual(['q1', 'q2']);
    await expect(run(encodeCommand, ['--data', data, '--encoder', TINY_BERT, '--out', out, '--split', 'test'])).rejects.toBeInstanceOf(UsageError);
  });
});

describe('expandr eval --retriever dense', () => {
  it('prints the BM25 metric keys, writes a run, and reuses the corpus embeddings the second time', async () => {
    const runFile = join(tmp, 'dense.run');
    const args = ['--data', data, '--retriever', 'dense', '--encoder', TINY_BERT, '--backend', 'cpu', '--cache-dir', join(tmp, 'c2'), '--run', runFile, '--json', '--quiet'];
    const first = lastJson(await run(evalCommand, args));
    expect(first).toMatchObject({ dataset: 'tiny', split: 'test', retriever: 'dense', queries: 2 });
    for (const key of ['ndcg@10', 'recall@100', 'mrr@10', 'map@100']) expect(first[key]).toBeGreaterThanOrEqual(0);
    expect(first.timings.cacheHit).toBe(false);
    expect((await readFile(runFile, 'utf8')).trim().split('\n').length).toBe(8); // 2 queries × 4 docs
    const second = lastJson(await run(evalCommand, args));
    expect(second.timings).toMatchObject({ cacheHit: true, encodedDocs: 0 });
    expect(second['ndcg@10']).toBe(first['ndcg@10']);

    const bm25 = lastJson(await run(evalCommand, ['--data', data, '--json', '--quiet']));
    expect(Object.keys(bm25).filter((k) => k.includes('@')).sort()).toEqual(Object.keys(first).filter((k) => k.includes('@')).sort());
    const text = await run(evalCommand, args.filter((a) => a !== '--json'));
    expect(text[0]).toMatch(/tiny · test · dense \(tiny-bert, dim 32\) · 2 queries · cpu/);
  });

  it('compares with a baseline run file: its metrics and the permutation p-values', async () => {
    const own = join(tmp, 'bm25.trec');
    await run(evalCommand, ['--data', data, '--quiet', '--run', own]);
    const same = lastJson(await run(evalCommand, ['--data', data, '--quiet', '--json', '--compare', own]));
    expect(same.compare.queries).toBe(2);
    for (const m of ['ndcg@10', 'recall@100', 'mrr@10', 'map@100']) {
      expect(same.compare.metrics[m]).toEqual({ baseline: same[m], pValue: 1, meanDiff: 0, direction: 'none', mark: '' }); // identical runs
    }
    const table = await run(evalCommand, ['--data', data, '--quiet', '--compare', own]);
    expect(table.join('\n')).toMatch(/metric\s+value\s+baseline\s+p/);
    await expect(run(evalCommand, ['--data', data, '--quiet', '--compare', join(tmp, 'missing.trec')])).rejects.toThrow(/missing\.trec/);
  });

  it('encodes the corpus once across evaluations and expansions (stand-in encoder)', async () => {
    const enc = hashEncoder({ settings: { normalize: true, similarity: 'cosine' } });
    // The commands dispose their encoder when done: hand out views whose dispose keeps the shared one.
    const deps: DenseDeps = { loadEncoder: async () => Object.assign(Object.create(enc) as typeof enc, { dispose: () => {} }) };
    const exp = join(tmp, 'exp.jsonl');
    await writeFile(exp, jsonl([{ id: 'q1', expansion: 'Cats purr when content.' }, { query_id: 'q2', text: 'Dogs bark loudly.' }]));
    const base = ['--data', data, '--retriever', 'dense', '--encoder', TINY_BERT, '--backend', 'cpu', '--cache-dir', join(tmp, 'c3'), '--json', '--quiet'];
    const plain = lastJson(await run(evalCommand, base, deps));
    expect(enc.texts).toBe(4 + 2); // docs + queries
    const expanded = lastJson(await run(evalCommand, [...base, '--expansions', exp], deps));
    expect(enc.texts).toBe(6 + 2 + 2); // no documents again: queries + expansions
    expect(expanded.params).toMatchObject({ expansionNorm: 'contriever', expanded: 2, normalizeDocs: true });
    expect(plain.params.expansionNorm).toBeNull();
    expect(expanded['ndcg@10']).toBeGreaterThan(0);
    const raw = lastJson(await run(evalCommand, [...base, '--expansions', exp, '--expansion-norm', 'raw'], deps));
    expect(raw.params).toMatchObject({ expansionNorm: 'raw', normalizeDocs: true }); // cosine model: documents normalised anyway
    await expect(run(evalCommand, [...base, '--expansion-norm', 'bogus'], deps)).rejects.toBeInstanceOf(UsageError);
  });

  it('rejects an unknown retriever and a missing --encoder; guesses presets from the folder name', async () => {
    await expect(run(evalCommand, ['--data', data, '--retriever', 'splade'])).rejects.toThrow(/use bm25 or dense/);
    await expect(run(evalCommand, ['--data', data, '--retriever', 'dense', '--quiet'])).rejects.toThrow(/--encoder PATH is required/);
    const files = new Map([['config.json', new TextEncoder().encode('{"_name_or_path":"intfloat/e5-small-v2"}')]]);
    expect(guessPreset(files, 'x')).toBe('intfloat/e5-small-v2');
    expect(guessPreset(new Map(), 'bge-small-en-v1.5')).toBe('BAAI/bge-small-en-v1.5');
    expect(guessPreset(new Map(), 'tiny-bert')).toBeUndefined();
  });
});

afterAll(() => {
  expect(tf.getBackend()).toBe('cpu');
});
