// Several seeds through the loop (config.seeds): each trained setting is trained and evaluated once per
// seed under names that carry the seed, its row is the mean over the seeds, each seed's value is what a
// run with that seed alone gives, and a second invocation on the same store reuses every stage.
import { beforeAll, expect, it } from 'vitest';
import { useCpuBackend } from './helpers/tiny-encoder.ts';
import { syntheticTask, syntheticDataset } from './helpers/train-corpus.ts';
import type { BeirDataset } from '../../src/data/load.ts';
import { loadBertEncoder } from '../../src/encoder/encoder.ts';
import { readModelDir } from '../../src/encoder/node-files.ts';
import { experimentConfig, type ExperimentConfig } from '../../src/pipeline/config.ts';
import { runExperiment, type LlmSide } from '../../src/pipeline/loop.ts';
import { memoryRunStore, RunStages, type RunStore } from '../../src/pipeline/run-state.ts';
import type { LoopContext } from '../../src/pipeline/stages-retriever.ts';
import { meanSd } from '../../src/pipeline/seeds.ts';

const TINY_BERT = new URL('../reference/fixtures/tiny-bert', import.meta.url).pathname;
const TEST_MS = 300_000;

const tinyDataset = syntheticDataset;

/** Expansions only (no LLM training among these settings): the query's words repeated. */
const llm: LlmSide = {
  generator: async (_adapter, name) => ({ id: name, generate: async (prompts) => prompts.map((p) => p) }),
  expand: async (_gen, queries) => new Map(queries.map((q) => [q.id, `${q.text} ${q.text}`])),
  candidates: async () => [],
  preferences: async () => ({ records: [], pairs: [] }),
  trainDpo: async () => {
    throw new Error('no DPO in this test');
  },
};

const configOf = (over: Record<string, unknown>): ExperimentConfig =>
  experimentConfig({
    data: 'synthetic',
    settings: ['Raw', 'FT', 'w/o LLM training'],
    dev: { fraction: 0.3 },
    encoder: { model: 'tiny-bert', expansionNorm: 'contriever', batchSize: 8 },
    llm: { model: 'fake', chat: false },
    retriever: { steps: 2, batchSize: 4, lr: 1e-3, dropout: true },
    ...over,
  });

async function loopContext(config: ExperimentConfig, store: RunStore): Promise<LoopContext> {
  const baseFiles = await readModelDir(TINY_BERT);
  return {
    config,
    data: tinyDataset(),
    store,
    stages: await RunStages.open(store, config),
    encoders: { baseFiles: new Map(baseFiles), load: (files) => loadBertEncoder(files, { seed: 1, settings: { maxLength: 32 } }) },
    work: {},
    log: () => {},
    corpus: new Map(),
  };
}

async function run(config: ExperimentConfig, store: RunStore = memoryRunStore()) {
  return runExperiment(await loopContext(config, store), llm);
}

beforeAll(useCpuBackend);

it('trains each trained setting per seed and reports mean ± sd; untrained rows once', { timeout: TEST_MS }, async () => {
  const store = memoryRunStore();
  const both = await run(configOf({ seed: 7, seeds: [7, 8] }), store);
  const state = (await store.loadState())!;
  const names = Object.keys(state.stages);
  for (const n of ['retriever:FT', 'retriever:FT@seed8', 'retriever:round-1', 'retriever:round-1@seed8', 'eval:FT', 'eval:FT@seed8', 'eval:w/o LLM training@seed8', 'devEval:FT@seed8']) expect(names).toContain(n);
  expect(names.filter((n) => n.startsWith('eval:Raw'))).toEqual(['eval:Raw']);

  const ft = both.results.rows.find((r) => r.setting === 'FT')!;
  expect(ft.seeds).toEqual([7, 8]);
  expect(both.results.rows.find((r) => r.setting === 'Raw')!.seeds).toBeUndefined();
  // Seed 8's value is a run with seed 8 alone (the seed reaches training), the row the mean.
  const alone = await run(configOf({ seed: 8, settings: ['FT'] }));
  const ft8 = alone.results.rows.find((r) => r.setting === 'FT')!;
  for (const m of ['ndcg@10', 'recall@100'] as const) {
    expect(ft.perSeed![m][1]).toBe(ft8[m]);
    const { mean, sd } = meanSd(ft.perSeed![m]);
    expect([ft[m], ft.sd![m]]).toEqual([mean, sd]);
  }
  expect(ft.perSeed!['ndcg@10'][0]).not.toBe(ft.perSeed!['ndcg@10'][1]);
  expect(ft.dev).toBeDefined();

  const again = await run(configOf({ seed: 7, seeds: [7, 8] }), store);
  expect(again.reusedStages.length).toBe(names.length);
  expect(JSON.stringify(again.results)).toBe(JSON.stringify(both.results));
});

it("samples each seed's evaluation expansions with its own seed: Raw+expansion seeded, base@seedS, tuned rows alike", { timeout: TEST_MS }, async () => {
  const seen: (number | undefined)[] = [];
  const seeded: LlmSide = {
    ...llm,
    // The text depends on the sampling seed, as a sampled expansion does.
    expand: async (_gen, queries, _work, seed) => (seen.push(seed), new Map(queries.map((q) => [q.id, seed === undefined ? `${q.text} ${q.text}` : `${q.text} unrelated words ${seed}`]))),
  };
  const config = configOf({ seed: 7, seeds: [7, 8], settings: ['Raw', 'Raw+expansion'], seededSettings: ['Raw+expansion'], expansion: { seed: 100 } });
  const store = memoryRunStore();
  const out = await runExperiment(await loopContext(config, store), seeded);
  const names = Object.keys((await store.loadState())!.stages);
  for (const n of ['expansions:base:test', 'expansions:base:dev', 'expansions:base@seed8:test', 'expansions:base@seed8:dev', 'eval:Raw+expansion', 'eval:Raw+expansion@seed8', 'devEval:Raw+expansion@seed8']) expect(names).toContain(n);
  // The config's seed samples with expansion.seed (the LLM side's default); seed 8 with expansion.seed + 1.
  expect(seen).toEqual([undefined, undefined, 101, 101]);
  expect(await store.getFiles('expansions/base@seed8-test')).toBeDefined();
  const row = out.results.rows.find((r) => r.setting === 'Raw+expansion')!;
  expect(row.seeds).toEqual([7, 8]);
  expect(row.perSeed!['ndcg@10'][0]).not.toBe(row.perSeed!['ndcg@10'][1]);
  expect(out.results.rows.find((r) => r.setting === 'Raw')!.seeds).toBeUndefined();
});
