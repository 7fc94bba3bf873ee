// The page's llama.cpp (wllama) samples with our sampler, the runner's native llama.cpp with its own chain:
// same engine and weights, other texts. Provenance says so (sampler), the cache keys it, and rows made by
// the two are not comparable; a provenance without a sampler keys exactly as before.
import { expect, it } from 'vitest';
import { sha256Hex } from '../../src/data/hash.ts';
import { generateCached, generationKey, GENERATION_KEY_VERSION, MemoryGenerationCache } from '../../src/pipeline/generation-cache.ts';
import type { TextGenerator } from '../../src/pipeline/types.ts';
import { provenanceText, sameEngine } from '../../src/pipeline/generation-provenance.ts';
import { comparability } from '../../src/eval/significance-marks.ts';

const S = { temperature: 1, topP: 0.9, maxTokens: 16, seed: 42 };
const parts = { generator: 'SmolLM2', kind: 'q2d' as const, prompt: 'p', sampling: S, sample: 0, qid: 'q1' };

it('keys a sampler other than the engine’s own, and keys as before without one', () => {
  const native = generationKey({ ...parts, provenance: { engine: 'llama.cpp', precision: 'Q4_1' } });
  // The key before the sampler existed, spelled out: runs stored with it stay valid.
  expect(native).toBe(sha256Hex(JSON.stringify([GENERATION_KEY_VERSION, 'SmolLM2', 'llama.cpp', 'Q4_1', 'q2d', 'p', 1, 0.9, 16, 42, 0, 'q1'])));
  expect(generationKey({ ...parts, provenance: { engine: 'llama.cpp', precision: 'Q4_1', sampler: 'expandr' } })).not.toBe(native);
});

it('treats the two samplers as different makers', () => {
  const page = { engine: 'llama.cpp' as const, precision: 'Q4_1', sampler: 'expandr' };
  const runner = { engine: 'llama.cpp' as const, precision: 'Q4_1' };
  expect(sameEngine(page, runner)).toBe(false);
  expect(sameEngine(runner, { ...runner })).toBe(true);
  expect(provenanceText(page)).toBe('llama.cpp Q4_1 (expandr sampler)');
  const row = (generation: object) => ({ setting: 'x', 'ndcg@10': 0, 'recall@100': 0, 'mrr@10': 0, 'map@100': 0, scoring: 'cosine', generation }) as never;
  const c = comparability(row(page), row(runner));
  expect(c.comparable).toBe(false);
  expect(c.reasons?.join(' ')).toContain('llama.cpp Q4_1 (expandr sampler) vs llama.cpp Q4_1');
});

it('keys a runtime LoRA (texts of a merged tuned GGUF are never served for it) and still compares it with the base', () => {
  const merged = generationKey({ ...parts, generator: 'SmolLM2+lora:abc', provenance: { engine: 'llama.cpp', precision: 'Q4_1' } });
  const runtime = generationKey({ ...parts, generator: 'SmolLM2+lora:abc', provenance: { engine: 'llama.cpp', precision: 'Q4_1', lora: 'runtime' } });
  expect(runtime).not.toBe(merged);
  const base = { engine: 'llama.cpp' as const, precision: 'Q4_1' };
  const tuned = { ...base, lora: 'runtime' as const };
  expect(sameEngine(base, tuned)).toBe(true); // same engine, same quantized weights: the adapter is what differs
  const row = (generation: object) => ({ setting: 'x', 'ndcg@10': 0, 'recall@100': 0, 'mrr@10': 0, 'map@100': 0, scoring: 'cosine', generation }) as never;
  expect(comparability(row(base), row(tuned)).comparable).toBe(true);
});

it('serves a runtime-LoRA generator none of the texts its merged-GGUF namesake cached', async () => {
  const cache = new MemoryGenerationCache();
  const job = { kind: 'q2d' as const, prompt: 'p', sampling: S, sample: 0, qid: 'q1' };
  const calls: string[] = [];
  const gen = (lora: boolean): TextGenerator => ({
    id: 'SmolLM2+lora:abc',
    provenance: { engine: 'llama.cpp', precision: 'Q4_1', model: 'SmolLM2+lora:abc', ...(lora ? { lora: 'runtime' as const } : {}) },
    generate: async (ps) => ps.map(() => (calls.push(lora ? 'runtime' : 'merged'), lora ? 'runtime text' : 'merged text')),
  });
  expect((await generateCached(gen(false), [job], cache)).texts).toEqual(['merged text']);
  expect((await generateCached(gen(true), [job], cache)).texts).toEqual(['runtime text']);
  expect((await generateCached(gen(true), [job], cache)).texts).toEqual(['runtime text']); // now cached
  expect(calls).toEqual(['merged', 'runtime']);
});
