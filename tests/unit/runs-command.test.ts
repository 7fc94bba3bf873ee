// `expandr runs` and `runs compare` on two run folders made here the way `experiment` makes them
// (recordRunStart writes run.json, the folder store's saveState keeps it current): run A with encoder
// "enc-a" and seed 1 evaluated BM25 and Raw; run B with encoder "enc-b", seed 2 and 8 test queries plus 2
// more evaluated Raw, Raw+expansion and FT. B's FT beats A's Raw by 0.5 on 6 queries and by 0.25 on 2,
// so exact enumeration over the 8 shared queries gives p = 2 / 2^8.
import { spawnSync } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runsCommand } from '../../src/cli/runs-command.ts';
import { folderRunStore, readManifest, recordRunStart, writeManifest } from '../../src/cli/run-folder.ts';
import { UsageError } from '../../src/errors.ts';
import { modelHash } from '../../src/model/sources.ts';
import { experimentConfig } from '../../src/pipeline/config.ts';
import { codeVersion, shortKey } from '../../src/pipeline/run-key.ts';
import { newManifest } from '../../src/pipeline/run-record.ts';
import { configKey, RUN_STATE_FORMAT, RUN_STATE_VERSION, type RunState } from '../../src/pipeline/run-state.ts';
import type { SettingName } from '../../src/pipeline/types.ts';
import { jsonl } from './helpers/beir-files.ts';

const QIDS = ['q0', 'q1', 'q2', 'q3', 'q4', 'q5', 'q6', 'q7'];
const P_ALL_ONE_WAY = 2 / 2 ** QIDS.length;
const enc = (s: string) => new TextEncoder().encode(s);

let root: string;
let data: string;
let keyA: string;
let keyB: string;

interface RunSpec {
  encoder: string;
  seed: number;
  seeds?: number[];
  /** Further eval stages by stage name (e.g. 'eval:FT@seed6', 'devEval:FT'): qid → nDCG@10. */
  extra?: Record<string, Record<string, number>>;
  settings: SettingName[];
  values: Partial<Record<SettingName, Record<string, number>>>;
  expansions?: Record<string, string>;
  /** Further stages by name with their output as is (e.g. 'expansions:round-1:test'). */
  outputs?: Record<string, unknown>;
}

/** A run folder as `experiment` leaves it: run.json from recordRunStart, run-state.json through the folder store. */
async function makeRun(dir: string, s: RunSpec): Promise<string> {
  const config = experimentConfig({ data, seed: s.seed, ...(s.seeds ? { seeds: s.seeds } : {}), settings: s.settings, encoder: { model: `/models/${s.encoder}` }, llm: { model: '/models/llm' } });
  const files = new Map([['config.json', enc('{}')], ['model.safetensors', enc(s.encoder)]]);
  const manifest = newManifest({
    models: [{ role: 'encoder', name: s.encoder, hash: await modelHash(files) }, { role: 'llm', name: 'llm', hash: 'sha256:llm' }],
    datasets: [{ role: 'data', name: 'words', checksum: 'sha256:words' }],
    config,
    code: codeVersion('0.1.0', 'abcdef1234567'),
  });
  await mkdir(dir, { recursive: true });
  recordRunStart(dir, manifest);
  const state: RunState = { format: RUN_STATE_FORMAT, version: RUN_STATE_VERSION, configKey: configKey(config), stages: {} };
  const store = folderRunStore(dir);
  if (s.expansions) state.stages['expansions:base:test'] = { output: s.expansions, finishedAt: new Date().toISOString(), ms: 1 };
  for (const [name, output] of Object.entries(s.outputs ?? {})) state.stages[name] = { output, finishedAt: new Date().toISOString(), ms: 1 };
  const stages: [string, string, Record<string, number>][] = [
    ...Object.entries(s.values).map(([setting, pq]) => [`eval:${setting}`, setting, pq!] as [string, string, Record<string, number>]),
    ...Object.entries(s.extra ?? {}).map(([name, pq]) => [name, name.replace(/^(eval|devEval):/, '').replace(/@seed\d+$/, ''), pq] as [string, string, Record<string, number>]),
  ];
  for (const [name, setting, pq] of stages) {
    const perQuery = Object.fromEntries(Object.entries(pq).map(([q, v]) => [q, { 'ndcg@10': v, 'recall@100': Math.min(1, v + 0.5) }]));
    const mean = Object.values(pq).reduce((a, b) => a + b, 0) / Object.keys(pq).length;
    state.stages[name] = { output: { setting, metrics: { 'ndcg@10': mean, 'recall@100': mean }, perQuery }, finishedAt: new Date().toISOString(), ms: 1 };
    await store.saveState(state);
  }
  return manifest.key;
}

