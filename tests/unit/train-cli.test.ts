// `expandr train-retriever` end to end on a small BEIR folder and the tiny BERT fixture: the JSON line,
// the sentence-transformers folder (reloadable, normalised for the contriever variant), checkpoints and --resume.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { useCpuBackend } from './helpers/tiny-encoder.ts';
import { syntheticTask } from './helpers/train-corpus.ts';
import { trainRetrieverCommand } from '../../src/cli/train-retriever-command.ts';
import { loadBertEncoder } from '../../src/encoder/encoder.ts';
import { readModelDir } from '../../src/encoder/node-files.ts';
import { UsageError } from '../../src/errors.ts';
import { cutDevSplit } from '../../src/data/dev-split.ts';

const TINY_BERT = new URL('../reference/fixtures/tiny-bert', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'expandr-train-cli-'));
const data = join(tmp, 'tiny');

beforeAll(async () => {
  await useCpuBackend();
  const { docs, queries, qrels } = syntheticTask(12);
  mkdirSync(join(data, 'qrels'), { recursive: true });
  writeFileSync(join(data, 'corpus.jsonl'), docs.map((d) => JSON.stringify({ _id: d.id, title: d.title, text: d.text })).join('\n'));
  writeFileSync(join(data, 'queries.jsonl'), queries.map((q) => JSON.stringify({ _id: q.id, text: q.text })).join('\n'));
  writeFileSync(join(data, 'qrels', 'train.tsv'), 'query-id\tcorpus-id\tscore\n' + [...qrels].map(([q, m]) => [...m].map(([d, s]) => `${q}\t${d}\t${s}`).join('\n')).join('\n'));
  writeFileSync(join(tmp, 'exp.jsonl'), queries.slice(0, 10).map((q) => JSON.stringify({ id: q.id, expansion: `${q.text} passage` })).join('\n'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function run(args: string[]): Promise<{ json: Record<string, unknown>; lines: string[] }> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  const err = vi.spyOn(console, 'error').mockImplementation(() => {});
  try {
    await trainRetrieverCommand(args, new AbortController().signal);
    const lines = log.mock.calls.map((c) => String(c[0]));
    return { json: JSON.parse(lines[lines.length - 1]), lines: err.mock.calls.map((c) => String(c[0])) };
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
}

describe('train-retriever command', () => {
  const out = join(tmp, 'out');
  const base = ['--data', data, '--encoder', TINY_BERT, '--out', out, '--batch', '4', '--lr', '1e-3', '--backend', 'cpu', '--max-length', '8', '--quiet', '--json'];

  it('trains, prints {"loss", ...} last and writes a reloadable sentence-transformers folder', async () => {
    const { json, lines } = await run([...base, '--steps', '3', '--hard-negatives', 'bm25', '--expansions', join(tmp, 'exp.jsonl'), '--grad-cache-chunk', '3', '--checkpoint-every', '2']);
    expect(Number.isFinite(json.loss)).toBe(true);
    expect(json).toMatchObject({ steps: 3, examples: 12, missingExpansions: 2, resumedFrom: null });
    expect(lines.join('\n')).toMatch(/2 of 12 training queries have no expansion/);
    const modules = JSON.parse(readFileSync(join(out, 'modules.json'), 'utf8'));
    expect(modules.map((m: { type: string }) => m.type.split('.').pop())).toEqual(['Transformer', 'Pooling', 'Normalize']);
    const info = JSON.parse(readFileSync(join(out, 'training_info.json'), 'utf8'));
    expect(info.lossCurve).toHaveLength(3);
    expect(existsSync(join(out, 'checkpoint', 'training_state.safetensors'))).toBe(true);
    // --max-length 8 truncated the training texts; the folder keeps the base model's max_seq_length (16).
    const baseModel = await loadBertEncoder(await readModelDir(TINY_BERT));
    expect(baseModel.settings.maxLength).toBeGreaterThan(8);
    expect(info.trainMaxLength).toBe(8);
    const enc = await loadBertEncoder(await readModelDir(out));
    expect(enc.settings).toMatchObject({ normalize: true, maxLength: baseModel.settings.maxLength });
    enc.dispose();
    baseModel.dispose();
  });

  it('--resume continues from OUT/checkpoint', async () => {
    const { json } = await run([...base, '--steps', '3', '--hard-negatives', 'bm25', '--expansions', join(tmp, 'exp.jsonl'), '--grad-cache-chunk', '3', '--checkpoint-every', '2', '--resume']);
    expect(json.resumedFrom).toBe(3);
  });

  it('--dev-fraction trains on the rest of the split; --snapshot-every exports the model at checkpoints', async () => {
    const snapOut = join(tmp, 'snap');
    const { json } = await run(['--data', data, '--encoder', TINY_BERT, '--out', snapOut, '--batch', '4', '--lr', '1e-3', '--backend', 'cpu', '--max-length', '8', '--quiet', '--json', '--steps', '4', '--dev-fraction', '0.25', '--dev-seed', '3', '--snapshot-every', '2']);
    const cut = cutDevSplit(syntheticTask(12).qrels, 'train', 0.25, 3);
    expect(json).toMatchObject({ examples: 9, dev: cut.record });
    const info = JSON.parse(readFileSync(join(snapOut, 'training_info.json'), 'utf8'));
    expect(info.dev).toEqual(cut.record);
    const weights = (dir: string) => readFileSync(join(dir, 'model.safetensors'));
    // The last snapshot is the exported model; the first is the model two steps earlier.
    expect(weights(join(snapOut, 'snapshots', 'step-4')).equals(weights(snapOut))).toBe(true);
    expect(weights(join(snapOut, 'snapshots', 'step-2')).equals(weights(snapOut))).toBe(false);
    expect(JSON.parse(readFileSync(join(snapOut, 'snapshots', 'step-2', 'training_info.json'), 'utf8')).step).toBe(2);
    await expect(run([...base, '--snapshot-every', '3', '--checkpoint-every', '2'])).rejects.toThrow(/multiple of --checkpoint-every/);
  });

  it('usage errors name the option', async () => {
    await expect(run([...base, '--variant', 'cosine'])).rejects.toThrow(UsageError);
    await expect(run([...base, '--split', 'nope'])).rejects.toThrow(/no split "nope"/);
  });
});
