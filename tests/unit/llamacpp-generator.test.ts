// llama.cpp behind the TextGenerator seam (src/pipeline/llamacpp-generator.ts) on the real SmolLM2-135M-Instruct
// GGUF: the prompt ids are our encodePrompt's and equal llama.cpp's own tokenization of the rendered chat
// prompt; greedy tokens agree with our tfjs decoder's teacher-forced argmax wherever its top-2 gap is decided;
// seeded sampling is reproducible and independent of batch neighbours; a merged-adapter GGUF generates the
// tuned model; the generation cache keeps llama.cpp and tfjs texts apart; `generate --engine llama.cpp --json`.
// Needs .cache/node-llama-cpp (bash scripts/ensure-llamacpp.sh) and the GGUF (scripts/ensure-models.sh);
// skipped with the reason when either is missing. Few tokens each: the machine is small.
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { useBackend } from '../../src/cli/backend.ts';
import { generateCommand } from '../../src/cli/generate-command.ts';
import { decoderFilesFromPath } from '../../src/cli/model-path.ts';
import { encodePrompt } from '../../src/llm/generate.ts';
import { llamaCppMissing } from '../../src/llm/llamacpp/node-engine.ts';
import type { LlamaModel } from '../../src/llm/llama.ts';
import { loadDecoder } from '../../src/llm/load.ts';
import { exportPeftAdapter } from '../../src/llm/lora-peft.ts';
import { LoraAdapters } from '../../src/llm/lora.ts';
import type { DecoderTokenizer } from '../../src/llm/tokenizer.ts';
import { MemoryGenerationCache } from '../../src/pipeline/generation-cache.ts';
import { generateExpansions } from '../../src/pipeline/expansions.ts';
import { adapterHash } from '../../src/pipeline/generators.ts';
import { LlamaCppGenerator, llamaCppGeneratorFactory, loraGgufPath } from '../../src/pipeline/llamacpp-generator.ts';
import { q2dPrompt } from '../../src/pipeline/prompts.ts';
import type { GenerationFailure, SamplingSettings, TextGenerator } from '../../src/pipeline/types.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const GGUF = process.env.EXPANDR_SMOLLM2_GGUF ?? join(ROOT, '.cache/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf');
const NAME = 'SmolLM2-135M-Instruct.Q4_1.gguf';
const LLAMACPP_FIXTURE = join(ROOT, 'tests/reference/fixtures/gguf-smollm2-llamacpp.json');
const missing = llamaCppMissing() ?? (existsSync(GGUF) ? null : `no ${GGUF} (bash scripts/ensure-models.sh)`);
if (missing) console.log(`skipping the llama.cpp generator tests: ${missing}`);

/**
 * A greedy step counts only where our float32 decoder's top two logits are further apart than this. llama.cpp
 * multiplies Q4_1 weights with activations quantized to Q8_1, so its logits depart from the dequantized
 * float32 ones by more than tfjs vs transformers (1e-4): it took the runner-up where our gap was 0.017 and
 * 0.110 (three Q2D prompts, 16 tokens each); set at ~3× the larger.
 */
const LLAMACPP_DECIDED_GAP = 0.3;
/** Of the steps compared, at least this share must be decided (else the test would compare nothing). */
const MIN_DECIDED_SHARE = 0.7;
const GREEDY_TOKENS = 16;
const SAMPLED: SamplingSettings = { temperature: 1, topP: 0.9, maxTokens: 12, seed: 7 };
const GREEDY: SamplingSettings = { temperature: 0, topP: 1, maxTokens: GREEDY_TOKENS, seed: 0 };
const QUERIES = ['0-dimensional biomaterials show inductive properties.', '5% of perinatal mortality is due to low birth weight.', 'A deficiency of vitamin B12 increases blood levels of homocysteine.'];

/** Teacher-forced over prompt + tokens: our argmax and top-2 gap at each generated position. */
async function teacherForced(model: LlamaModel, prompt: number[], tokens: number[]): Promise<{ top1: number[]; gap: number[] }> {
  const ids = [...prompt, ...tokens];
  const from = prompt.length - 1;
  const logits = tf.tidy(() => {
    const h = model.hidden(tf.tensor2d(ids, [1, ids.length], 'int32'));
    return model.lmHead(tf.slice(h, [0, from, 0], [1, tokens.length, -1])); // (1, n, V)
  });
  const { values, indices } = tf.topk(logits, 2);
  const [v, i] = [(await values.array()) as number[][][], (await indices.array()) as number[][][]];
  tf.dispose([logits, values, indices]);
  return { top1: i[0].map((r) => r[0]), gap: v[0].map((r) => r[0] - r[1]) };
}

const text = (t: string | GenerationFailure) => {
  if (typeof t !== 'string') throw new Error(t.failed);
  return t;
};

