// Variants of round 1 tried on dev (config.variants): each trains its own LLM_1 from the first seed's round-1
// retriever with its candidate, DPO and reward settings, is evaluated on dev only, and is reported against
// ExpandR after round 1 (results.variants) with a paired test. Adding variants does not change the config's
// key, so a running config resumes; a variant with the config's candidate settings reuses its candidates, and
// one that changes DPO alone trains on round 1's pairs (the same candidates, retriever and rewards).
import { beforeAll, describe, expect, it } from 'vitest';
import { useCpuBackend } from './helpers/tiny-encoder.ts';
import { tinyLoopContext } from './helpers/tiny-loop-context.ts';
import { experimentConfig, variantStageName, type CandidateSettings } from '../../src/pipeline/config.ts';
import type { DpoSettings } from '../../src/llm/dpo.ts';
import { runExperiment, type LlmSide } from '../../src/pipeline/loop.ts';
import { configKey } from '../../src/pipeline/run-state.ts';
import { parseStageName, stageName } from '../../src/pipeline/stages.ts';
import { resultsJson, resultsMarkdown, type SettingEval } from '../../src/pipeline/results.ts';

const TEST_MS = 300_000;

/** As pipeline-loop-rounds.test.ts' fake LLM, recording the settings each call was given. */
const seen = { candidates: [] as (CandidateSettings | undefined)[], dpo: [] as (Partial<DpoSettings> | undefined)[], candidateQueries: [] as number[], expandSeeds: [] as [string, number | undefined][] };
const llm: LlmSide = {
  generator: async (adapter, name) => ({ id: name, generate: async (prompts: readonly string[]) => prompts.map((p) => p), level: adapter?.get('level')?.[0] ?? 0 }) as never,
  expand: async (gen, queries, _work, seed) => {
    seen.expandSeeds.push([(gen as unknown as { id: string }).id, seed]);
    const level = (gen as unknown as { level: number }).level;
    return new Map(queries.map((q) => [q.id, Array(level + 1).fill(q.text).join(' ')]));
  },
  candidates: async (_gen, queries, _work, settings) => {
    seen.candidates.push(settings);
    seen.candidateQueries.push(queries.length);
    return queries.map((q) => ({ qid: q.qid, answer: q.query, candidates: [{ text: q.query, temperature: 0.8, sample: 0 }, { text: 'unrelated words', temperature: 1.1, sample: 0 }] }));
  },
  preferences: async (_enc, _cands, queries) => ({ records: [], pairs: queries.map((q) => ({ prompt: q.query, chosen: q.query, rejected: 'unrelated words' })) }),
  trainDpo: async (_pairs, from, _checkpoints, _work, _seed, dpo) => {
    seen.dpo.push(dpo);
    // The level grows with the epochs, so a variant's LLM expands differently from round 1's.
    return { adapter: new Map([['level', Uint8Array.of((from?.get('level')?.[0] ?? 0) + (dpo?.epochs ?? 1))]]), curve: [] };
  },
};

const VARIANTS = [
  { name: '4 candidates per temperature', why: 'more candidates give each pair a wider reward gap', candidates: { perTemperature: 4, queries: 6 } },
  { name: 'Two DPO epochs', why: 'the reference code trains 2 epochs', dpo: { epochs: 2 } },
];
const baseConfig = {
  data: 'synthetic',
  settings: ['Raw', 'ExpandR'],
  seed: 7,
  rounds: 1,
  dev: { fraction: 0.3 },
  encoder: { model: 'tiny-bert', expansionNorm: 'contriever', batchSize: 8 },
  llm: { model: 'fake', chat: false },
  candidates: { queries: 4 },
  retriever: { steps: 2, batchSize: 4, lr: 1e-3, dropout: true },
};

beforeAll(useCpuBackend);