const valuesOf = (f: (i: number) => number, ids = QIDS) => Object.fromEntries(ids.map((q, i) => [q, f(i)]));

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'expandr-runs-'));
  data = join(root, 'words');
  await mkdir(join(data, 'qrels'), { recursive: true });
  await writeFile(join(data, 'corpus.jsonl'), jsonl(QIDS.map((q, i) => ({ _id: `d${i}`, title: `Title ${i}`, text: `gold passage of ${q}` }))));
  await writeFile(join(data, 'queries.jsonl'), jsonl(QIDS.map((q, i) => ({ _id: q, text: `question number ${i}` }))));
  await writeFile(join(data, 'qrels', 'test.tsv'), `query-id\tcorpus-id\tscore\n${QIDS.map((q, i) => `${q}\td${i}\t1`).join('\n')}\n`);
  keyA = await makeRun(join(root, 'runs', 'exp-a'), {
    encoder: 'enc-a',
    seed: 1,
    settings: ['BM25', 'Raw'],
    values: { BM25: valuesOf(() => 0.25), Raw: valuesOf(() => 0.25) },
  });
  keyB = await makeRun(join(root, 'runs', 'exp-b'), {
    encoder: 'enc-b',
    seed: 2,
    settings: ['Raw', 'Raw+expansion', 'FT', 'ExpandR'],
    values: {
      Raw: valuesOf(() => 0.5, [...QIDS, 'q8', 'q9']),
      'Raw+expansion': valuesOf((i) => (i === 3 ? 0 : 0.5)),
      FT: valuesOf((i) => (i < 6 ? 0.75 : 0.5), [...QIDS, 'q8', 'q9']),
    },
    expansions: Object.fromEntries(QIDS.map((q) => [q, `expansion of ${q}`])),
  });
});
afterAll(() => rm(root, { recursive: true, force: true }));

async function run(argv: string[]): Promise<string[]> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  const err = vi.spyOn(console, 'error').mockImplementation(() => {});
  try {
    await runsCommand(argv);
  } finally {
    spy.mockRestore();
    err.mockRestore();
  }
  return lines;
}
const lastJson = (lines: string[]) => JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;

describe('expandr runs', () => {
  it('lists both runs with their keys, models, dataset, settings done and status', async () => {
    const { runs } = lastJson(await run(['--root', root, '--json'])) as { runs: Record<string, string>[] };
    const byName = Object.fromEntries(runs.map((r) => [r.dir.split('/').pop()!, r]));
    expect(Object.keys(byName).sort()).toEqual(['exp-a', 'exp-b']);
    expect(keyA).not.toBe(keyB);
    expect(byName['exp-a'].key).toBe(shortKey(keyA));
    expect(byName['exp-a'].id).toBe(keyA);
    expect(byName['exp-b'].key).toBe(shortKey(keyB));
    expect(byName['exp-a'].models).toContain('encoder enc-a');
    expect(byName['exp-b'].models).toContain('encoder enc-b');
    expect(byName['exp-a'].dataset).toBe('words');
    expect(byName['exp-a'].settings).toBe('BM25, Raw');
    expect(byName['exp-a'].status).toBe('complete');
    // B's ExpandR never ran, and its process (this one) is alive: running
    expect(byName['exp-b'].status).toBe('running');
    expect(byName['exp-b'].config).toContain('seed 2');
    expect(byName['exp-a'].config).toContain('seed 1');
  });

  it('shows a run whose process is gone as stopped', async () => {
    const dir = join(root, 'runs', 'exp-b');
    const m = readManifest(dir)!;
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    writeManifest(dir, { ...m, pid: dead });
    try {
      const { runs } = lastJson(await run(['--root', root, '--json'])) as { runs: Record<string, string>[] };
      expect(runs.find((r) => r.dir.endsWith('exp-b'))!.status).toBe('stopped');
    } finally {
      writeManifest(dir, m);
    }
  });

  it('prints a table naming both keys', async () => {
    const text = (await run(['--root', root])).join('\n');
    expect(text).toContain(shortKey(keyA));
    expect(text).toContain(shortKey(keyB));
    expect(text).toContain('models: encoder enc-b');
  });
});

