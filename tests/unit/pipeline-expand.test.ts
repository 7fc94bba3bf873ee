// Expansions, candidates and answers through the generation cache ("nothing is generated twice"), the caches
// (memory, IndexedDB artifacts, JSONL file), the expansions JSONL, and the two TextGenerator adapters.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importBeir } from '../../src/store/import-beir.ts';
import { CancelledError, FileFormatError } from '../../src/errors.ts';
import type { DecoderConfig } from '../../src/llm/config.ts';
import { LlamaModel } from '../../src/llm/llama.ts';
import { exportPeftAdapter } from '../../src/llm/lora-peft.ts';
import { LoraAdapters } from '../../src/llm/lora.ts';
import type { DecoderTokenizer } from '../../src/llm/tokenizer.ts';
import { WebLlmGenerator } from '../../src/llm/webllm/engine.ts';
import { randomWeights } from '../../src/llm/weights.ts';
import { pickGoldDoc } from '../../src/data/qrels.ts';
import { answerJobs, candidateSamplings, generateCandidates, sampleCandidateSets } from '../../src/pipeline/candidates.ts';
import { EXPERIMENT_DEFAULTS } from '../../src/pipeline/config.ts';
import { expansionsFromJsonl, expansionsToJsonl, generateExpansions } from '../../src/pipeline/expansions.ts';
import { FileGenerationCache, GENERATION_CACHE_FILE } from '../../src/cli/generation-cache-file.ts';
import { generateCached, generationKey, MemoryGenerationCache, sampleSeed, StoreGenerationCache, STORE_CACHE_COMPACT_AT, type ArtifactBackend } from '../../src/pipeline/generation-cache.ts';
import { adapterHash, createTfjsGenerator, generatorId, webLlmTextGenerator } from '../../src/pipeline/generators.ts';
import { q2aPrompt, q2dPrompt } from '../../src/pipeline/prompts.ts';
import type { GenerateWork, SamplingSettings, TextGenerator } from '../../src/pipeline/types.ts';
import { errorOf, freshStore, progressLog, sources, tinyFiles } from './helpers/beir-files.ts';
import { FakeEngine, fakeGpu } from './helpers/fake-webllm.ts';

const S: SamplingSettings = { temperature: 0.8, topP: 0.9, maxTokens: 16, seed: 42 };
const QUERIES = [
  { id: 'q1', text: 'what causes tides' },
  { id: 'q2', text: 'why is the sky blue' },
  { id: 'q3', text: 'how do bees fly' },
];

/** Deterministic in (prompt, temperature, seed of the prompt's stream); records every call. */
class FakeGenerator implements TextGenerator {
  readonly calls: { prompts: string[]; sampling: SamplingSettings; seeds: number[] }[] = [];
  constructor(readonly id = 'fake') {}
  async generate(prompts: readonly string[], sampling: SamplingSettings, work: GenerateWork = {}): Promise<string[]> {
    const seeds = prompts.map((_, i) => work.seeds?.[i] ?? -1);
    this.calls.push({ prompts: [...prompts], sampling, seeds });
    work.onProgress?.({ stage: 'llm:generate', done: 1, total: 1, unit: 'tokens' });
    return prompts.map((p, i) => `Here is a passage to answer the question: ${p.split('\n')[1]} T${sampling.temperature} #${seeds[i]}`);
  }
  get generated(): number {
    return this.calls.reduce((n, c) => n + c.prompts.length, 0);
  }
}

