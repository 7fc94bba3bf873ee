// Watching a run: the smoothed rate and time left (src/util/rate.ts), the live curves gathered from
// streamed points (src/ui/live-curves.ts), curve points renamed per stage (withSeries), and the stored
// log of stages with their key figures (src/pipeline/stage-log.ts).
import { describe, expect, it } from 'vitest';
import { formatEta, formatRate, MIN_RATE_SAMPLES, RATE_TIME_CONSTANT_S, RateMeter } from '../../src/util/rate.ts';
import { numericValues, withSeries, type MetricPoint, type Progress } from '../../src/util/progress.ts';
import { addLivePoint, LIVE_POINTS_KEEP, LIVE_POINTS_MAX, latestFigures, type LiveCurve } from '../../src/ui/live-curves.ts';
import { stageFigure, stageLog, withEarlierWork } from '../../src/pipeline/stage-log.ts';
import { RUN_STATE_FORMAT, RUN_STATE_VERSION, type RunState } from '../../src/pipeline/run-state.ts';
import { sendRewardPoints } from '../../src/pipeline/loop.ts';
import type { PreferenceRecord } from '../../src/pipeline/types.ts';

/** Relative tolerance of rates computed in floating point. */
const RATE_TOL = 1e-9;
const prog = (done: number, total = 100, stage = 's', counter?: number): Progress => ({ stage, done, total, unit: 'prompts', ...(counter === undefined ? {} : { counter: { done: counter, unit: 'tokens' } }) });

describe('RateMeter', () => {
  it('gives no time left from the first measured rate, then the smoothed rate', () => {
    const m = new RateMeter();
    expect(m.update(prog(0), 0)).toMatchObject({ rate: null, secondsLeft: null });
    // 10 units in 10 s: the first rate (1/s), but no time left from it alone.
    const first = m.update(prog(10), 10_000);
    expect(first.rate).toBeCloseTo(1, 9);
    expect(first.secondsLeft).toBeNull();
    expect(MIN_RATE_SAMPLES).toBe(2);
    // Then 30 units in 10 s (3/s): the smoothed rate moves toward 3 by 1 - e^(-10/τ), not all the way.
    const alpha = 1 - Math.exp(-10 / RATE_TIME_CONSTANT_S);
    const second = m.update(prog(40), 20_000);
    const want = 1 + alpha * (3 - 1);
    expect(Math.abs(second.rate! - want) / want).toBeLessThan(RATE_TOL);
    expect(second.rate!).toBeGreaterThan(1);
    expect(second.rate!).toBeLessThan(3);
    expect(Math.abs(second.secondsLeft! - 60 / want) / (60 / want)).toBeLessThan(RATE_TOL);
  });

  it('ignores events that do not move the count, and starts afresh on a new stage', () => {
    const m = new RateMeter();
    m.update(prog(0), 0);
    m.update(prog(5), 5_000);
    // A text-only update (same count) neither changes the rate nor counts as a sample.
    const same = m.update(prog(5), 9_000);
    expect(same.rate).toBeCloseTo(1, 9);
    expect(same.secondsLeft).toBeNull();
    const other = m.update(prog(50, 100, 'another'), 10_000);
    expect(other).toMatchObject({ rate: null, secondsLeft: null });
  });

  it('measures the counter (tokens/s) beside the units, and gives no time left without a total', () => {
    const m = new RateMeter();
    m.update(prog(0, 0, 'gen', 0), 0);
    m.update(prog(1, 0, 'gen', 200), 2_000);
    const e = m.update(prog(2, 0, 'gen', 400), 4_000);
    expect(e.counterUnit).toBe('tokens');
    expect(e.counterRate).toBeCloseTo(100, 9);
    expect(e.secondsLeft).toBeNull();
  });

  it('formats the time left and the rate as a person reads them', () => {
    expect(formatEta(0.2)).toBe('about 1 s left');
    expect(formatEta(42.1)).toBe('about 43 s left');
    expect(formatEta(7 * 60 + 10)).toBe('about 7 min left');
    expect(formatEta(2 * 3600 + 5 * 60)).toBe('about 2 h 05 min left');
    expect(formatRate(35.24, 'tokens')).toBe('35.2 tokens/s');
    expect(formatRate(0.456, 'steps')).toBe('0.46 steps/s');
    expect(formatRate(1234.5, 'docs')).toBe('1235 docs/s');
    expect(formatRate(0.01, 'steps')).toBe('0.60 steps/min');
  });
});

