// experiments/plain-queries.ts: each retriever a run trained, evaluated on plain queries with the run's stored
// corpus embeddings. On a tiny run (tiny-bert + stories260K on a SciFact subset): FT comes out as the run's own
// FT rows (the probe's self-check), the round-1 retriever is read against its expanded row and FT with the
// paired test's numbers, and a run whose FT row does not match is refused. experiments/expansion-weight.ts on
// the same run: its Eq. 8 weight and its plain weight give the run's own rows, and the weight is chosen on dev.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { experimentCommand } from '../../src/cli/experiment-command.ts';
import { plainQueryProbe } from '../../experiments/plain-queries-probe.ts';
import { expansionWeightProbe, QUERY_WEIGHTS } from '../../experiments/expansion-weight-probe.ts';
import { writeScifactSubset } from '../browser/scifact-subset.ts';
import { TINY_RUNNER_CONFIG } from './helpers/tiny-runner-config.ts';

const ROOT = join(import.meta.dirname, '../..');
const LONG_TEST_MS = 600_000;
let dir: string;
let configFile: string;
let run: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'expandr-plain-'));
  writeScifactSubset(join(ROOT, '../shared/data/beir/scifact'), join(dir, 'scifact'), { queries: 8, docs: 40 });
  configFile = join(dir, 'config.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      data: join(dir, 'scifact'),
      dev: { fraction: 0.3 },
      trainQueries: 6,
      ...TINY_RUNNER_CONFIG,
      settings: ['FT', 'ExpandR'],
    }),
  );
  run = join(dir, 'run');
  const quiet = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    await experimentCommand(['--config', configFile, '--out', run, '--quiet'], new AbortController().signal);
  } finally {
    quiet.mockRestore();
  }
}, LONG_TEST_MS);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("reproduces FT's rows and reads the round-1 retriever on plain queries against its expanded row and FT", async () => {
  const record = await plainQueryProbe(configFile, run, () => {});
  const state = JSON.parse(readFileSync(join(run, 'run-state.json'), 'utf8'));
  expect(record.rows.map((r) => r.encoder)).toEqual(['FT', 'round-1']);
  const [ft, e1] = record.rows as { test: { 'ndcg@10': number; vsExpandedRow: { diff: number; 'ndcg@10': number; ci95: number[]; p: number } | null; vsFT: { diff: number } | null }; dev: { 'ndcg@10': number } }[];
  expect(ft.test['ndcg@10']).toBe(state.stages['eval:FT'].output.metrics['ndcg@10']);
  expect(ft.dev['ndcg@10']).toBe(state.stages['devEval:FT'].output.metrics['ndcg@10']);
  expect(ft.test.vsExpandedRow).toBeNull();
  // The round-1 retriever's expanded row is ExpandR's (one round); the differences are plain − stored.
  const expanded = state.stages['eval:ExpandR'].output.metrics['ndcg@10'];
  expect(e1.test.vsExpandedRow!['ndcg@10']).toBe(expanded);
  expect(e1.test.vsExpandedRow!.diff).toBeCloseTo(e1.test['ndcg@10'] - expanded, 12);
  expect(e1.test.vsFT!.diff).toBeCloseTo(e1.test['ndcg@10'] - ft.test['ndcg@10'], 12);
  // The queries by how the plain query fares (analysis-queries.ts pairStats): every test query in one group;
  // nothing gains from 1 or loses from 0.
  type Group = { queries: number; gain: number; loss: number };
  const groups = (e1.test as unknown as { byDifficulty: { missed: Group; partly: Group; perfect: Group } }).byDifficulty;
  expect(groups.missed.queries + groups.partly.queries + groups.perfect.queries).toBe(Object.keys(state.stages['eval:ExpandR'].output.perQuery).length);
  expect([groups.missed.loss, groups.perfect.gain]).toEqual([0, 0]);
  const [lo, hi] = e1.test.vsExpandedRow!.ci95;
  expect(lo).toBeLessThanOrEqual(e1.test.vsExpandedRow!.diff + 1e-12);
  expect(hi).toBeGreaterThanOrEqual(e1.test.vsExpandedRow!.diff - 1e-12);
}, LONG_TEST_MS);

it("sweeps the query's weight against its expansion for the round-1 retriever: Eq. 8 and the plain query are the run's rows, the weight is dev's best", async () => {
  const record = await expansionWeightProbe(configFile, run, () => {});
  const state = JSON.parse(readFileSync(join(run, 'run-state.json'), 'utf8'));
  expect(record.rows.map((r) => [r.retriever, r.expansions, r.expandedRow])).toEqual([['round-1', 'round-1', 'ExpandR']]);
  const [row] = record.rows;
  const ndcg = (stage: string) => state.stages[stage].output.metrics['ndcg@10'];
  expect(row.dev['0.5']).toBe(ndcg('devEval:ExpandR'));
  expect(row.test['0.5']).toBe(ndcg('eval:ExpandR'));
  expect(row.test['1.0']).toBe(ndcg('plainEval:round-1:test'));
  expect(Object.keys(row.dev)).toHaveLength(QUERY_WEIGHTS.length);
  // Chosen on dev (the first of equals), read on test.
  const dev = QUERY_WEIGHTS.map((w) => row.dev[w.toFixed(1)]);
  expect(row.chosenOnDev).toBe(QUERY_WEIGHTS[dev.indexOf(Math.max(...dev))]);
  expect(row.testAtChosen['ndcg@10']).toBe(row.test[row.chosenOnDev.toFixed(1)]);
  expect(row.testAtChosen.minusEq8.diff).toBeCloseTo(row.testAtChosen['ndcg@10'] - row.test['0.5'], 12);

  // A run whose plain-query row the sweep does not reproduce is refused.
  const file = join(run, 'run-state.json');
  const saved = readFileSync(file, 'utf8');
  state.stages['plainEval:round-1:dev'].output.metrics['ndcg@10'] += 0.25;
  writeFileSync(file, JSON.stringify(state));
  try {
    await expect(expansionWeightProbe(configFile, run, () => {})).rejects.toThrow(/round-1 at w 1 on dev: .* the probe does not reproduce the run/);
  } finally {
    writeFileSync(file, saved);
  }
}, LONG_TEST_MS);

it("refuses a run whose FT row it does not reproduce", async () => {
  const file = join(run, 'run-state.json');
  const state = JSON.parse(readFileSync(file, 'utf8'));
  const [qid] = Object.keys(state.stages['eval:FT'].output.perQuery);
  state.stages['eval:FT'].output.perQuery[qid]['ndcg@10'] += 0.5;
  writeFileSync(file, JSON.stringify(state));
  await expect(plainQueryProbe(configFile, run, () => {})).rejects.toThrow(/FT on plain test queries gives .* the probe does not reproduce the run/);
}, LONG_TEST_MS);