describe('generateExpansions', () => {
  it('strips intros, caches everything and generates nothing the second time', async () => {
    const gen = new FakeGenerator();
    const cache = new MemoryGenerationCache();
    const log = progressLog();
    const first = await generateExpansions(gen, QUERIES, S, cache, { onProgress: log.onProgress }, { chunk: 2 });
    expect([...first.keys()]).toEqual(['q1', 'q2', 'q3']);
    expect(first.get('q1')).toBe(`Question: what causes tides T0.8 #${sampleSeed(42, 0, 'q1')}`);
    expect(gen.calls.map((c) => c.prompts.length)).toEqual([2, 1]);
    expect(gen.calls[0].prompts[0]).toBe(q2dPrompt('what causes tides'));
    expect(cache.size).toBe(3);
    expect(log.monotone()).toBe(true);
    expect(log.stages().get('pipeline:expand')).toMatchObject({ done: 3, total: 3, unit: 'prompts' });

    const again = await generateExpansions(gen, QUERIES, S, cache);
    expect(gen.generated).toBe(3);
    expect(again).toEqual(first);
  });

  it('sends only uncached prompts, each with the seed an uninterrupted run gives it', async () => {
    const cache = new MemoryGenerationCache();
    await generateExpansions(new FakeGenerator(), [QUERIES[1]], S, cache);
    const gen = new FakeGenerator();
    const all = await generateExpansions(gen, QUERIES, S, cache);
    expect(gen.calls).toHaveLength(1);
    expect(gen.calls[0].prompts).toEqual([q2dPrompt(QUERIES[0].text), q2dPrompt(QUERIES[2].text)]);
    expect(gen.calls[0].seeds).toEqual([sampleSeed(42, 0, 'q1'), sampleSeed(42, 0, 'q3')]);
    const fresh = await generateExpansions(new FakeGenerator(), QUERIES, S, new MemoryGenerationCache());
    expect(all).toEqual(fresh);
  });

  it('keys on generator id, sampling, seed and query id', async () => {
    const cache = new MemoryGenerationCache();
    await generateExpansions(new FakeGenerator('a'), QUERIES, S, cache);
    const other = new FakeGenerator('a+lora:0123');
    await generateExpansions(other, QUERIES, S, cache);
    await generateExpansions(other, QUERIES, { ...S, seed: 7 }, cache);
    await generateExpansions(other, QUERIES, { ...S, temperature: 1 }, cache);
    await generateExpansions(other, [{ id: 'q9', text: QUERIES[0].text }], S, cache); // same text, other query
    expect(other.generated).toBe(10);
    const k = { generator: 'g', kind: 'q2d' as const, prompt: 'p', sampling: S, sample: 0, qid: 'q' };
    expect(generationKey(k)).toMatch(/^[0-9a-f]{64}$/);
    expect(new Set([generationKey(k), generationKey({ ...k, sample: 1 }), generationKey({ ...k, kind: 'q2a' }), generationKey({ ...k, sampling: { ...S, maxTokens: 17 } })]).size).toBe(4);
  });

  it('cancels between chunks, keeping what was generated', async () => {
    const ac = new AbortController();
    const gen = new FakeGenerator();
    const orig = gen.generate.bind(gen);
    gen.generate = async (p, s, w) => {
      const r = await orig(p, s, w);
      ac.abort();
      return r;
    };
    const cache = new MemoryGenerationCache();
    expect(await errorOf(() => generateExpansions(gen, QUERIES, S, cache, { signal: ac.signal }, { chunk: 1 }))).toBeInstanceOf(CancelledError);
    expect(cache.size).toBe(1);
  });

  it('generates duplicate jobs once', async () => {
    const gen = new FakeGenerator();
    const job = { qid: 'q1', kind: 'q2d' as const, prompt: 'x\ny', sampling: S, sample: 0 };
    const out = await generateCached(gen, [job, job], new MemoryGenerationCache());
    expect(gen.generated).toBe(1);
    expect(out.texts[0]).toBe(out.texts[1]);
    expect(out.failures).toEqual([]);
  });
});

describe('expansions JSONL', () => {
  it('round-trips, unicode and newlines included', () => {
    const m = new Map([['q1', 'line one\nline "two" é ✓'], ['42', '']]);
    const text = expansionsToJsonl(m);
    expect(text.split('\n')[0]).toBe('{"id":"q1","expansion":"line one\\nline \\"two\\" é ✓"}');
    expect(expansionsFromJsonl(text)).toEqual(m);
  });

  it.each([
    ['{"id":"q1","expansion":"a"}\n{oops\n', 2, /not valid JSON/],
    ['\n\n{"expansion":"a"}\n', 3, /no "id"/],
    ['{"id":"q1"}\n', 1, /no "expansion"/],
    ['{"id":"q1","expansion":"a"}\n{"id":"q1","expansion":"b"}\n', 2, /second expansion/],
  ])('names file and line of a bad line (%#)', (text, line, msg) => {
    const e = (() => {
      try {
        expansionsFromJsonl(text, 'exp.jsonl');
      } catch (err) {
        return err as FileFormatError;
      }
      throw new Error('no error');
    })();
    expect(e).toBeInstanceOf(FileFormatError);
    expect(e.message).toMatch(new RegExp(`^exp\\.jsonl line ${line}: `));
    expect(e.message).toMatch(msg);
  });
});

