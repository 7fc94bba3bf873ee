// Several seeds (src/pipeline/seeds.ts): mean and sample sd as Python's statistics.stdev computes them,
// per-query means for the paired test, stage names that carry the seed.
import { describe, expect, it } from 'vitest';
import { combineSeeds, meanSd, meanSdText, seededName, seedsLegend, type SeedEvalLike } from '../../src/pipeline/seeds.ts';

/** float64 sums of three numbers against Python's exact-rational statistics module. */
const TOL = 1e-15;

describe('seeds', () => {
  it('mean and sample sd equal Python statistics.mean / statistics.stdev', () => {
    // python3 -c "import statistics as s; print(s.mean([0.7,0.72,0.69]), s.stdev([0.7,0.72,0.69]), s.stdev([1,2,3,4]))"
    const a = meanSd([0.7, 0.72, 0.69]);
    expect(Math.abs(a.mean - 0.7033333333333333)).toBeLessThanOrEqual(TOL);
    expect(Math.abs(a.sd - 0.01527525231651948)).toBeLessThanOrEqual(TOL);
    expect(Math.abs(meanSd([1, 2, 3, 4]).sd - 1.2909944487358056)).toBeLessThanOrEqual(TOL);
    expect(meanSd([0.5])).toEqual({ mean: 0.5, sd: 0 });
  });

  it('combines one evaluation per seed: metric means, per-query means, per-seed values', () => {
    const ev = (ndcg: number, q1: number, q2: number) => ({ setting: 'FT', metrics: { 'ndcg@10': ndcg, 'recall@100': 1 }, perQuery: { q1: { 'ndcg@10': q1 }, q2: { 'ndcg@10': q2 } }, extra: ndcg });
    const c = combineSeeds([
      { seed: 1, eval: ev(0.7, 0.6, 0.8) },
      { seed: 2, eval: ev(0.72, 0.64, 0.8) },
      { seed: 3, eval: ev(0.69, 0.5, 0.88) },
    ]);
    expect(c.seedStats!.seeds).toEqual([1, 2, 3]);
    expect(c.metrics['ndcg@10']).toBeCloseTo(0.7033333333333333, 15);
    expect(c.seedStats!.sd['ndcg@10']).toBeCloseTo(0.01527525231651948, 15);
    expect(c.seedStats!.sd['recall@100']).toBe(0);
    expect(c.seedStats!.perSeed['ndcg@10']).toEqual([0.7, 0.72, 0.69]);
    expect(c.perQuery.q1['ndcg@10']).toBeCloseTo(0.58, 15);
    expect(c.perQuery.q2['ndcg@10']).toBeCloseTo(0.8266666666666667, 15);
    expect(c.extra).toBe(0.7); // the first seed's other fields
    const one = ev(0.7, 0.6, 0.8);
    expect(combineSeeds([{ seed: 1, eval: one }])).toBe(one);
  });

  it('refuses seeds evaluated on different queries', () => {
    const a: SeedEvalLike = { metrics: { m: 1 }, perQuery: { q1: { m: 1 } } };
    const b: SeedEvalLike = { metrics: { m: 1 }, perQuery: { q2: { m: 1 } } };
    expect(() => combineSeeds([{ seed: 1, eval: a }, { seed: 2, eval: b }])).toThrow(/seed 2 was evaluated on other queries/);
  });

  it('names: the config seed keeps the old name, others carry @seedS', () => {
    expect(seededName('FT', 42, 42)).toBe('FT');
    expect(seededName('round-1', 7, 42)).toBe('round-1@seed7');
  });

  it('formats mean ± sd and a legend only for seeded rows', () => {
    expect(meanSdText(0.70333, 0.01528)).toBe('0.7033 ± 0.0153');
    expect(meanSdText(0.5, undefined)).toBe('0.5000');
    expect(seedsLegend([{ setting: 'Raw' }])).toBe('');
    expect(seedsLegend([{ setting: 'Raw' }, { setting: 'FT', seeds: [1, 2] }])).toMatch(/^± : mean ± sample standard deviation \(n − 1\) over seeds 1, 2 for FT;/);
  });
});

describe('seeded evaluation stages', () => {
  it('carry the seed in their name and read it back; the config seed keeps the old name', async () => {
    const { parseStageName, stageName } = await import('../../src/pipeline/stages.ts');
    expect(stageName({ kind: 'eval', setting: 'FT' })).toBe('eval:FT');
    const id = { kind: 'eval', setting: 'w/o self-reward', seed: 7 } as const;
    expect(stageName(id)).toBe('eval:w/o self-reward@seed7');
    expect(parseStageName('eval:w/o self-reward@seed7')).toEqual(id);
    expect(parseStageName('devEval:FT@seed3')).toEqual({ kind: 'devEval', setting: 'FT', seed: 3 });
    expect(parseStageName('eval:FT')).toEqual({ kind: 'eval', setting: 'FT' });
  });
});

describe('combineBySetting', () => {
  it('combines each setting over the seeds, in the first run order', async () => {
    const { combineBySetting } = await import('../../src/pipeline/seeds.ts');
    const ev = (setting: string, x: number) => ({ setting, metrics: { m: x }, perQuery: { q: { m: x } } });
    const out = combineBySetting([
      { seed: 1, evals: [ev('FT', 0.5), ev('ExpandR', 0.7)] },
      { seed: 2, evals: [ev('ExpandR', 0.9), ev('FT', 0.7)] },
    ]);
    expect(out.map((e) => [e.setting, e.metrics.m, e.seedStats!.perSeed.m])).toEqual([
      ['FT', 0.6, [0.5, 0.7]],
      ['ExpandR', 0.8, [0.7, 0.9]],
    ]);
    // A setting outside seededSettings ran with the first seed only: it is that seed's evaluation, unchanged.
    const [alone] = combineBySetting([{ seed: 1, evals: [ev('FT', 1)] }, { seed: 2, evals: [] }]);
    expect([alone.setting, alone.metrics.m, alone.seedStats]).toEqual(['FT', 1, undefined]);
  });
});

describe('combineStoredEvals', () => {
  it('reads seeded stages back as the loop reports them: one row per setting, seeds in config order', async () => {
    const { combineStoredEvals } = await import('../../src/pipeline/seeds.ts');
    const ev = (setting: string, x: number) => ({ setting, metrics: { m: x }, perQuery: { q: { m: x } } });
    const out = combineStoredEvals([{ eval: ev('Raw', 0.1) }, { seed: 8, eval: ev('FT', 0.9) }, { eval: ev('FT', 0.5) }], 42, [42, 8]);
    expect(out.map((e) => [e.setting, e.metrics.m, e.seedStats?.seeds])).toEqual([
      ['Raw', 0.1, undefined],
      ['FT', 0.7, [42, 8]],
    ]);
  });
});
