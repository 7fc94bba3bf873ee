// `expandr eval|encode --embeddings-precision`: f16 / int8 corpus embeddings are packed from the cached f32
// set without encoding the corpus again, reported in the JSON, and a value outside f32|f16|int8 is refused.
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { encodeCommand } from '../../src/cli/encode-command.ts';
import { evalCommand } from '../../src/cli/eval-command.ts';
import type { DenseDeps } from '../../src/cli/encoder-setup.ts';
import { UsageError } from '../../src/errors.ts';
import { F16_MAX_ABS_ERROR_SUBNORMAL, F16_MAX_RELATIVE_ERROR } from '../../src/retrieval/dense/precision.ts';
import { tinyFiles } from './helpers/beir-files.ts';
import { hashEncoder } from './helpers/hash-encoder.ts';

let tmp: string;
let data: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  tmp = await mkdtemp(join(tmpdir(), 'expandr-cli-precision-'));
  data = join(tmp, 'tiny');
  for (const [p, c] of Object.entries(tinyFiles(''))) {
    await mkdir(join(data, p, '..'), { recursive: true });
    await writeFile(join(data, p), c);
  }
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

async function lastJson(cmd: typeof evalCommand, argv: string[], deps: DenseDeps): Promise<Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  const err = vi.spyOn(console, 'error').mockImplementation(() => {});
  try {
    await cmd(argv, new AbortController().signal, deps);
  } finally {
    spy.mockRestore();
    err.mockRestore();
  }
  return JSON.parse(lines.at(-1)!);
}

it('packs the cached f32 corpus embeddings into f16 / int8 instead of encoding, for eval and encode', async () => {
  const enc = hashEncoder({ settings: { normalize: true, similarity: 'cosine' } });
  const deps: DenseDeps = { loadEncoder: async () => Object.assign(Object.create(enc) as typeof enc, { dispose: () => {} }) };
  const base = ['--data', data, '--encoder', 'tests/reference/fixtures/tiny-bert', '--backend', 'cpu', '--cache-dir', join(tmp, 'cache'), '--json', '--quiet'];
  const f32 = await lastJson(evalCommand, [...base, '--retriever', 'dense'], deps);
  const docsAndQueries = enc.texts;
  for (const p of ['f16', 'int8']) {
    const r = await lastJson(evalCommand, [...base, '--retriever', 'dense', '--embeddings-precision', p], deps);
    expect(r.params.embeddingsPrecision).toBe(p);
    expect(r['ndcg@10']).toBeGreaterThan(0);
  }
  expect(enc.texts).toBe(docsAndQueries + 2 * 2); // the queries of each run, no document again
  const outF32 = join(tmp, 'f32.jsonl');
  const outF16 = join(tmp, 'f16.jsonl');
  await lastJson(encodeCommand, [...base, '--out', outF32], deps);
  const e = await lastJson(encodeCommand, [...base, '--out', outF16, '--embeddings-precision', 'f16'], deps);
  expect(e).toMatchObject({ embeddingsPrecision: 'f16', cacheHit: true });
  const rows = async (f: string) => (await readFile(f, 'utf8')).trim().split('\n').map((l) => JSON.parse(l).embedding as number[]);
  const [a, b] = [await rows(outF32), await rows(outF16)];
  a.forEach((row, i) => row.forEach((x, j) => expect(Math.abs(b[i]![j]! - x)).toBeLessThanOrEqual(F16_MAX_RELATIVE_ERROR * Math.abs(x) + F16_MAX_ABS_ERROR_SUBNORMAL)));
  expect(enc.texts).toBe(docsAndQueries + 4); // encode found both sets cached
  await expect(lastJson(evalCommand, [...base, '--retriever', 'dense', '--embeddings-precision', 'int4'], deps)).rejects.toBeInstanceOf(UsageError);
});