describe('candidates and answers', () => {
  const TQ = [
    { qid: 't1', query: 'tides', goldDocId: 'd-t1', goldDoc: 'Tides The moon pulls the sea.' },
    { qid: 't2', query: 'bees', goldDocId: 'd-t2', goldDoc: 'Bees Wings beat fast.' },
  ];
  const CS = { temperatures: [0.8, 1.1], perTemperature: 3, topP: 0.9, maxTokens: 16 };

  it('samples k per temperature with per-sample seeds, cached like expansions', async () => {
    const gen = new FakeGenerator();
    const cache = new MemoryGenerationCache();
    const c = await generateCandidates(gen, TQ, CS, 42, cache, {}, { chunk: 4 });
    const t1 = c.get('t1')!;
    expect(t1.map((x) => [x.temperature, x.sample])).toEqual([[0.8, 0], [0.8, 1], [0.8, 2], [1.1, 3], [1.1, 4], [1.1, 5]]);
    expect(new Set(t1.map((x) => x.text)).size).toBe(6);
    expect(t1[4].text).toBe(`Question: tides T1.1 #${sampleSeed(42, 4, 't1')}`);
    expect(gen.calls.every((call) => call.prompts.length <= 4)).toBe(true);
    expect(gen.calls.map((call) => call.sampling.temperature)).toEqual([0.8, 0.8, 1.1, 1.1]);
    await generateCandidates(gen, TQ, CS, 42, cache);
    expect(gen.generated).toBe(12);
    expect(candidateSamplings(EXPERIMENT_DEFAULTS.candidates, 1)).toHaveLength(32);
  });

  it('shares sample 0 with the vanilla expansion when the settings agree', async () => {
    const gen = new FakeGenerator();
    const cache = new MemoryGenerationCache();
    const exp = await generateExpansions(gen, [{ id: 't1', text: 'tides' }], { temperature: 0.8, topP: 0.9, maxTokens: 16, seed: 42 }, cache);
    const c = await generateCandidates(gen, [TQ[0]], CS, 42, cache);
    expect(c.get('t1')![0].text).toBe(exp.get('t1'));
    expect(gen.generated).toBe(6);
  });

  it('answers with the Q2A prompt of (q, d*) and bundles sets in query order', async () => {
    const gen = new FakeGenerator();
    const jobs = answerJobs(TQ, S);
    expect(jobs[0]).toMatchObject({ qid: 't1', kind: 'q2a', prompt: q2aPrompt('tides', 'Tides The moon pulls the sea.'), sample: 0 });
    const sets = await sampleCandidateSets(gen, TQ, { candidates: CS, answer: S, seed: 42 }, new MemoryGenerationCache());
    expect(sets.map((s) => [s.qid, s.candidates.length])).toEqual([['t1', 6], ['t2', 6]]);
    expect(sets[0].answer).toMatch(/^Query: tides T0.8 #\d+$/); // the fake echoes the prompt's second line
    expect(JSON.parse(JSON.stringify(sets))).toEqual(sets);
  });

  it('picks the highest-judged document in the corpus as d*', () => {
    const has = (id: string) => id !== 'gone';
    expect(pickGoldDoc([['a', 1], ['b', 2], ['c', 2]], has)).toBe('b');
    expect(pickGoldDoc([['gone', 3], ['a', 1]], has)).toBe('a');
    expect(pickGoldDoc([['a', 0]], has)).toBeNull();
    expect(pickGoldDoc(new Map([['x', 1]]), has)).toBe('x');
  });
});

describe('caches', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'gencache-'));
    dirs.push(d);
    return d;
  };
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('file cache: appends, survives a reopen and a torn last line', async () => {
    const dir = tmp();
    const a = new FileGenerationCache(join(dir, 'run'));
    expect(await a.get('k1')).toBeUndefined();
    await a.putMany([['k1', 'one\nline'], ['k2', 'two']]);
    await a.putMany([['k2', 'two']]); // unchanged: nothing appended
    const file = join(dir, 'run', GENERATION_CACHE_FILE);
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(2);
    appendFileSync(file, '{"key":"k3","te'); // a killed run
    const b = new FileGenerationCache(join(dir, 'run'));
    expect(await b.get('k1')).toBe('one\nline');
    expect(await b.get('k3')).toBeUndefined();
    await b.putMany([['k3', 'three']]);
    expect(await new FileGenerationCache(join(dir, 'run')).get('k3')).toBe('three');
  });

  it('file cache: a bad line in the middle names file and line', async () => {
    const dir = tmp();
    writeFileSync(join(dir, GENERATION_CACHE_FILE), '{"key":"a","text":"x"}\nnot json\n{"key":"b","text":"y"}\n');
    const e = await errorOf(() => new FileGenerationCache(dir).get('a'));
    expect(e).toBeInstanceOf(FileFormatError);
    expect(e.message).toContain(`${join(dir, GENERATION_CACHE_FILE)} line 2: not valid JSON`);
  });

  it('IndexedDB cache: one artifact per putMany, read back after reopening', async () => {
    const { store, reopen } = await freshStore();
    const { dataset } = await importBeir(store, sources(tinyFiles()), { estimate: undefined, persist: undefined } as never);
    const gen = new FakeGenerator();
    const c1 = new StoreGenerationCache(store, dataset.id);
    const first = await generateExpansions(gen, QUERIES, S, c1, {}, { chunk: 2 });
    expect((await store.listArtifacts(dataset.id)).filter((k) => k.startsWith('generations/'))).toEqual([
      expect.stringMatching(/^generations\/seg-00000000-[0-9a-f]{6}$/),
      expect.stringMatching(/^generations\/seg-00000001-[0-9a-f]{6}$/),
    ]);
    const c2 = new StoreGenerationCache(await reopen(), dataset.id);
    expect(await generateExpansions(gen, QUERIES, S, c2)).toEqual(first);
    expect(gen.generated).toBe(3);
  });

  it('IndexedDB cache: compacts many segments into one without losing entries', async () => {
    const rows = new Map<string, unknown>();
    const backend: ArtifactBackend = {
      putArtifact: async (_d, k, v) => void rows.set(k, structuredClone(v)),
      getArtifact: async <T,>(_d: string, k: string) => rows.get(k) as T | undefined,
      deleteArtifact: async (_d, k) => void rows.delete(k),
      listArtifacts: async () => [...rows.keys()].sort(),
    };
    const c = new StoreGenerationCache(backend, 'ds');
    const n = STORE_CACHE_COMPACT_AT + 3;
    for (let i = 0; i < n; i++) await c.putMany([[`k${i}`, `t${i}`]]);
    expect(rows.size).toBe(n);
    const d = new StoreGenerationCache(backend, 'ds');
    expect(await d.get('k0')).toBe('t0');
    expect(await d.get(`k${n - 1}`)).toBe(`t${n - 1}`);
    expect([...rows.keys()]).toEqual([expect.stringMatching(new RegExp(`^generations/seg-${String(n).padStart(8, '0')}-[0-9a-f]{6}$`))]);
    await d.putMany([['new', 'x']]);
    expect(await new StoreGenerationCache(backend, 'ds').get('new')).toBe('x');
  });
});

