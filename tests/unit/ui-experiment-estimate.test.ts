// The page's estimate inputs (src/ui/experiment-estimate.ts): what is missing is said, a refused config
// gives no estimate, no LLM means only BM25 / Raw / FT, and the encoder size guess follows its width.
import { describe, expect, it } from 'vitest';
import type { EncoderSummary, LlmSummary } from '../../src/app/session-types.ts';
import type { DatasetInfo } from '../../src/store/types.ts';
import { encoderShapeGuess, pageEstimate } from '../../src/ui/experiment-estimate.ts';

const DATASET = { id: 'd', name: 'scifact', counts: { docs: 5183, queries: 1109, qrelLines: 1258 }, splits: { test: { queries: 300, qrels: 339 }, train: { queries: 809, qrels: 919 } } } as unknown as DatasetInfo;
const ENCODER = { handle: 'e', name: 'all-MiniLM-L6-v2', dim: 384, settings: { maxLength: 256 } } as unknown as EncoderSummary;
const LLM = { handle: 'l', name: 'SmolLM2', engine: 'tfjs', arch: 'llama', layers: 30, dim: 576, vocab: 49152, params: 134_515_008, chat: true, maxSeqLen: 8192 } as LlmSummary;

describe('pageEstimate', () => {
  it('says what is missing', () => {
    expect(pageEstimate({ overrides: {}, dataset: undefined, encoder: ENCODER, llm: LLM })).toEqual({ missing: expect.stringMatching(/dataset/) });
    expect(pageEstimate({ overrides: {}, dataset: DATASET, encoder: undefined, llm: LLM })).toEqual({ missing: expect.stringMatching(/encoder/) });
    expect(pageEstimate({ overrides: { dpo: { beta: -1 } }, dataset: DATASET, encoder: ENCODER, llm: LLM })).toEqual({ missing: expect.stringMatching(/dpo\.beta/) });
  });

  it('estimates the quick look in minutes and the paper recipe in days on the wasm rates', () => {
    const quick = pageEstimate({ overrides: { trainQueries: 8, testQueries: 30, dev: { queries: 10 }, expansion: { maxTokens: 24 }, answer: { maxTokens: 24 }, candidates: { temperatures: [0.8, 1.1], perTemperature: 2, maxTokens: 24 }, retriever: { steps: 4, batchSize: 4 }, dpo: { steps: 2, accumulation: 1 } }, dataset: DATASET, encoder: ENCODER, llm: LLM });
    const paper = pageEstimate({ overrides: {}, dataset: DATASET, encoder: ENCODER, llm: LLM });
    if (!('estimate' in quick) || !('estimate' in paper)) throw new Error('no estimate');
    expect(quick.estimate.counts).toMatchObject({ testQueries: 30, devQueries: 10, trainQueries: 8 });
    expect(paper.estimate.counts).toMatchObject({ testQueries: 300, devQueries: 162, trainQueries: 647 });
    expect(paper.estimate.seconds).toBeGreaterThan(24 * 3600);
    expect(quick.estimate.seconds).toBeLessThan(paper.estimate.seconds / 100);
  });

  it('runs only BM25, Raw and FT without an LLM', () => {
    const r = pageEstimate({ overrides: {}, dataset: DATASET, encoder: ENCODER, llm: undefined });
    if (!('estimate' in r)) throw new Error(r.missing);
    expect(r.estimate.stages.map((s) => s.stage)).toEqual(['encode', 'train retriever']);
  });

  it('guesses a BERT encoder’s size from its width', () => {
    expect(encoderShapeGuess(384)).toEqual({ params: 30522 * 384 + 6 * 12 * 384 * 384, layers: 6 }); // MiniLM-L6: 22.7 M
    expect(encoderShapeGuess(768).layers).toBe(12);
    expect(encoderShapeGuess(32).layers).toBe(2);
  });
});