describe('expandr runs compare', () => {
  it("tests B's FT against A's Raw on the shared queries, with differences sorted by change", async () => {
    const r = lastJson(await run(['compare', 'exp-a:Raw', `${shortKey(keyB)}:FT`, '--root', root, '--json', '--cases', '0']));
    expect(r.shared).toBe(8);
    expect(r.onlyA).toBe(0);
    expect(r.onlyB).toBe(2); // q8, q9: B evaluated more queries; left out of the test, and counted
    expect(r.pValue).toBeCloseTo(P_ALL_ONE_WAY, 12);
    expect(r.exact).toBe(true);
    expect(r.meanDiff).toBeCloseTo((6 * 0.5 + 2 * 0.25) / 8, 12);
    expect(r.direction).toBe('improvement');
    // Its 95 % bootstrap interval: resampled means of six 0.5s and two 0.25s lie in [0.25, 0.5] around it.
    const ci = r.ci95 as { lo: number; hi: number; level: number };
    expect(ci.level).toBe(0.95);
    expect(ci.lo).toBeGreaterThanOrEqual(0.25);
    expect(ci.lo).toBeLessThan(r.meanDiff as number);
    expect(ci.hi).toBeGreaterThan(r.meanDiff as number);
    expect(ci.hi).toBeLessThanOrEqual(0.5);
    const text = (await run(['compare', 'exp-a:Raw', `${shortKey(keyB)}:FT`, '--root', root, '--cases', '0'])).join('\n');
    expect(text).toContain(`(95 % CI [+${ci.lo.toFixed(4)}, +${ci.hi.toFixed(4)}], percentile bootstrap over the queries)`);
    const diffs = r.diffs as { qid: string; diff: number }[];
    expect(diffs.map((d) => d.qid)).toEqual(['q0', 'q1', 'q2', 'q3', 'q4', 'q5', 'q6', 'q7']);
    expect(diffs[0].diff).toBeCloseTo(0.5, 12);
    expect(diffs[7].diff).toBeCloseTo(0.25, 12);
  });

  it('compares on another stored metric and swaps direction when the sides swap', async () => {
    const r = lastJson(await run(['compare', 'exp-b:FT', 'exp-a:Raw', '--root', root, '--json', '--metric', 'recall@100', '--cases', '0']));
    expect(r.metric).toBe('recall@100');
    expect(r.direction).toBe('loss');
    expect(r.onlyA).toBe(2);
  });

  it('shows the query that moved most with its text, gold passage and both expansions', async () => {
    const r = lastJson(await run(['compare', 'exp-b:Raw', 'exp-b:Raw+expansion', '--root', root, '--json', '--cases', '1']));
    expect(r.pValue).toBe(1); // one query moved: both sign assignments are as extreme
    const [c] = r.cases as Record<string, unknown>[];
    expect(c).toMatchObject({ qid: 'q3', a: 0.5, b: 0, query: 'question number 3', gold: { docId: 'd3', text: 'Title 3 gold passage of q3' }, expansionB: 'expansion of q3' });
    expect(c.expansionA).toBeUndefined(); // Raw has no expansion
    const text = (await run(['compare', 'exp-b:Raw', 'exp-b:Raw+expansion', '--root', root, '--cases', '1'])).join('\n');
    expect(text).toContain('query: question number 3');
    expect(text).toContain('B expansion: expansion of q3');
  });

  it('compares a setting run at several seeds by each query\'s mean over the seeds, as the results table does', async () => {
    const dir = join(root, 'seeded', 'exp-s');
    await makeRun(dir, { encoder: 'enc-s', seed: 5, seeds: [5, 6], settings: ['FT'], values: { FT: valuesOf(() => 1) }, extra: { 'eval:FT@seed6': valuesOf((i) => (i < 4 ? 0 : 1)) } });
    const r = lastJson(await run(['compare', 'exp-a:Raw', `${dir}:FT`, '--root', root, '--json', '--cases', '0']));
    expect(r.shared).toBe(8);
    expect(r.meanB).toBeCloseTo((4 * 0.5 + 4 * 1) / 8, 12); // seed 5: all 1; seed 6: 0 on q0-q3
    // One seed alone: FT@seed6 (its stage eval:FT@seed6) and FT@seed5 (the config's seed: eval:FT).
    const six = lastJson(await run(['compare', `${dir}:FT@seed5`, `${dir}:FT@seed6`, '--root', root, '--json', '--cases', '0']));
    expect([six.meanA, six.meanB, six.shared]).toEqual([1, 0.5, 8]);
    await expect(run(['compare', `${dir}:FT@seed7`, `${dir}:FT`, '--root', root])).rejects.toThrow(/no evaluation of "FT@seed7"/);
    const list = lastJson(await run(['--root', join(root, 'seeded'), '--json'])) as { runs: Record<string, string>[] };
    expect(list.runs[0].settings).toBe('FT'); // once, not once per seed
  });

  it('compares ExpandR after an earlier round (ExpandR@roundT) with the expansions of that round\'s LLM', async () => {
    const dir = join(root, 'rounds', 'exp-r');
    await makeRun(dir, {
      encoder: 'enc-r',
      seed: 4,
      settings: ['FT', 'ExpandR'],
      values: { FT: valuesOf(() => 0.5) },
      extra: { 'eval:ExpandR@round1': valuesOf((i) => (i === 2 ? 1 : 0.25)) },
      outputs: { 'expansions:round-1:test': Object.fromEntries(QIDS.map((q) => [q, `round-1 expansion of ${q}`])) },
    });
    const r = lastJson(await run(['compare', `${dir}:ExpandR@round1`, `${dir}:FT`, '--root', root, '--json', '--cases', '1']));
    expect(r.shared).toBe(8);
    expect(r.meanA).toBeCloseTo((7 * 0.25 + 1) / 8, 12);
    const [c] = r.cases as Record<string, unknown>[];
    expect(c).toMatchObject({ qid: 'q2', expansionA: 'round-1 expansion of q2' });
    await expect(run(['compare', `${dir}:ExpandR@round2`, `${dir}:FT`, '--root', root])).rejects.toThrow(/has no evaluation of "ExpandR@round2"/);
  });

  it('compares a trained retriever on plain queries (RUN:plain:NAME) with its expanded row, without expansions on its side', async () => {
    const dir = join(root, 'plain', 'exp-p');
    await makeRun(dir, {
      encoder: 'enc-p',
      seed: 4,
      settings: ['FT', 'ExpandR'],
      values: { FT: valuesOf(() => 0.5), ExpandR: valuesOf(() => 0.25) },
      extra: { 'plainEval:round-1:test': valuesOf((i) => (i < 2 ? 1 : 0.5)) },
      outputs: { 'expansions:round-1:test': Object.fromEntries(QIDS.map((q) => [q, `round-1 expansion of ${q}`])) },
    });
    const r = lastJson(await run(['compare', `${dir}:plain:round-1`, `${dir}:ExpandR`, '--root', root, '--json', '--cases', '1']));
    expect(r.shared).toBe(8);
    expect(r.meanA).toBeCloseTo((2 * 1 + 6 * 0.5) / 8, 12);
    expect(r.meanDiff).toBeCloseTo(0.25 - (2 + 3) / 8, 12);
    const [c] = r.cases as Record<string, unknown>[];
    expect(c.expansionA).toBeUndefined();
    expect(c.expansionB).toBe(`round-1 expansion of ${c.qid}`);
    await expect(run(['compare', `${dir}:plain:round-2`, `${dir}:FT`, '--root', root])).rejects.toThrow(/has no evaluation of "plain:round-2"[^]*plain:round-1/);
  });

  it('compares the dev evaluations with --dev (where choices are made), never mixing them with test', async () => {
    const dir = join(root, 'dev', 'exp-d');
    const dev = (f: (i: number) => number) => valuesOf(f, ['t0', 't1', 't2', 't3']);
    await makeRun(dir, { encoder: 'enc-d', seed: 3, settings: ['Raw', 'FT'], values: { FT: valuesOf(() => 0.5) }, extra: { 'devEval:Raw': dev(() => 0.25), 'devEval:FT': dev((i) => (i < 3 ? 0.75 : 0.25)) } });
    const r = lastJson(await run(['compare', `${dir}:Raw`, `${dir}:FT`, '--dev', '--root', root, '--json', '--cases', '0']));
    expect(r.shared).toBe(4);
    expect(r.meanDiff).toBeCloseTo((3 * 0.5) / 4, 12);
    expect(r.a).toBe('exp-d:Raw (dev)');
    expect((r.diffs as { qid: string }[]).map((d) => d.qid)).toEqual(['t0', 't1', 't2', 't3']);
    // Raw was evaluated on dev only here: on test it is missing, and a run without dev evaluations says so.
    await expect(run(['compare', `${dir}:Raw`, `${dir}:FT`, '--root', root, '--cases', '0'])).rejects.toThrow(/has no evaluation of "Raw"/);
    await expect(run(['compare', 'exp-a:Raw', `${dir}:FT`, '--dev', '--root', root, '--cases', '0'])).rejects.toThrow(/has no dev evaluation of "Raw"/);
  });

  it('names what a run has when a setting or metric is missing, and refuses a malformed argument', async () => {
    await expect(run(['compare', 'exp-a:FT', 'exp-b:FT', '--root', root])).rejects.toThrow(/has no evaluation of "FT" \(it has: BM25, Raw\)/);
    await expect(run(['compare', 'exp-a:Raw', 'exp-b:FT', '--root', root, '--metric', 'mrr@10'])).rejects.toThrow(/no per-query "mrr@10".*ndcg@10, recall@100/);
    await expect(run(['compare', 'exp-a', 'exp-b:FT', '--root', root])).rejects.toBeInstanceOf(UsageError);
    await expect(run(['compare', 'nope:Raw', 'exp-b:FT', '--root', root])).rejects.toThrow(/No run "nope"/);
  });
});