it('runs each variant of round 1 on dev from the same E_1 and reports it against ExpandR after round 1', { timeout: TEST_MS }, async () => {
  const config = experimentConfig({ ...baseConfig, variants: VARIANTS });
  const ctx = await tinyLoopContext(config);
  const { store } = ctx;
  const out = await runExperiment(ctx, llm);
  const state = (await store.loadState())!;
  const names = Object.keys(state.stages);
  const [more, epochs] = VARIANTS.map((v) => variantStageName(v as never));
  expect(more).toMatch(/^variant-4-candidates-per-temperature-[0-9a-f]{8}$/);
  for (const n of [`candidates:base~${more}`, `dpo:${more}`, `dpo:${epochs}`, `expansions:${more}:dev`, `devEval:ExpandR@round1@${more}`, `devEval:ExpandR@round1@${epochs}`]) expect(names).toContain(n);
  // Test is not looked at; E_1 is the table's; the epochs variant reuses the config's candidates.
  expect(names.filter((n) => n.startsWith('eval:') && n.includes('variant'))).toEqual([]);
  expect(names.filter((n) => n.startsWith('retriever:'))).toEqual(['retriever:round-1']);
  expect(names.filter((n) => n.startsWith('candidates:'))).toEqual(['candidates:base', `candidates:base~${more}`]);
  // Rewards are computed for round 1 and for the variant with its own candidates; the epochs variant reads round 1's.
  expect(names.filter((n) => n.startsWith('preferences:'))).toEqual(['preferences:round-1', `preferences:${more}`]);
  expect(out.preferences[epochs]).toBe(out.preferences['round-1']);
  // The LLM side got each variant's settings: 4 per temperature for 6 queries, then DPO with 2 epochs.
  expect(seen.candidates).toEqual([undefined, { ...config.candidates, perTemperature: 4, queries: 6 }]);
  expect(seen.candidateQueries).toEqual([4, 6]);
  expect(seen.dpo).toEqual([undefined, config.dpo, { ...config.dpo, epochs: 2 }]);

  const rows = out.results.variants!;
  expect(rows.map((r) => r.name)).toEqual(VARIANTS.map((v) => v.name));
  const stored = (name: string) => state.stages[name].output as SettingEval;
  expect(rows[1].dev['ndcg@10']).toBe(stored(`devEval:ExpandR@round1@${epochs}`).metrics['ndcg@10']);
  expect(rows[1].changes).toEqual({ dpo: { epochs: 2 } });
  expect(rows[0].pairs).toBe(6);
  const round1 = stored('devEval:ExpandR');
  expect(rows[1].baselineDev).toBe(round1.metrics['ndcg@10']);
  expect(rows[1].vsRound1!['ndcg@10'].meanDiff).toBeCloseTo(rows[1].dev['ndcg@10'] - round1.metrics['ndcg@10'], 12);
  // The variant's dev expansions are its own LLM's, not round 1's.
  const expansions = (name: string) => state.stages[name].output as Record<string, string>;
  expect(Object.keys(expansions(`expansions:${epochs}:dev`))).toEqual(Object.keys(expansions('expansions:round-1:dev')));
  expect(expansions(`expansions:${epochs}:dev`)).not.toEqual(expansions('expansions:round-1:dev'));
  expect(resultsJson(out.results).variants).toHaveLength(2);
  expect(resultsMarkdown(out.results)).toContain('## Variants of round 1, judged on dev');
  expect(resultsMarkdown(out.results)).toContain(`(dev nDCG@10 ${round1.metrics['ndcg@10'].toFixed(4)})`);
});

it("samples a variant's dev expansions with its seed's draw when the first seed is not the config's seed", { timeout: TEST_MS }, async () => {
  const config = experimentConfig({ ...baseConfig, seeds: [9], variants: [VARIANTS[1]] });
  seen.expandSeeds.length = 0;
  await runExperiment(await tinyLoopContext(config), llm);
  const epochs = variantStageName(VARIANTS[1] as never);
  const seedsOf = (id: string) => seen.expandSeeds.filter(([g]) => g === id).map(([, s]) => s);
  // Seed 9's rows sample with expansion.seed + 2; the variant (trained from seed 9's E_1) with the same.
  expect(seedsOf(epochs)).toEqual([config.expansion.seed + 2]);
  expect(seedsOf('round-1@seed9')).toEqual([config.expansion.seed + 2, config.expansion.seed + 2]);
});

