// The experiment estimate (src/pipeline/estimate.ts): the work a config implies, counted as the loop does
// it, divided by measured rates; rates interpolated by model size.
import { describe, expect, it } from 'vitest';
import { experimentConfig } from '../../src/pipeline/config.ts';
import { estimateExperiment, QUERY_TOKENS, rateAt, type EstimateInput, type Rates } from '../../src/pipeline/estimate.ts';
import { WASM_RATES } from '../../src/pipeline/estimate-rates.ts';

/** Round rates so the expected seconds are easy to check by hand. */
const RATES: Rates = {
  backend: 'test',
  source: 'round numbers',
  generate: [{ model: 'g', params: 1000, tokensPerSecond: 100 }],
  encode: [{ model: 'e', params: 1000, tokensPerSecond: 1000 }],
  trainEncoder: [{ model: 'e', params: 1000, tokensPerSecond: 500 }],
  dpo: [{ model: 'g', params: 1000, tokensPerSecond: 50 }],
};

const input = (over: Record<string, unknown>, llm = true): EstimateInput => ({
  config: experimentConfig(over),
  data: { docs: 100, testQueries: 10, trainQueries: 50, docTokens: 40 },
  encoder: { params: 1000, dim: 8, maxLength: 32, layers: 2 },
  llm: llm ? { params: 1000, dim: 16, layers: 2, vocab: 100, weightBytes: 4000 } : null,
});

describe('rateAt', () => {
  const points = [
    { model: 'small', params: 1e3, tokensPerSecond: 1000 },
    { model: 'big', params: 1e5, tokensPerSecond: 10 },
  ];
  it('returns the measured rate at a measured size and interpolates log-log between', () => {
    expect(rateAt(points, 1e3)).toBe(1000);
    expect(rateAt(points, 1e5)).toBeCloseTo(10, 9);
    expect(rateAt(points, 1e4)).toBeCloseTo(100, 9); // halfway in log params: halfway in log rate
  });
  it('holds tokens × params constant outside the measured sizes', () => {
    expect(rateAt(points, 1e6)).toBeCloseTo(1, 9);
    expect(rateAt(points, 500)).toBeCloseTo(2000, 9);
    expect(() => rateAt([], 1)).toThrow(/no measured rate/);
  });
});