describe('live curves', () => {
  it('gathers points per series in columns, NaN where a point lacks a figure, lr and gradNorm left out', () => {
    const curves: LiveCurve[] = [];
    addLivePoint(curves, { series: 'dpo:round-1', step: 1, values: { loss: 0.69, lr: 1e-5 } });
    addLivePoint(curves, { series: 'retriever:FT', step: 1, values: { loss: 2.1 } });
    addLivePoint(curves, { series: 'dpo:round-1', step: 2, values: { loss: 0.6, margin: 0.1, gradNorm: 3 } });
    expect(curves.map((c) => c.series)).toEqual(['dpo:round-1', 'retriever:FT']);
    expect(curves[0].steps).toEqual([1, 2]);
    expect(curves[0].values).toEqual({ loss: [0.69, 0.6], margin: [NaN, 0.1] });
    expect(latestFigures(curves[0])).toBe('loss 0.6000 · margin 0.1000');
  });

  it('starts a curve again when a stage runs again from an earlier step, continues it on a resume, and keeps the last points', () => {
    const curves: LiveCurve[] = [];
    for (const step of [1, 2, 3]) addLivePoint(curves, { series: 'x', step, values: { loss: step } });
    addLivePoint(curves, { series: 'x', step: 5, values: { loss: 5 } }); // resumed after step 4's checkpoint
    expect(curves[0].steps).toEqual([1, 2, 3, 5]);
    addLivePoint(curves, { series: 'x', step: 1, values: { loss: 9 } });
    expect(curves[0]).toEqual({ series: 'x', steps: [1], values: { loss: [9] } });
    for (let s = 2; s <= LIVE_POINTS_MAX; s++) addLivePoint(curves, { series: 'x', step: s, values: { loss: s } });
    expect(curves[0].steps).toHaveLength(LIVE_POINTS_MAX);
    addLivePoint(curves, { series: 'x', step: LIVE_POINTS_MAX + 1, values: { loss: LIVE_POINTS_MAX + 1 } });
    expect(curves[0].steps).toHaveLength(LIVE_POINTS_KEEP);
    expect(curves[0].steps[0]).toBe(LIVE_POINTS_MAX + 2 - LIVE_POINTS_KEEP);
    expect(curves[0].values.loss[LIVE_POINTS_KEEP - 1]).toBe(LIVE_POINTS_MAX + 1);
    expect(curves[0].values.loss).toHaveLength(LIVE_POINTS_KEEP);
  });

  it('renames a trainer’s points to the stage’s series and keeps only finite numbers', () => {
    const got: MetricPoint[] = [];
    const work = withSeries({ onMetrics: (m: MetricPoint) => got.push(m) }, 'retriever:FT');
    work.onMetrics!({ series: 'train:retriever', step: 3, values: numericValues({ step: 3, loss: 1.5, lr: 2e-5, phase: 'supervised', gradNorm: NaN }) });
    expect(got).toEqual([{ series: 'retriever:FT', step: 3, values: { loss: 1.5, lr: 2e-5 } }]);
    const none = {};
    expect(withSeries(none, 'x')).toBe(none);
  });

  it('sends each pair’s chosen and rejected reward as a rewards curve (skipped queries left out)', () => {
    const cand = (reward: number) => ({ text: '', temperature: 1, retrieverReward: 0, selfReward: 0, reward, cosSum: 0, words: 1 });
    const rec = (chosen: number, rejected: number, rewards: number[]): PreferenceRecord => ({ qid: 'q', query: '', goldDocId: 'd', answer: '', candidates: rewards.map(cand), chosen, rejected });
    const got: MetricPoint[] = [];
    sendRewardPoints({ onMetrics: (m) => got.push(m) }, 'rewards:round-1', [rec(0, 1, [1.5, 0.5]), rec(-1, -1, []), rec(1, 0, [0.25, 2])]);
    expect(got).toEqual([
      { series: 'rewards:round-1', step: 1, values: { chosen: 1.5, rejected: 0.5, margin: 1 } },
      { series: 'rewards:round-1', step: 2, values: { chosen: 2, rejected: 0.25, margin: 1.75 } },
    ]);
  });
});

