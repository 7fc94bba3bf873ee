// Two rounds of the joint loop with three settings seeded apart: ExpandR is evaluated after round 1 as well
// (stages eval:ExpandR@round1[@seedS], kept out of the table's rows) and reported as results.roundRows with
// the last round tested against it; rows outside seededSettings run with the first seed only.
import { beforeAll, expect, it } from 'vitest';
import { useCpuBackend } from './helpers/tiny-encoder.ts';
import { tinyLoopContext, twoSeedRoundsConfig } from './helpers/tiny-loop-context.ts';
import { runExperiment } from '../../src/pipeline/loop.ts';
import { levelLlm } from './helpers/level-llm.ts';
import { parseStageName, stageName } from '../../src/pipeline/stages.ts';
import { resultsJson, resultsMarkdown } from '../../src/pipeline/results.ts';
import type { SettingEval } from '../../src/pipeline/results.ts';

const TEST_MS = 300_000;

const llm = levelLlm;

beforeAll(useCpuBackend);

it('evaluates ExpandR after each earlier round, per seed, apart from the table; ablations with the first seed only', { timeout: TEST_MS }, async () => {
  const config = twoSeedRoundsConfig({ settings: ['Raw', 'FT', 'ExpandR', 'w/o self-reward'] });
  const ctx = await tinyLoopContext(config);
  const { store } = ctx;
  const out = await runExperiment(ctx, llm);
  const state = (await store.loadState())!;
  const names = Object.keys(state.stages);
  for (const n of ['eval:ExpandR@round1', 'eval:ExpandR@round1@seed8', 'devEval:ExpandR@round1', 'eval:ExpandR@seed8', 'dpo:round-2@seed8', 'eval:w/o self-reward']) expect(names).toContain(n);
  expect(names.filter((n) => n.includes('w/o self-reward') && n.includes('seed8'))).toEqual([]);
  expect(names.filter((n) => n.includes('wo-self-reward@seed8'))).toEqual([]);

  // The table has one ExpandR row (the last round's); round 1 is apart, with its own seeds and values.
  expect(out.results.rows.filter((r) => r.setting === 'ExpandR')).toHaveLength(1);
  expect(out.results.rows.find((r) => r.setting === 'w/o self-reward')!.seeds).toBeUndefined(); // one seed: no mean ± sd
  const [r1] = out.results.roundRows!;
  expect(out.results.roundRows).toHaveLength(1);
  expect(r1.round).toBe(1);
  expect(r1.seeds).toEqual([7, 8]);
  const stored = (name: string) => state.stages[name].output as SettingEval;
  expect(r1.perSeed!['ndcg@10']).toEqual([stored('eval:ExpandR@round1').metrics['ndcg@10'], stored('eval:ExpandR@round1@seed8').metrics['ndcg@10']]);
  expect(r1.dev).toBeDefined();
  expect(r1.significance?.Raw).toBeDefined();
  const last = out.results.rows.find((r) => r.setting === 'ExpandR')!;
  expect(r1.lastVsThis!['ndcg@10'].meanDiff).toBeCloseTo(last['ndcg@10'] - r1['ndcg@10'], 12);
  // Round 1's expansions are LLM_1's, the row's LLM_2's: two different evaluations.
  expect(stored('eval:ExpandR@round1').perQuery).not.toEqual(stored('eval:ExpandR').perQuery);

  expect(resultsJson(out.results).roundRows?.[0]).not.toHaveProperty('perQuery');
  expect(resultsMarkdown(out.results)).toContain('## ExpandR after each round');
});

it('names round stages so that they parse back', () => {
  for (const name of ['eval:ExpandR@round1', 'eval:ExpandR@round1@seed8', 'devEval:ExpandR@round2', 'eval:FT@seed3', 'eval:w/o LLM training']) {
    expect(stageName(parseStageName(name)!)).toBe(name);
  }
  expect(parseStageName('eval:ExpandR@round1@seed8')).toEqual({ kind: 'eval', setting: 'ExpandR', round: 1, seed: 8 });
});