describe('expandr runs results', () => {
  it("rebuilds a running run's table from its stages, headed by its status", async () => {
    const text = (await run(['results', 'exp-b', '--root', root])).join('\n');
    expect(text).toMatch(/^Run exp-b is running: the rows below are the stages done so far/);
    // B's FT: 0.75 on q0–q5, 0.5 on q6–q9; its ExpandR never ran, so the table has no ExpandR row.
    expect(text).toMatch(/\| FT[^|]*\| 0\.6500/);
    expect(text).toMatch(/\| Raw[^|]*\| 0\.5000/);
    expect(text).not.toMatch(/\| ExpandR/);
    const json = lastJson(await run(['results', 'exp-b', '--root', root, '--json'])) as { status: string; rows: { setting: string; 'ndcg@10': number }[] };
    expect(json.status).toBe('running');
    expect(json.rows.map((r) => [r.setting, r['ndcg@10']])).toEqual([
      ['Raw', 0.5],
      ['Raw+expansion', 0.4375],
      ['FT', 0.65],
    ]);
  });

  it('a complete run has no status line; a seeded row is the mean over its seeds, and the run is complete only with every seed', async () => {
    const dir = join(root, 'seeded-results', 'exp-t');
    await makeRun(dir, { encoder: 'enc-t', seed: 5, seeds: [5, 6], settings: ['FT'], values: { FT: valuesOf(() => 1) } });
    expect((await run(['results', dir]))[0]).toMatch(/^Run exp-t is running/);
    await makeRun(dir, { encoder: 'enc-t', seed: 5, seeds: [5, 6], settings: ['FT'], values: { FT: valuesOf(() => 1) }, extra: { 'eval:FT@seed6': valuesOf((i) => (i < 4 ? 0 : 1)) } });
    const text = (await run(['results', dir])).join('\n');
    expect(text.startsWith('# words · test')).toBe(true);
    expect(text).toMatch(/\| FT[^|]*\| 0\.7500 ± 0\.3536/); // seeds: 1 and 0.5
  });

  it('prints the results.md of a folder without stages (an evidence folder), and refuses a wrong call', async () => {
    const dir = join(root, 'evidence', 'exp-e');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'results.json'), JSON.stringify({ rows: [{ setting: 'BM25' }] }));
    await expect(run(['results', dir])).rejects.toThrow(/has no results\.md and no run-state\.json/);
    await writeFile(join(dir, 'results.md'), '# words · test\n\n| BM25 | 0.5 |\n');
    expect(await run(['results', dir])).toEqual(['# words · test\n\n| BM25 | 0.5 |']);
    await expect(run(['results', '--root', root])).rejects.toThrow(/give one RUN/);
  });
});
