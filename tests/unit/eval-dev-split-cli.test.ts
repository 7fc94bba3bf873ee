// `expandr eval --split dev --dev-fraction X`: the held-out part of SciFact's train split that
// train-retriever --dev-fraction X left out, and `dev-rest` the part it trained on.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { evalCommand } from '../../src/cli/eval-command.ts';
import { cutDevSplit } from '../../src/data/dev-split.ts';
import { loadBeir } from '../../src/data/load.ts';
import { sourcesFromPath } from '../../src/data/node-sources.ts';

const SCIFACT = new URL('../../../shared/data/beir/scifact', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'expandr-eval-dev-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function evalJson(args: string[]): Promise<Record<string, unknown>> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  const err = vi.spyOn(console, 'error').mockImplementation(() => {});
  try {
    await evalCommand(['--data', SCIFACT, '--quiet', '--json', ...args], new AbortController().signal);
    return JSON.parse(String(log.mock.calls.at(-1)![0]));
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
}

const runQids = (file: string) => new Set(readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split(' ')[0]));

describe('eval on a dev split cut from train', () => {
  it('dev and dev-rest are the two parts of the seeded cut, disjoint and complete', async () => {
    const data = await loadBeir(await sourcesFromPath(SCIFACT));
    const cut = cutDevSplit(data.qrels.get('train')!, 'train', 0.2, 42);
    const dev = await evalJson(['--split', 'dev', '--dev-fraction', '0.2', '--run', join(tmp, 'dev.trec')]);
    const rest = await evalJson(['--split', 'dev-rest', '--dev-fraction', '0.2', '--run', join(tmp, 'rest.trec')]);
    expect(dev.queries).toBe(cut.dev.size);
    expect(rest.queries).toBe(cut.train.size);
    expect([...runQids(join(tmp, 'dev.trec'))].sort()).toEqual([...cut.dev.keys()].sort());
    for (const q of runQids(join(tmp, 'rest.trec'))) expect(cut.dev.has(q)).toBe(false);
  });

  it('a missing dev split says how to cut one; --dev-fraction needs --split dev', async () => {
    await expect(evalJson(['--split', 'dev'])).rejects.toThrow(/add --dev-fraction/);
    await expect(evalJson(['--split', 'test', '--dev-fraction', '0.2'])).rejects.toThrow(/use it with --split dev/);
  });
});
