// The joint loop end to end on tiny real models (tiny-bert encoder, stories260K decoder with LoRA DPO)
// and a synthetic BEIR-shaped task. Generation is a stand-in (deterministic texts, fast); rewards,
// preference pairs and DPO are the runner's own (tfjsLlmSide: rewards.ts through buildPreferences, at the
// default filter). Every requested row appears, the rewards follow Eqs. 11–14 with each ablation, and a
// run aborted mid retriever training and again mid DPO, then resumed on the same store, ends with exactly
// the numbers and preference records of an uninterrupted run.
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useCpuBackend } from './helpers/tiny-encoder.ts';
import { syntheticTask, syntheticDataset } from './helpers/train-corpus.ts';
import type { BeirDataset } from '../../src/data/load.ts';
import { sourcesFromPath } from '../../src/data/node-sources.ts';
import { loadBertEncoder } from '../../src/encoder/encoder.ts';
import { readModelDir } from '../../src/encoder/node-files.ts';
import { modelFilesFromSources } from '../../src/llm/files.ts';
import { CancelledError } from '../../src/errors.ts';
import { experimentConfig, type ExperimentConfig } from '../../src/pipeline/config.ts';
import { runExperiment, type LlmSide } from '../../src/pipeline/loop.ts';
import type { PreferenceRecord, QueryWithGold } from '../../src/pipeline/types.ts';
import { memoryRunStore, RunStages, type RunStore } from '../../src/pipeline/run-state.ts';
import { folderRunStore } from '../../src/cli/run-folder.ts';
import { tfjsLlmSide } from '../../src/pipeline/stages-llm.ts';
import { MemoryGenerationCache } from '../../src/pipeline/generation-cache.ts';
import type { LoopContext } from '../../src/pipeline/stages-retriever.ts';
import { SETTING_NAMES, type SamplingSettings, type TextGenerator } from '../../src/pipeline/types.ts';
import { createRng, deriveSeed } from '../../src/util/random.ts';

const TINY_BERT = new URL('../reference/fixtures/tiny-bert', import.meta.url).pathname;
const STORIES = new URL('../../../shared/models/stories260K', import.meta.url).pathname;
const LONG_TEST_MS = 600_000;

const tinyDataset = syntheticDataset;

const hash = (s: string) => {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
};

/** Texts from (generator id, prompt, seed, temperature): the prompt's words reshuffled plus corpus filler. */
function fakeGenerator(id: string): TextGenerator {
  const words = 'alpha0 beta1 gamma2 delta3 patients effect risk model data analysis cell study'.split(' ');
  return {
    id,
    async generate(prompts: readonly string[], s: SamplingSettings) {
      return prompts.map((p) => {
        const rng = createRng(deriveSeed(hash(`${id}|${p}|${s.temperature}`), s.seed));
        const own = p.split(/\s+/).filter((w) => /\d/.test(w));
        return Array.from({ length: 6 }, () => (rng.float() < 0.5 && own.length ? own[rng.int(own.length)] : words[rng.int(words.length)])).join(' ');
      });
    },
  };
}

function fakeLlmSide(config: ExperimentConfig, stories: Awaited<ReturnType<typeof modelFilesFromSources>>): LlmSide {
  const real = tfjsLlmSide({ files: stories, name: 'stories260K', config, cache: new MemoryGenerationCache() });
  const prompt = (q: string) => `Please write a passage to answer the question. Question: ${q} Passage:`;
  return {
    async generator(adapter, name) {
      const bytes = adapter?.get('adapter_model.safetensors');
      return fakeGenerator(`${name}:${bytes ? hash(String([...bytes].join(','))) : 'base'}`);
    },
    async expand(gen, queries) {
      const texts = await gen.generate(queries.map((q) => prompt(q.text)), config.expansion);
      return new Map(queries.map((q, i) => [q.id, texts[i] as string]));
    },
    async candidates(gen, queries: readonly QueryWithGold[]) {
      const c = config.candidates;
      const texts = await Promise.all(
        queries.map(async (q) => (await Promise.all(c.temperatures.map((t) => gen.generate(Array(c.perTemperature).fill(prompt(q.query)), { temperature: t, topP: c.topP, maxTokens: c.maxTokens, seed: config.seed })))).flat()),
      );
      const answers = await gen.generate(queries.map((q) => `Query: ${q.query} Related Document: ${q.goldDoc} Answer:`), config.answer);
      return queries.map((q, i) => ({ qid: q.qid, answer: answers[i] as string, candidates: texts[i].map((text, j) => ({ text: text as string, temperature: c.temperatures[Math.floor(j / c.perTemperature)], sample: j % c.perTemperature })) }));
    },
    // The runner's rewards and DPO, unchanged (its generation methods are not used here).
    preferences: real.preferences,
    trainDpo: real.trainDpo,
  };
}

const CONFIG = experimentConfig({
  data: 'synthetic',
  seed: 7,
  encoder: { model: 'tiny-bert', expansionNorm: 'contriever', batchSize: 8 },
  llm: { model: 'stories260K', chat: false },
  candidates: { temperatures: [0.8, 1.1], perTemperature: 2, topP: 0.9, maxTokens: 16 },
  retriever: { steps: 4, batchSize: 4, checkpointEvery: 1, lr: 1e-3, dropout: true },
  dpo: { steps: 3, batchSize: 2, accumulation: 1, checkpointEvery: 1, lr: 1e-3, maxLength: 48, maxPromptLength: 32 },
  lora: { r: 2, alpha: 4, dropout: 0, targetModules: ['q_proj', 'v_proj'] },
});

