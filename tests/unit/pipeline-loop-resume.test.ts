// The joint loop end to end on tiny real models (tiny-bert encoder, stories260K decoder with LoRA DPO)
// and a synthetic BEIR-shaped task, with a stand-in LLM side for generation and rewards (deterministic
// texts, cosine rewards): every requested row appears, and a run aborted mid retriever training and
// again mid DPO, then resumed on the same store, ends with exactly the numbers of an uninterrupted run.
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useCpuBackend } from './helpers/tiny-encoder.ts';
import { syntheticTask } from './helpers/train-corpus.ts';
import type { BeirDataset } from '../../src/data/load.ts';
import { sourcesFromPath } from '../../src/data/node-sources.ts';
import { loadBertEncoder } from '../../src/encoder/encoder.ts';
import { readModelDir } from '../../src/encoder/node-files.ts';
import type { Encoder } from '../../src/encoder/types.ts';
import { modelFilesFromSources } from '../../src/llm/files.ts';
import { CancelledError } from '../../src/errors.ts';
import { experimentConfig, type ExperimentConfig } from '../../src/pipeline/config.ts';
import { runExperiment, type LlmSide } from '../../src/pipeline/loop.ts';
import type { QueryWithGold } from '../../src/pipeline/types.ts';
import { memoryRunStore, RunStages, type RunStore } from '../../src/pipeline/run-state.ts';
import { folderRunStore } from '../../src/cli/run-folder.ts';
import { trainDpoAdapter } from '../../src/pipeline/stages-llm.ts';
import type { LoopContext } from '../../src/pipeline/stages-retriever.ts';
import { SETTING_NAMES, type SamplingSettings, type TextGenerator } from '../../src/pipeline/types.ts';
import { createRng, deriveSeed } from '../../src/util/random.ts';

const TINY_BERT = new URL('../reference/fixtures/tiny-bert', import.meta.url).pathname;
const STORIES = new URL('../../../shared/models/stories260K', import.meta.url).pathname;
const LONG_TEST_MS = 600_000;

function tinyDataset(): BeirDataset {
  const { docs, queries, qrels } = syntheticTask(16, 3);
  const train = new Map([...qrels].slice(0, 10));
  const test = new Map([...qrels].slice(10));
  return {
    name: 'synthetic', docs, queries: new Map(queries.map((q) => [q.id, q])), qrels: new Map([['train', train], ['test', test]]),
    splits: {}, warnings: [], checksum: 'synthetic-16-3', fileSha256: {},
  } as unknown as BeirDataset;
}

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

const cosine = (a: Float32Array, i: number, b: Float32Array, j: number, dim: number) => {
  let d = 0, na = 0, nb = 0;
  for (let k = 0; k < dim; k++) {
    const x = a[i * dim + k], y = b[j * dim + k];
    d += x * y; na += x * x; nb += y * y;
  }
  return d / Math.sqrt(na * nb || 1);
};

function fakeLlmSide(config: ExperimentConfig, stories: Awaited<ReturnType<typeof modelFilesFromSources>>): LlmSide {
  const prompt = (q: string) => `Please write a passage to answer the question. Question: ${q} Passage:`;
  return {
    async generator(adapter, name) {
      const bytes = adapter?.get('adapter_model.safetensors');
      return fakeGenerator(`${name}:${bytes ? hash(String([...bytes].join(','))) : 'base'}`);
    },
    async expand(gen, queries) {
      const texts = await gen.generate(queries.map((q) => prompt(q.text)), config.expansion);
      return new Map(queries.map((q, i) => [q.id, texts[i]]));
    },
    async candidates(gen, queries: readonly QueryWithGold[]) {
      const c = config.candidates;
      const texts = await Promise.all(
        queries.map(async (q) => (await Promise.all(c.temperatures.map((t) => gen.generate(Array(c.perTemperature).fill(prompt(q.query)), { temperature: t, topP: c.topP, maxTokens: c.maxTokens, seed: config.seed })))).flat()),
      );
      const answers = await gen.generate(queries.map((q) => `Query: ${q.query} Related Document: ${q.goldDoc} Answer:`), config.answer);
      return queries.map((q, i) => ({ qid: q.qid, answer: answers[i], candidates: texts[i].map((text, j) => ({ text, temperature: c.temperatures[Math.floor(j / c.perTemperature)], sample: j % c.perTemperature })) }));
    },
    async preferences(encoder: Encoder, cands, queries, rewards) {
      const answers = cands.map((c) => c.answer);
      const texts = cands.map((c) => c.candidates.map((x) => x.text));
      const records = [];
      const pairs = [];
      for (let i = 0; i < queries.length; i++) {
        const q = queries[i];
        const e = await encoder.encode(texts[i], 'doc');
        const g = await encoder.encode([q.goldDoc, answers[i]], 'doc');
        const r = texts[i].map((_, j) => (rewards.retrieverReward ? cosine(e, j, g, 0, encoder.dim) : 0) + (rewards.selfReward ? cosine(e, j, g, 1, encoder.dim) : 0));
        const chosen = r.indexOf(Math.max(...r));
        const rejected = r.indexOf(Math.min(...r));
        records.push({ qid: q.qid, query: q.query, goldDocId: q.goldDocId, answer: answers[i], candidates: [], chosen, rejected });
        if (chosen !== rejected) pairs.push({ prompt: prompt(q.query), chosen: texts[i][chosen], rejected: texts[i][rejected] });
      }
      return { records, pairs };
    },
    trainDpo: (pairs, from, checkpoints, work) =>
      trainDpoAdapter({ files: stories, baseModel: 'stories260K', chat: false, dpo: config.dpo, lora: config.lora, seed: config.seed }, pairs, from, checkpoints, work),
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

beforeAll(useCpuBackend);

describe('the ExpandR loop', () => {
  it('resumes after aborts mid retriever training and mid DPO with the numbers of an uninterrupted run', { timeout: LONG_TEST_MS }, async () => {
    const whole = await run(memoryRunStore());
    expect(whole.results.rows.map((r) => r.setting)).toEqual([...SETTING_NAMES]);
    for (const r of whole.results.rows) for (const m of ['ndcg@10', 'recall@100', 'mrr@10', 'map@100'] as const) expect(r[m]).toBeGreaterThanOrEqual(0);
    expect(whole.results.rows.find((r) => r.setting === 'ExpandR')!.pValues).toHaveProperty('Raw');
    expect(whole.curves.filter((c) => c.kind === 'dpo')).toHaveLength(4);

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
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