describe('stage log', () => {
  it('lists the finished stages in the order they finished, with start = end - duration and a key figure', () => {
    const state: RunState = {
      format: RUN_STATE_FORMAT,
      version: RUN_STATE_VERSION,
      configKey: 'k',
      stages: {
        'eval:BM25': { output: { setting: 'BM25', metrics: { 'ndcg@10': 0.66512 }, perQuery: {} }, finishedAt: '2026-01-01T10:00:05.000Z', ms: 5000 },
        'retriever:FT': { output: { finalLoss: 0.41234, steps: 100, curve: { stage: 'retriever:FT', kind: 'retriever', points: [] } }, finishedAt: '2026-01-01T10:02:00.000Z', ms: 60_000 },
        'expansions:base:test': { output: { q1: 'a', q2: 'b' }, finishedAt: '2026-01-01T10:01:00.000Z', ms: 55_000 },
      },
    };
    const log = stageLog(state);
    expect(log.map((e) => e.stage)).toEqual(['eval:BM25', 'expansions:base:test', 'retriever:FT']);
    expect(log[1]).toEqual({ stage: 'expansions:base:test', step: 'expand', startedAt: '2026-01-01T10:00:05.000Z', finishedAt: '2026-01-01T10:01:00.000Z', ms: 55_000, resumed: false, figure: '2 expansions' });
    expect(log.map((e) => e.figure)).toEqual(['nDCG@10 0.6651', '2 expansions', 'final loss 0.4123 (100 steps)']);
    expect(stageLog(undefined)).toEqual([]);
  });

  it('counts the time a stage ran before a cancel from its first start', () => {
    const t = (iso: string) => Date.parse(`2026-01-01T${iso}Z`);
    let earlier = withEarlierWork({}, 'retriever:FT', t('09:00:00'), t('09:00:30'));
    earlier = withEarlierWork(earlier, 'retriever:FT', t('09:05:00'), t('09:05:10'));
    expect(earlier).toEqual({ 'retriever:FT': { startedAt: '2026-01-01T09:00:00.000Z', ms: 40_000 } });
    const state: RunState = {
      format: RUN_STATE_FORMAT,
      version: RUN_STATE_VERSION,
      configKey: 'k',
      stages: { 'retriever:FT': { output: { finalLoss: 0.5, steps: 10, curve: { stage: 'retriever:FT', kind: 'retriever', points: [] } }, finishedAt: '2026-01-01T09:10:00.000Z', ms: 20_000 } },
    };
    expect(stageLog(state, earlier)).toEqual([
      { stage: 'retriever:FT', step: 'train', startedAt: '2026-01-01T09:00:00.000Z', finishedAt: '2026-01-01T09:10:00.000Z', ms: 60_000, resumed: true, figure: 'final loss 0.5000 (10 steps)' },
    ]);
  });

  it('says the key figure of every stage kind', () => {
    const curve = { stage: 'dpo:r', kind: 'dpo' as const, points: [{ step: 1, loss: 0.7 }, { step: 2, loss: 0.65 }] };
    expect(stageFigure('dpo:round-1', { pairs: 4, curve })).toBe('final loss 0.6500 (2 steps, 4 pairs)');
    expect(stageFigure('preferences:round-1', { records: [{}, {}, {}], pairs: [{}, {}] })).toBe('2 pairs from 3 queries');
    expect(stageFigure('candidates:base', [{ candidates: [1, 2] }, { candidates: [3] }])).toBe('3 candidates for 2 queries');
    expect(stageFigure('devEval:FT@seed7', { metrics: { 'ndcg@10': 0.5 } })).toBe('nDCG@10 0.5000');
    expect(stageFigure('unknown:x', {})).toBeNull();
  });
});