describe('WebLLM as a TextGenerator', () => {
  it('sends each prompt with its own seed and the sampling settings; a failed prompt is a GenerationFailure, not an empty text', async () => {
    let engine!: FakeEngine;
    const failures: number[] = [];
    const web = await WebLlmGenerator.load({
      modelId: 'Qwen2.5-0.5B-Instruct-q4f16_1-MLC',
      gpu: fakeGpu(),
      factory: (cfg) =>
        (engine = new FakeEngine(cfg, {
          reply: (req) => {
            if (req.messages.at(-1)!.content.includes('toolong')) throw new Error('Prompt tokens exceed context window size');
            return `Sure! Here is a passage: seed ${req.seed}`;
          },
        })),
    });
    const gen = webLlmTextGenerator(web, { onFailure: (i) => failures.push(i) });
    expect(gen.id).toBe('webllm:Qwen2.5-0.5B-Instruct-q4f16_1-MLC');
    const out = await gen.generate(['a', 'toolong', 'c'], S, { seeds: [5, 6, 7] });
    expect(out).toEqual(['Sure! Here is a passage: seed 5', { failed: expect.stringMatching(/context window/) }, 'Sure! Here is a passage: seed 7']);
    expect(gen.provenance).toEqual({ engine: 'webllm', precision: 'q4f16_1', model: 'webllm:Qwen2.5-0.5B-Instruct-q4f16_1-MLC' });
    expect(failures).toEqual([1]);
    expect(engine.requests[0]).toMatchObject({ temperature: 0.8, top_p: 0.9, max_tokens: 16, seed: 5, messages: [{ role: 'user', content: 'a' }] });
    const exp = await generateExpansions(gen, [QUERIES[0]], S, new MemoryGenerationCache());
    expect(exp.get('q1')).toBe(`seed ${sampleSeed(42, 0, 'q1')}`);
  });
});