describe('estimateExperiment', () => {
  it('counts the work of a small config as the loop does it', () => {
    // 50 train queries: dev 0.2 → 10, 40 left, 8 used; 10 test queries, dev queries 4.
    const cfg = { trainQueries: 8, dev: { queries: 4 }, expansion: { maxTokens: 10 }, answer: { maxTokens: 5 }, candidates: { temperatures: [0.8, 1.1], perTemperature: 2, maxTokens: 10 }, retriever: { steps: 3, batchSize: 4 }, dpo: { steps: 2, batchSize: 2, accumulation: 1, maxLength: 30, maxPromptLength: 16 } };
    const e = estimateExperiment(input(cfg), RATES);
    expect(e.counts).toMatchObject({ testQueries: 10, devQueries: 4, trainQueries: 8, encoders: 3, retrieverSteps: 6, dpoSteps: 8 });
    // Generations: LLM_0 expands test + dev + train (14 + 8), 8 × 4 candidates, 8 answers, 4 tuned LLMs × 14.
    expect(e.counts.generations).toBe(22 + 32 + 8 + 56);
    const gen = e.stages.find((s) => s.stage === 'generate')!;
    const generated = 22 * 10 + 32 * 10 + 8 * 5 + 56 * 10;
    expect(gen.tokens).toBe(generated);
    expect(gen.seconds).toBeCloseTo(gen.tokens / 100, 9);
    const dpo = e.stages.find((s) => s.stage === 'DPO')!;
    expect(dpo.tokens).toBe(8 * 2 * 2 * 26); // steps × pairs × 2 rows × min(30, 16 + 10)
    const train = e.stages.find((s) => s.stage === 'train retriever')!;
    expect(train.tokens).toBe(2 * 3 * 4 * (30 + 32)); // 2 runs × 3 steps × 4 × (query+expansion 30, doc min(32, 40))
    expect(e.seconds).toBeCloseTo(e.stages.reduce((a, s) => a + s.tokens / { generate: 100, encode: 1000, 'train retriever': 500, DPO: 50 }[s.stage], 0), 6);
  });

  it('counts seeded rows per seed, the others once, and the base candidates once for all seeds', () => {
    const cfg = { trainQueries: 8, dev: { queries: 4 }, expansion: { maxTokens: 10 }, answer: { maxTokens: 5 }, candidates: { temperatures: [0.8, 1.1], perTemperature: 2, maxTokens: 10, queries: 6 }, retriever: { steps: 3, batchSize: 4 }, dpo: { steps: 2, batchSize: 2, accumulation: 1, maxLength: 30, maxPromptLength: 16 } };
    const e = estimateExperiment(input({ ...cfg, seeds: [1, 2, 3], seededSettings: ['FT', 'ExpandR'], rounds: 2 }), RATES);
    // Retrievers: FT × 3, two rounds × 3 seeds; DPO: 2 rounds × 3 seeds + 3 ablations with the first seed.
    expect(e.counts).toMatchObject({ encoders: 1 + 3 + 6, retrieverSteps: 9 * 3, dpoSteps: (6 + 3) * 2 });
    // Generations: LLM_0 test + dev + train (14 + 8); candidates of LLM_0 once and of LLM_1 per seed (1 + 3) × 6 × 4
    // and their answers; test + dev of ExpandR after each round per seed (6) and of the 3 ablations' LLMs; LLM_1's train expansions per seed.
    expect(e.counts.generations).toBe(22 + 4 * 6 * 4 + 4 * 6 + (6 + 3) * 14 + 3 * 8);
    // Every row seeded: the ablations run per seed too.
    const all = estimateExperiment(input({ ...cfg, seeds: [1, 2, 3], rounds: 2 }), RATES);
    expect(all.counts.dpoSteps).toBe((6 + 9) * 2);
  });

  it("counts each variant's candidates, answers, dev expansions and DPO, and no retriever", () => {
    const cfg = { trainQueries: 8, dev: { queries: 4 }, expansion: { maxTokens: 10 }, answer: { maxTokens: 5 }, candidates: { temperatures: [0.8, 1.1], perTemperature: 2, maxTokens: 10, queries: 6 }, retriever: { steps: 3, batchSize: 4 }, dpo: { epochs: 1, batchSize: 2, accumulation: 1, maxLength: 30, maxPromptLength: 16 } };
    const plain = estimateExperiment(input(cfg), RATES);
    const variants = [
      { name: 'more candidates', why: 'w', candidates: { perTemperature: 4 } },
      { name: 'two epochs', why: 'w', dpo: { epochs: 2 } },
    ];
    const e = estimateExperiment(input({ ...cfg, variants }), RATES);
    // More candidates: 6 queries × 2 × 4 candidates, 6 answers, 4 dev expansions; two epochs (DPO alone: round 1's
    // pairs, nothing sampled or scored again): its 4 dev expansions.
    expect(e.counts.generations - plain.counts.generations).toBe(6 * 8 + 6 + 4 + 4);
    const epochsOnly = estimateExperiment(input({ ...cfg, variants: [variants[1]] }), RATES);
    const enc = (x: typeof e) => x.stages.find((s) => s.stage === 'encode')!.tokens;
    const queryTok = Math.min(32, QUERY_TOKENS + 10); // the input's encoder.maxLength, expansion.maxTokens
    expect(enc(epochsOnly) - enc(plain)).toBe(4 * queryTok); // the dev queries with the variant's expansions, no reward pass
    // DPO: 1 epoch of 6 pairs in batches of 2 → 3 steps, then 2 epochs → 6.
    expect(e.counts.dpoSteps - plain.counts.dpoSteps).toBe(3 + 6);
    expect(e.counts.retrieverSteps).toBe(plain.counts.retrieverSteps);
    expect(e.counts.encoders).toBe(plain.counts.encoders);
  });

  it("counts a seeded Raw+expansion's own expansions and evaluation for every later seed", () => {
    const cfg = { trainQueries: 8, dev: { queries: 4 }, expansion: { maxTokens: 10 }, settings: ['Raw', 'Raw+expansion'], seeds: [1, 2, 3] };
    const once = estimateExperiment(input(cfg), RATES);
    const seeded = estimateExperiment(input({ ...cfg, seededSettings: ['Raw+expansion'] }), RATES);
    // 10 test + 4 dev queries: the base LLM's expansions once, then again for seeds 2 and 3.
    expect(once.counts.generations).toBe(14);
    expect(seeded.counts.generations).toBe(14 * 3);
    const enc = (e: typeof once) => e.stages.find((s) => s.stage === 'encode')!.tokens;
    expect(enc(seeded)).toBeGreaterThan(enc(once));
  });

  it('runs no LLM stage without an LLM, and only what the chosen rows need', () => {
    const noLlm = estimateExperiment(input({ settings: ['BM25', 'Raw', 'FT'] }, false), RATES);
    expect(noLlm.stages.map((s) => s.stage)).toEqual(['encode', 'train retriever']);
    expect(noLlm.counts.encoders).toBe(2);
    const bm25 = estimateExperiment(input({ settings: ['BM25'] }, false), RATES);
    expect(bm25.stages).toEqual([]);
    expect(bm25.seconds).toBe(0);
  });

  it('grows with seeds and rounds, and the paper recipe costs far more than a quick look', () => {
    const quick = { trainQueries: 8, testQueries: 5, retriever: { steps: 2 }, dpo: { steps: 2 } };
    const one = estimateExperiment(input(quick), RATES).seconds;
    const seeds = estimateExperiment(input({ ...quick, seeds: [1, 2, 3] }), RATES).seconds;
    const rounds = estimateExperiment(input({ ...quick, rounds: 3 }), RATES).seconds;
    expect(seeds).toBeGreaterThan(2 * one);
    expect(rounds).toBeGreaterThan(one);
    expect(estimateExperiment(input({}), RATES).seconds).toBeGreaterThan(2 * one); // all 40 train queries, 256-token generations, 32 candidates
  });

  it('gives the peak memory of the largest phase', () => {
    const e = estimateExperiment(input({ trainQueries: 8 }), RATES);
    expect(e.memoryBytes).toBeGreaterThan(4000);
    expect(['generation', 'DPO', 'retriever training', 'encoding']).toContain(e.memoryPhase);
    const withoutLlm = estimateExperiment(input({ settings: ['Raw'] }, false), RATES);
    expect(withoutLlm.memoryPhase).toBe('encoding');
    expect(withoutLlm.memoryBytes).toBe(1000 * 4 + 2 * 100 * 8 * 4);
  });

  it("divides generation by the config's engine's rate where one is measured, and says where it comes from", () => {
    const rates: Rates = { ...RATES, generateByEngine: { 'llama.cpp': [{ model: 'g', params: 1000, tokensPerSecond: 25, source: 'a llama.cpp run' }] } };
    const cfg = { trainQueries: 8, dev: { queries: 4 }, expansion: { maxTokens: 10 }, retriever: { steps: 3, batchSize: 4 }, dpo: { steps: 2 } };
    const tfjs = estimateExperiment(input({ ...cfg, llm: { model: 'm', engine: 'tfjs' } }), rates).stages.find((s) => s.stage === 'generate')!;
    const cpp = estimateExperiment(input({ ...cfg, llm: { model: 'm.gguf', engine: 'llama.cpp' } }), rates).stages.find((s) => s.stage === 'generate')!;
    expect(cpp.tokens).toBe(tfjs.tokens);
    expect(tfjs.seconds).toBeCloseTo(tfjs.tokens / 100, 9);
    expect(tfjs.rateSource).toBeUndefined();
    expect(cpp.seconds).toBeCloseTo(cpp.tokens / 25, 9);
    expect(cpp.rateSource).toBe('a llama.cpp run');
    expect(cpp.what).toMatch(/\(llama\.cpp\)$/);
    // Without a llama.cpp rate in the table, the tfjs decoder's is used.
    expect(estimateExperiment(input({ ...cfg, llm: { model: 'm.gguf', engine: 'llama.cpp' } }), RATES).stages.find((s) => s.stage === 'generate')!.seconds).toBeCloseTo(tfjs.seconds, 9);
    // The page's table has wllama's measured rate for llama.cpp.
    expect(WASM_RATES.generateByEngine?.['llama.cpp']?.[0].source).toMatch(/wllama/);
  });

  it('has measured wasm rates for every kind of work, slower for larger models', () => {
    for (const k of ['generate', 'encode', 'trainEncoder', 'dpo'] as const) {
      const pts = WASM_RATES[k];
      expect(pts.length).toBeGreaterThanOrEqual(2);
      expect(pts[pts.length - 1].tokensPerSecond).toBeLessThan(pts[0].tokensPerSecond);
    }
  });
});