describe.skipIf(missing !== null)('llama.cpp generator (node-llama-cpp) on SmolLM2-135M-Instruct', () => {
  let gen: LlamaCppGenerator;
  let model: LlamaModel;
  let tokenizer: DecoderTokenizer;
  let tmp: string;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'expandr-llamacpp-'));
    gen = await LlamaCppGenerator.load({ modelPath: GGUF, name: NAME, chat: true, parallel: 2 });
    await useBackend('wasm');
    const d = await loadDecoder(await decoderFilesFromPath(GGUF));
    model = d.model;
    tokenizer = d.tokenizer!;
  }, 180_000);

  afterAll(async () => {
    await gen?.dispose();
    model?.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('states its provenance and id as the tfjs path does', () => {
    expect(gen.id).toBe(NAME);
    expect(gen.provenance).toEqual({ engine: 'llama.cpp', precision: 'Q4_1', model: NAME });
    expect(gen.chat).toBe(true);
  });

  test("prompt ids are encodePrompt's, and llama.cpp's own tokenization of the rendered chat prompt", () => {
    const fixture = JSON.parse(readFileSync(LLAMACPP_FIXTURE, 'utf8')) as { chat: { rendered: string; ids: number[] }[] };
    QUERIES.forEach((q, k) => {
      const ids = gen.encode(q2dPrompt(q));
      expect(ids).toEqual(encodePrompt(tokenizer, q2dPrompt(q), { chat: true }));
      expect(fixture.chat[k].rendered).toContain(q);
      expect(ids).toEqual(fixture.chat[k].ids);
    });
  });

  test(`greedy tokens equal the tfjs decoder's teacher-forced argmax wherever its top-2 gap exceeds ${LLAMACPP_DECIDED_GAP}`, async () => {
    const prompts = QUERIES.map(q2dPrompt);
    const r = await gen.generateWithTimes(prompts, GREEDY);
    let compared = 0;
    let decided = 0;
    for (let k = 0; k < prompts.length; k++) {
      const tokens = r.tokens[k]!;
      expect(tokens.length).toBeGreaterThan(0);
      const tf_ = await teacherForced(model, gen.encode(prompts[k]), tokens);
      const disagree = tokens.map((t, i) => ({ i, t, ours: tf_.top1[i], gap: tf_.gap[i] })).filter((x) => x.t !== x.ours);
      if (disagree.length) console.log(`prompt ${k}: llama.cpp departs from our argmax at`, disagree.map((x) => `step ${x.i} (gap ${x.gap.toFixed(4)})`).join(', '));
      for (const x of disagree) expect(x.gap, `prompt ${k} step ${x.i}`).toBeLessThanOrEqual(LLAMACPP_DECIDED_GAP);
      compared += tokens.length;
      decided += tf_.gap.filter((g) => g > LLAMACPP_DECIDED_GAP).length;
    }
    console.log(`${decided} of ${compared} greedy steps decided (gap > ${LLAMACPP_DECIDED_GAP})`);
    expect(decided / compared).toBeGreaterThanOrEqual(MIN_DECIDED_SHARE);
  }, 120_000);

  test('seeded sampling: same seed, same text, whatever the batch neighbours; another seed, another text', async () => {
    const p = q2dPrompt(QUERIES[0]);
    const alone = text((await gen.generate([p], SAMPLED, { seeds: [11] }))[0]);
    const batch = await gen.generate([q2dPrompt(QUERIES[1]), p, q2dPrompt(QUERIES[2])], SAMPLED, { seeds: [5, 11, 6] });
    expect(text(batch[1])).toBe(alone);
    const others = await gen.generate([p, p, p], SAMPLED, { seeds: [12, 13, 14] });
    expect(others.map(text).some((t) => t !== alone)).toBe(true);
  }, 120_000);

  test('one context gives the texts two contexts give (the default parallel: one context per core), greedy and sampled', async () => {
    const prompts = QUERIES.slice(0, 3).map(q2dPrompt);
    const one = await LlamaCppGenerator.load({ modelPath: GGUF, name: NAME, chat: true, parallel: 1 });
    try {
      for (const sampling of [GREEDY, SAMPLED]) {
        const seeds = [21, 22, 23];
        expect((await one.generate(prompts, sampling, { seeds })).map(text)).toEqual((await gen.generate(prompts, sampling, { seeds })).map(text));
      }
    } finally {
      await one.dispose();
    }
  }, 180_000);

  test('a prompt that does not fit the context is a GenerationFailure; the others still run', async () => {
    const long = 'word '.repeat(gen.engine.contextSize + 10);
    const r = await gen.generate([long, q2dPrompt(QUERIES[0])], { ...SAMPLED, maxTokens: 2 });
    expect((r[0] as GenerationFailure).failed).toMatch(/do not fit llama\.cpp's context/);
    expect(typeof r[1]).toBe('string');
  }, 60_000);

  test('the generation cache keeps llama.cpp and tfjs texts apart (same model id)', async () => {
    const cache = new MemoryGenerationCache();
    const queries = [{ id: 'q1', text: QUERIES[0] }];
    const sampling = { ...SAMPLED, maxTokens: 4 };
    const first = await generateExpansions(gen, queries, sampling, cache);
    expect(first.size).toBe(1);
    let calls = 0;
    const tfjsLike: TextGenerator = { id: gen.id, provenance: { engine: 'tfjs', precision: 'Q4_1', model: gen.id }, generate: async (ps) => ps.map(() => (calls++, 'from tfjs')) };
    expect((await generateExpansions(tfjsLike, queries, sampling, cache)).get('q1')).toBe('from tfjs');
    expect(calls).toBe(1);
    const again = await generateExpansions(gen, queries, sampling, cache); // llama.cpp's text, from the cache
    expect(again.get('q1')).toBe(first.get('q1'));
  }, 60_000);

  test('a tuned model is the base GGUF plus its llama.cpp LoRA file: id NAME+lora:HASH, written once, greedy as tfjs with the adapter; a zero adapter is the base exactly', async () => {
    const lora = LoraAdapters.attachNew(model, { seed: 13 });
    let adapter: Map<string, Uint8Array>;
    let zero: Map<string, Uint8Array>;
    const dir = join(tmp, 'lora');
    try {
      // A strong seeded update (B ~ N(0, 0.3)): with 0.05 the greedy text of 12 tokens was still the base's.
      lora.layers.forEach((l, i) => tf.tidy(() => l.b.assign(tf.randomNormal(l.b.shape, 0, 0.3, 'float32', 1300 + i))));
      adapter = await exportPeftAdapter(lora, 'SmolLM2-135M-Instruct');
      const make = llamaCppGeneratorFactory({ gguf: GGUF, loraDir: dir, name: NAME, chat: true, parallel: 1 });
      const tuned = await make(adapter);
      const file = loraGgufPath(dir, adapter);
      const written = statSync(file).mtimeMs;
      expect(tuned.id).toBe(`${NAME}+lora:${adapterHash(adapter)}`);
      expect(tuned.provenance).toMatchObject({ engine: 'llama.cpp', precision: 'Q4_1', lora: 'runtime' });
      tuned.dispose();
      const prompt = q2dPrompt(QUERIES[0]);
      const ids = gen.encode(prompt);
      const withLora = await LlamaCppGenerator.load({ modelPath: GGUF, loraPath: file, name: NAME, chat: true, adapter, parallel: 1 });
      const tunedTokens = (await withLora.generateWithTimes([prompt], { ...GREEDY, maxTokens: 8 })).tokens[0]!;
      await withLora.dispose();
      const base = (await gen.generateWithTimes([prompt], { ...GREEDY, maxTokens: 8 })).tokens[0]!;
      expect(tunedTokens).not.toEqual(base); // the adapter changes the text
      const forced = await teacherForced(model, ids, tunedTokens); // adapter attached: the tuned model in tfjs
      let decided = 0;
      tunedTokens.forEach((t, i) => forced.gap[i] > LLAMACPP_DECIDED_GAP && (decided++, expect(t, `step ${i}`).toBe(forced.top1[i])));
      expect(decided).toBeGreaterThan(0);
      const again = await make(adapter); // reused, not written again
      again.dispose();
      expect(statSync(file).mtimeMs).toBe(written);

      // B = 0: the adapter adds nothing, and llama.cpp's arithmetic on the base weights is untouched, so the
      // texts are the base model's to the token, greedy and sampled (a merged GGUF's F16 matrices would not be).
      lora.layers.forEach((l) => tf.tidy(() => l.b.assign(tf.zerosLike(l.b))));
      zero = await exportPeftAdapter(lora, 'SmolLM2-135M-Instruct');
      const none = await make(zero);
      const prompts = QUERIES.map((q) => q2dPrompt(q));
      for (const sampling of [{ ...GREEDY, maxTokens: 12 }, SAMPLED]) {
        const seeds = { seeds: prompts.map((_, i) => 100 + i) };
        expect(await none.generate(prompts, sampling, seeds)).toEqual(await gen.generate(prompts, sampling, seeds));
      }
      none.dispose();
    } finally {
      lora.detach(model);
      lora.dispose();
    }
  }, 240_000);

  test('`generate --engine llama.cpp --json` reports engine, precision, tokens_per_s, prefill_ms, decode_ms', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await generateCommand(['--engine', 'llama.cpp', '--model', GGUF, '--prompt', q2dPrompt(QUERIES[0]), '--greedy', '--max-tokens', '4', '--json', '--quiet'], new AbortController().signal);
      const out = JSON.parse(String(log.mock.calls.at(-1)![0])) as Record<string, unknown>;
      expect(out).toMatchObject({ engine: 'llama.cpp', precision: 'Q4_1', format: 'gguf', chat: true, tokens: 4, finish: 'length', threads: 1 });
      expect(out.tokens_per_s as number).toBeGreaterThan(0);
      expect(Number.isInteger(out.prefill_ms) && Number.isInteger(out.decode_ms)).toBe(true);
      expect(out.tokens_per_s as number).toBeCloseTo(4 / (((out.prefill_ms as number) + (out.decode_ms as number)) / 1000), 0);
    } finally {
      log.mockRestore();
    }
  }, 60_000);
});