it("run right after the first seed's rows, before the other seeds' (a variant that wins on dev would change their config)", { timeout: TEST_MS }, async () => {
  const config = experimentConfig({ ...baseConfig, seeds: [7, 8], variants: [VARIANTS[1]] });
  const ctx = await tinyLoopContext(config);
  const out = await runExperiment(ctx, llm);
  const state = (await ctx.store.loadState())!;
  const epochs = variantStageName(VARIANTS[1] as never);
  const order = Object.entries(state.stages)
    .sort(([, a], [, b]) => Date.parse(a.finishedAt!) - Date.parse(b.finishedAt!))
    .map(([n]) => n);
  const variantLast = order.indexOf(`devEval:ExpandR@round1@${epochs}`);
  const seed8First = order.findIndex((n) => n.endsWith('@seed8') || n.includes('@seed8:'));
  expect(variantLast).toBeGreaterThan(order.indexOf('devEval:ExpandR'));
  expect(seed8First).toBeGreaterThan(variantLast);
  // Still tried from the first seed's E_1 and against its round-1 row.
  expect(out.results.variants!.map((r) => r.seed)).toEqual([7]);
});

describe('variants in the config', () => {
  it('leave the config key as it was, so that a running config resumes with variants added', () => {
    expect(configKey(experimentConfig({ ...baseConfig, variants: VARIANTS }))).toBe(configKey(experimentConfig(baseConfig)));
  });

  it('are checked key by key, with names that give distinct stages', () => {
    const bad = (variants: unknown[]) => () => experimentConfig({ ...baseConfig, variants }, 'exp.json');
    expect(bad([{ name: 'a', why: 'b', candidates: { perTemp: 4 } }])).toThrow(/exp\.json: unknown setting "variants\[0\]\.candidates\.perTemp"/);
    expect(bad([{ name: 'a', why: 'b', candidates: { perTemperature: 0 } }])).toThrow(/"variants\[0\]\.candidates\.perTemperature" must be an integer ≥ 1/);
    expect(bad([{ name: 'a', why: 'b', dpo: { lr: -1 } }])).toThrow(/"variants\[0\]\.dpo\.lr" must be a number > 0/);
    expect(bad([{ name: 'a', why: 'b', encoder: { expansionNorm: 'raw' } }])).toThrow(/unknown setting "variants\[0\]\.encoder"/);
    expect(bad([{ name: '!!', why: 'b' }])).toThrow(/"variants\[0\]\.name" must be a name with a letter or digit/);
    expect(bad([{ name: 'a' }])).toThrow(/"variants\[0\]\.why" must say why/);
    expect(bad([{ name: 'Two epochs', why: 'b' }, { name: 'two  epochs', why: 'c' }])).toThrow(/"variants\[1\]\.name" "two  epochs" names the same stages/);
    expect(bad(['x'])).toThrow(/"variants\[0\]" must be an object/);
  });

  it('name their stages by slug and settings, whatever order the settings were written in', () => {
    const a = variantStageName({ name: 'More pairs', why: 'w', candidates: { queries: 320, perTemperature: 4 }, dpo: { lr: 1e-4 } });
    expect(a).toBe(variantStageName({ name: 'more pairs!', why: 'other words', dpo: { lr: 1e-4 }, candidates: { perTemperature: 4, queries: 320 } }));
    expect(a).not.toBe(variantStageName({ name: 'More pairs', why: 'w', candidates: { queries: 320, perTemperature: 4 }, dpo: { lr: 2e-4 } }));
    expect(a).toMatch(/^variant-more-pairs-[0-9a-f]{8}$/);
  });

  it('name their evaluations so that they parse back', () => {
    const name = 'devEval:ExpandR@round1@variant-two-dpo-epochs-0a1b2c3d';
    expect(parseStageName(name)).toEqual({ kind: 'devEval', setting: 'ExpandR', round: 1, variant: 'variant-two-dpo-epochs-0a1b2c3d' });
    expect(stageName(parseStageName(name)!)).toBe(name);
  });
});
