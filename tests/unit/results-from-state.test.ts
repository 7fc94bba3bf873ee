// results-from-state.ts: the results a run's stored stages alone give (what the page shows for a run stopped
// midway) are the loop's own when it finishes — rows with their dev values, ExpandR after an earlier round, the
// variants of round 1 and the retrievers on plain queries, over two seeds — and a partial state gives its part.
import { beforeAll, expect, it } from 'vitest';
import { useCpuBackend } from './helpers/tiny-encoder.ts';
import { tinyLoopContext, twoSeedRoundsConfig } from './helpers/tiny-loop-context.ts';
import { levelLlm } from './helpers/level-llm.ts';
import { runExperiment } from '../../src/pipeline/loop.ts';
import { resultsFromState } from '../../src/pipeline/results-from-state.ts';
import type { RunState } from '../../src/pipeline/run-state.ts';

const TEST_MS = 300_000;

beforeAll(useCpuBackend);

it("rebuilds the loop's results from its stored stages, and what a partial state holds", { timeout: TEST_MS }, async () => {
  const config = twoSeedRoundsConfig({
    settings: ['BM25', 'Raw', 'Raw+expansion', 'FT', 'ExpandR', 'w/o LLM training'],
    variants: [{ name: 'Two DPO epochs', why: 'the reference code trains 2 epochs', dpo: { epochs: 2 } }],
  });
  const ctx = await tinyLoopContext(config);
  const out = await runExperiment(ctx, levelLlm);
  const state = (await ctx.store.loadState())!;
  const { sources: _sources, ...loop } = out.results;
  const rebuilt = resultsFromState(out.results.dataset, out.results.split, state, config);
  expect(rebuilt.plainRows).toHaveLength(2);
  expect(rebuilt.roundRows).toHaveLength(1);
  expect(rebuilt.variants).toHaveLength(1);
  expect(rebuilt.rows.every((r) => r.dev)).toBe(true);
  expect(rebuilt).toEqual(loop);

  // Stopped after seed 7's rows: seed 7 alone, no seed 8 in any row.
  const partial: RunState = { ...state, stages: Object.fromEntries(Object.entries(state.stages).filter(([name]) => !name.includes('seed8'))) };
  const first = resultsFromState(out.results.dataset, out.results.split, partial, config);
  expect(first.rows.find((r) => r.setting === 'FT')!.seeds).toBeUndefined();
  expect(first.plainRows!.map((r) => [r.retriever, r.seeds])).toEqual([
    ['round-1', undefined],
    ['round-2', undefined],
  ]);
  expect(first.plainRows![0]['ndcg@10']).toBe((state.stages['plainEval:round-1:test'].output as { metrics: Record<string, number> }).metrics['ndcg@10']);
  // A config stored before seeds, rounds and variants existed: one seed, one round, the table's rows.
  const old = resultsFromState(out.results.dataset, out.results.split, partial, { seed: 7 });
  expect(old.rows.map((r) => r.setting)).toEqual(first.rows.map((r) => r.setting));
  expect([old.roundRows, old.variants]).toEqual([undefined, undefined]);
});
