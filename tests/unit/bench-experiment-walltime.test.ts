// bench/experiment-walltime: a finished run stage's estimate counts the same work as the whole-experiment
// estimate (estimate.ts), run stages group into the estimate's stages, and a run directory's stage times
// are read from timings.json, else run-state.json.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { beforeConfig, estimateStageOf, estimateWith, stageSeconds, type DatasetCounts } from '../../bench/experiment-walltime-estimate.ts';
import { readRunStages } from '../../bench/experiment-walltime-run.ts';
import { experimentConfig } from '../../src/pipeline/config.ts';
import type { Rates } from '../../src/pipeline/estimate.ts';

const point = (tokensPerSecond: number, params: number) => [{ model: 'm', params, tokensPerSecond }];
const RATES: Rates = { backend: 't', source: 't', generate: point(40, 134_515_008), encode: point(400, 22_565_376), trainEncoder: point(150, 22_565_376), dpo: point(7, 134_515_008) };
const DATA: DatasetCounts = { docs: 5183, testQueries: 300, trainQueries: 809, docTokens: 281 };
const REL = 1e-9;

describe('experiment wall time: stage estimates', () => {
  it('one FT run: the retriever stage is the whole estimate’s "train retriever"', () => {
    const c = experimentConfig({ settings: ['Raw', 'FT'], seeds: [42], retriever: { maxLength: 128, hardNegatives: true } });
    const whole = estimateWith(c, DATA, RATES).stages.find((s) => s.stage === 'train retriever')!;
    expect(stageSeconds('retriever:FT', c, DATA, RATES)).toBeCloseTo(whole.seconds, 6);
    // Before: the same config with training texts at the encoder's length costs more.
    expect(stageSeconds('retriever:FT', beforeConfig(c), DATA, RATES)! / whole.seconds).toBeGreaterThan(1 + REL);
  });

  it('one DPO run: the dpo stage is the whole estimate’s "DPO"', () => {
    const c = experimentConfig({ settings: ['w/o retriever training'], seeds: [42], rounds: 1, candidates: { queries: 160 } });
    const whole = estimateWith(c, DATA, RATES).stages.find((s) => s.stage === 'DPO')!;
    expect(stageSeconds('dpo:w-o-retriever-training', c, DATA, RATES)).toBeCloseTo(whole.seconds, 6);
  });

  it('groups run stages as the estimate does; BM25 and unknown names are not estimated', () => {
    expect(estimateStageOf('expansions:base:test')).toBe('generate');
    expect(estimateStageOf('candidates:base')).toBe('generate');
    expect(estimateStageOf('eval:Raw+expansion')).toBe('encode');
    expect(estimateStageOf('devEval:Raw')).toBe('encode');
    expect(estimateStageOf('retriever:FT')).toBe('train retriever');
    expect(estimateStageOf('eval:BM25')).toBeNull();
    expect(estimateStageOf('nonsense')).toBeNull();
    expect(stageSeconds('eval:BM25', experimentConfig(), DATA, RATES)).toBeNull();
  });

  it('expansions of the test queries: queries × maxTokens / the generation rate', () => {
    const c = experimentConfig({ expansion: { maxTokens: 128 } });
    expect(stageSeconds('expansions:base:test', c, DATA, RATES)).toBeCloseTo((300 * 128) / 40, 6);
  });
});

describe('experiment wall time: a run directory', () => {
  it('reads run-state.json’s per-stage ms, and timings.json first when there is one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'walltime-'));
    writeFileSync(join(dir, 'run-state.json'), JSON.stringify({ stages: { 'eval:Raw': { ms: 1200 }, 'expansions:base:test': { ms: 50 }, 'eval:FT': { output: {} } } }));
    expect(readRunStages(dir).stages).toEqual([['eval:Raw', 1200], ['expansions:base:test', 50]]);
    expect(readRunStages(dir).config).toBeNull();
    writeFileSync(join(dir, 'timings.json'), JSON.stringify({ totalMs: 9, stages: { 'eval:Raw': 7 } }));
    expect(readRunStages(dir).stages).toEqual([['eval:Raw', 7]]);
  });

  it('a directory without either file is an error that says what to give', () => {
    expect(() => readRunStages(mkdtempSync(join(tmpdir(), 'walltime-')))).toThrow(/neither timings\.json nor run-state\.json/);
  });
});