async function run(store: RunStore, signal?: AbortSignal, log: string[] = []) {
  const baseFiles = await readModelDir(TINY_BERT);
  const stories = modelFilesFromSources(await sourcesFromPath(STORIES));
  const ctx: LoopContext = {
    config: CONFIG,
    data: tinyDataset(),
    store,
    stages: await RunStages.open(store, CONFIG),
    encoders: { baseFiles: new Map(baseFiles), load: (files) => loadBertEncoder(files, { seed: CONFIG.seed, settings: { maxLength: 32 } }) },
    work: { signal },
    log: (m) => log.push(m),
    corpus: new Map(),
  };
  return runExperiment(ctx, fakeLlmSide(CONFIG, stories));
}

/** Aborts `controller` after the `n`-th checkpoint save of the sink named `name`. */
function abortAfterSaves(store: RunStore, name: string, n: number, controller: AbortController): RunStore {
  const wrap = <S extends { save(c: never): Promise<void> }>(sink: S): S => {
    let saves = 0;
    return { ...sink, save: async (c: never) => { await sink.save(c); if (++saves === n) controller.abort(new CancelledError('test')); } };
  };
  return {
    ...store,
    retrieverCheckpoints: (x) => (x === name ? wrap(store.retrieverCheckpoints(x)) : store.retrieverCheckpoints(x)),
    dpoCheckpoints: (x) => (x === name ? wrap(store.dpoCheckpoints(x)) : store.dpoCheckpoints(x)),
  };
}

/** Which reward terms each LLM training of the loop uses (loop.ts: the ablations of Table 3). */
const REWARD_TERMS: Record<string, { retriever: boolean; self: boolean }> = {
  'round-1': { retriever: true, self: true },
  'wo-retriever-training': { retriever: true, self: true },
  'wo-self-reward': { retriever: true, self: false },
  'wo-retriever-reward': { retriever: false, self: true },
};

/**
 * Eqs. 11–14 as the records show them: each term is 1/rank with competition ranks (best rank 1), the
 * reward keeps only the terms its ablation uses, chosen/rejected are its argmax/argmin, and a query kept
 * passes the default filter. At least one pair per training (else DPO would have nothing to learn from).
 */
function expectRealRewards(preferences: Record<string, PreferenceRecord[]>): void {
  expect(Object.keys(preferences).sort()).toEqual(Object.keys(REWARD_TERMS).sort());
  expect(CONFIG.rewards.filter).toBe(0.6);
  for (const [name, records] of Object.entries(preferences)) {
    const terms = REWARD_TERMS[name];
    const kept = records.filter((r) => !r.skipped);
    expect(kept.length, `${name}: pairs`).toBeGreaterThan(0);
    for (const r of records.filter((x) => x.skipped !== 'too few candidates' && x.skipped !== 'empty answer')) {
      const c = r.candidates;
      for (const key of ['retrieverReward', 'selfReward'] as const) {
        const ranks = c.map((x) => Math.round(1 / x[key]));
        expect(c.map((x) => x[key]), `${name} ${r.qid} ${key}`).toEqual(ranks.map((k) => 1 / k));
        expect(Math.min(...ranks)).toBe(1);
        // Competition ranks: a rank k is shared by the candidates tied there, and the next rank skips them.
        for (const k of new Set(ranks)) expect(ranks.filter((x) => x < k).length + 1).toBe(k);
      }
      expect(c.map((x) => x.reward)).toEqual(c.map((x) => (terms.retriever ? x.retrieverReward : 0) + (terms.self ? x.selfReward : 0)));
      if (r.skipped) continue;
      const rewards = c.map((x) => x.reward);
      expect([r.chosen, r.rejected]).toEqual([rewards.indexOf(Math.max(...rewards)), rewards.indexOf(Math.min(...rewards))]);
      expect(Math.max(...c.map((x) => x.cosSum))).toBeGreaterThanOrEqual(CONFIG.rewards.filter);
    }
  }
}

beforeAll(useCpuBackend);

describe('the ExpandR loop', () => {
  it('resumes after aborts mid retriever training and mid DPO with the numbers of an uninterrupted run', { timeout: LONG_TEST_MS }, async () => {
    const whole = await run(memoryRunStore());
    expect(whole.results.rows.map((r) => r.setting)).toEqual([...SETTING_NAMES]);
    for (const r of whole.results.rows) for (const m of ['ndcg@10', 'recall@100', 'mrr@10', 'map@100'] as const) expect(r[m]).toBeGreaterThanOrEqual(0);
    expect(whole.results.rows.find((r) => r.setting === 'ExpandR')!.pValues).toHaveProperty('Raw');
    expect(whole.curves.filter((c) => c.kind === 'dpo')).toHaveLength(4);
    expectRealRewards(whole.preferences);

    const dir = mkdtempSync(join(tmpdir(), 'expandr-loop-'));
    try {
      const store = folderRunStore(dir);
      const c1 = new AbortController();
      await expect(run(abortAfterSaves(store, 'retriever-round-1', 2, c1), c1.signal)).rejects.toThrow(CancelledError);
      const c2 = new AbortController();
      await expect(run(abortAfterSaves(store, 'dpo-round-1', 1, c2), c2.signal)).rejects.toThrow(CancelledError);
      const log: string[] = [];
      const resumed = await run(store, undefined, log);
      expect(resumed.reusedStages).toContain('retriever:round-1');
      expect(log.some((l) => l.startsWith('training retriever FT'))).toBe(false);
      expect(JSON.stringify(resumed.results)).toBe(JSON.stringify(whole.results));
      expect(JSON.stringify(resumed.curves)).toBe(JSON.stringify(whole.curves));
      expect(JSON.stringify(resumed.preferences)).toBe(JSON.stringify(whole.preferences));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