describe('tfjs decoder as a TextGenerator', () => {
  const CONFIG: DecoderConfig = {
    arch: 'qwen2', dim: 32, layers: 1, heads: 4, kvHeads: 2, headDim: 8, hidden: 48, vocab: 40, normEps: 1e-6,
    ropeTheta: 1e4, ropeScaling: { type: 'none' }, ropeLayout: 'half', attentionBias: true, tiedEmbeddings: true,
    maxSeqLen: 48, bosId: 1, eosIds: [],
  };
  /** Characters → ids 3..39 after a BOS; ids → letters. No EOS, so every sample runs to maxTokens. */
  const toy = (chat: boolean): DecoderTokenizer => ({
    vocabSize: 40,
    bosId: 1,
    eosIds: [],
    padId: 0,
    hasChatTemplate: chat,
    encode: (text, o) => [...(o?.addSpecialTokens === false ? [] : [1]), ...[...text].map((c) => 3 + (c.charCodeAt(0) % 37))],
    decode: (ids) => ids.map((i) => String.fromCharCode(97 + (i % 26))).join(''),
    applyChatTemplate: (m) => `<${m.map((x) => x.content).join('|')}>`,
  });
  let model: LlamaModel;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    model = new LlamaModel(CONFIG, randomWeights(CONFIG, 3));
  });
  afterAll(() => model.dispose());
  const T: SamplingSettings = { temperature: 1, topP: 0.9, maxTokens: 6, seed: 9 };

  it('returns a failure for a prompt that leaves no room in the positions, and runs the others', async () => {
    const gen = await createTfjsGenerator({ model, tokenizer: toy(false), name: 'toy', chat: false });
    expect(gen.provenance).toEqual({ engine: 'tfjs', precision: 'float32', model: 'toy' });
    const long = 'x'.repeat(CONFIG.maxSeqLen); // + BOS = 49 tokens > 48 positions
    const out = await gen.generate(['aa', long], T, { seeds: [11, 12] });
    expect(out[0]).toBe((await gen.generate(['aa'], T, { seeds: [11] }))[0]);
    expect(out[1]).toEqual({ failed: "a prompt of 49 tokens leaves no room in toy's 48 positions" });
  });

  it("samples a prompt the same alone or in a batch, given its seed", async () => {
    const gen = await createTfjsGenerator({ model, tokenizer: toy(false), name: 'toy', chat: false, batchSize: 3 });
    expect(gen.id).toBe('toy');
    // One batch of three, left-padded to 'bbbbbb'.
    const batch = await gen.generate(['aa', 'bbbbbb', 'c'], T, { seeds: [11, 22, 33] });
    expect(batch.map((t) => (t as string).length)).toEqual([6, 6, 6]);
    const alone = await gen.generate(['bbbbbb'], T, { seeds: [22] });
    expect(alone[0]).toBe(batch[1]);
    expect((await gen.generate(['aa'], T, { seeds: [11] }))[0]).toBe(batch[0]);
    expect((await gen.generate(['xyz', 'c'], T, { seeds: [5, 33] }))[1]).toBe(batch[2]);
    expect(await gen.generate(['bbbbbb'], T, { seeds: [23] })).not.toEqual(alone);
    // Without seeds, prompt i uses deriveSeed(seed, i): reproducible call to call.
    expect(await gen.generate(['aa', 'c'], T)).toEqual(await gen.generate(['aa', 'c'], T));
    gen.dispose();
  });

  it('a fresh adapter (B = 0) samples what the base does; its hash is in the id', async () => {
    const lora = LoraAdapters.attachNew(model, { seed: 1 });
    const files = await exportPeftAdapter(lora, 'toy');
    lora.detach(model);
    lora.dispose();
    const base = await createTfjsGenerator({ model, tokenizer: toy(false), name: 'toy', chat: false });
    const tuned = await createTfjsGenerator({ model, tokenizer: toy(false), name: 'toy', chat: false, adapter: files });
    expect(tuned.id).toBe(`toy+lora:${adapterHash(files)}`);
    expect(tuned.id).toBe(generatorId('toy', files));
    expect(adapterHash(files)).toMatch(/^[0-9a-f]{16}$/);
    expect(await tuned.generate(['abc'], T)).toEqual(await base.generate(['abc'], T));
    tuned.dispose();
    expect(model.adapters.size).toBe(0);
    base.dispose();
  });

  it('refuses chat prompts without a chat template, and uses the template when asked', async () => {
    await expect(createTfjsGenerator({ model, tokenizer: toy(false), name: 'toy', chat: true })).rejects.toThrow(/set llm.chat to false/);
    const chat = await createTfjsGenerator({ model, tokenizer: toy(true), name: 'toy', chat: true });
    const plain = await createTfjsGenerator({ model, tokenizer: toy(false), name: 'toy', chat: false });
    // '<ab>' tokenized without BOS vs 'ab' with BOS: different prompts, so (almost surely) different samples.
    expect(await chat.generate(['ab'], T)).not.toEqual(await plain.generate(['ab'], T));
  });
});
