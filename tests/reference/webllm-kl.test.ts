// How much a WebLLM export (merge + q4f16_1) changes the tuned model, on the real stories260K and the
// tiny Qwen2 fixture, with a zero and a random LoRA delta. KL(P‖Q), nats per position; the numbers are
// printed for the issue note. Properties checked: KL(P‖P) = 0; with B = 0 the export equals the quantised
// base; float16 alone (q0f16) costs almost nothing; a large adapter survives 4-bit quantisation (the
// export is much closer to the tuned model than the quantised base is).
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, test } from 'vitest';
import { useBackend } from '../../src/cli/backend.ts';
import { sourcesFromPath } from '../../src/data/node-sources.ts';
import { modelFilesFromSources } from '../../src/llm/files.ts';
import type { LlamaModel } from '../../src/llm/llama.ts';
import { loadDecoder } from '../../src/llm/load.ts';
import { LoraAdapters } from '../../src/llm/lora.ts';
import { KL_FALLBACK_THRESHOLD, klBetween, measureQuantisationKl, shouldFallBack, type QuantKlReport } from '../../src/llm/quant/kl.ts';
import type { DecoderTokenizer } from '../../src/llm/tokenizer.ts';
import { createRng } from '../../src/util/random.ts';
import { readFileSync } from 'node:fs';

const MODELS = {
  stories260K: new URL('../../../shared/models/stories260K', import.meta.url).pathname,
  'tiny-qwen2': new URL('./fixtures/tiny-qwen2', import.meta.url).pathname,
};
/** Prompt set: the first lines of the published stories260K sample, 48 tokens each at most. */
const TEXTS = readFileSync(new URL('../../../shared/models/stories260K/expected-greedy.txt', import.meta.url), 'utf8').split('\n').filter(Boolean).slice(0, 3);
const MAX_TOKENS = 48;
/** B ~ N(0, σ²) on every projection: σ = 0.03 moves stories260K by ~2.9 nats, the tiny Qwen2 by ~0.15. */
const BIG_DELTA_STD = 0.03;
/** σ = 0.003 moves them by ~0.005 nats: less than 4-bit rounding costs. */
const SMALL_DELTA_STD = 0.003;
const FLOAT16_KL_MAX = 1e-3;

const g = (x: number) => x.toPrecision(3);
const fmt = (r: QuantKlReport) =>
  `KL(P‖export) ${g(r.kl.mean)} (max ${g(r.kl.max)}), KL(P‖quantised base) ${g(r.baseQuantKl.mean)}, adapter KL(P‖base) ${g(r.adapterKl.mean)}, ${r.kl.positions} positions, fallBack ${r.fallBack}`;

beforeAll(async () => {
  await useBackend('wasm');
});

test('shouldFallBack: above the threshold, or nothing measured', () => {
  expect(shouldFallBack(KL_FALLBACK_THRESHOLD / 2)).toBe(false);
  expect(shouldFallBack(KL_FALLBACK_THRESHOLD * 2)).toBe(true);
  expect(shouldFallBack(NaN)).toBe(true);
});

for (const [name, dir] of Object.entries(MODELS)) {
  describe(`${name}: export KL`, () => {
    let model: LlamaModel;
    let prompts: number[][];
    let lora: LoraAdapters;
    beforeAll(async () => {
      let tok: DecoderTokenizer | null;
      ({ model, tokenizer: tok } = await loadDecoder(modelFilesFromSources(await sourcesFromPath(dir))));
      prompts = TEXTS.map((t) => tok!.encode(t).slice(0, MAX_TOKENS));
      lora = LoraAdapters.attachNew(model, { targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] });
    });

    test('KL(P‖P) = 0', async () => {
      expect((await klBetween(model, model, prompts)).mean).toBeLessThan(1e-6);
    });

    test('zero delta (fresh adapter): the export is the quantised base; float16 alone costs ~nothing', async () => {
      const r = await measureQuantisationKl(model, prompts);
      console.log(`${name}, B = 0, q4f16_1: ${fmt(r)}`);
      expect(r.adapterKl.mean).toBe(0);
      expect(r.kl.mean).toBeCloseTo(r.baseQuantKl.mean, 6);
      expect(r.kl.mean).toBeGreaterThan(0);
      const f16 = await measureQuantisationKl(model, prompts, 'q0f16');
      console.log(`${name}, B = 0, q0f16: ${fmt(f16)}`);
      expect(f16.kl.mean).toBeLessThan(FLOAT16_KL_MAX);
    });

    const randomDelta = (std: number) => {
      const rng = createRng(7);
      for (const l of lora.layers) l.b.assign(tf.tensor2d(Float32Array.from({ length: l.b.size }, () => rng.normal() * std), l.b.shape as [number, number]));
    };

    test('small random delta: below the quantisation noise, 4-bit rounding swallows most of it', async () => {
      randomDelta(SMALL_DELTA_STD);
      const r = await measureQuantisationKl(model, prompts);
      console.log(`${name}, B ~ N(0, ${SMALL_DELTA_STD}²), q4f16_1: ${fmt(r)}`);
      expect(r.adapterKl.mean).toBeLessThan(r.baseQuantKl.mean);
      expect(r.kl.mean).toBeGreaterThan(r.baseQuantKl.mean / 2); // not much closer to P than the quantised base
    });

    test('large random delta: the adapter survives 4-bit quantisation', async () => {
      randomDelta(BIG_DELTA_STD);
      const r = await measureQuantisationKl(model, prompts);
      console.log(`${name}, B ~ N(0, ${BIG_DELTA_STD}²), q4f16_1: ${fmt(r)}`);
      expect(r.adapterKl.mean).toBeGreaterThan(0.1);
      expect(r.kl.mean).toBeLessThan(r.baseQuantKl.mean / 2);
      const f16 = await measureQuantisationKl(model, prompts, 'q0f16');
      console.log(`${name}, B ~ N(0, ${BIG_DELTA_STD}²), q0f16: ${fmt(f16)}`);
      expect(f16.kl.mean).toBeLessThan(FLOAT16_KL_MAX);
    });
  });
}
