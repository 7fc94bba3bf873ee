// Results with several seeds: a trained row's values are the means over its seeds, with sd and per-seed
// values in results.json, mean ± sd in results.md, and its paired tests run on each query's mean over the
// seeds. results.md ends with the defaults that differ from the paper (config-notes.ts).
import { describe, expect, it } from 'vitest';
import { buildResults, resultsJson, resultsMarkdown, type SettingEval } from '../../src/pipeline/results.ts';
import { combineSeeds } from '../../src/pipeline/seeds.ts';
import { experimentConfig } from '../../src/pipeline/config.ts';
import { pairByQuery, pairedPermutationTest } from '../../src/eval/significance.ts';

const QUERIES = 12;
const evalOf = (setting: SettingEval['setting'], f: (i: number) => number): SettingEval => {
  const perQuery = Object.fromEntries(Array.from({ length: QUERIES }, (_, i) => [`q${i}`, { 'ndcg@10': f(i), 'recall@100': f(i), 'mrr@10': f(i), 'map@100': f(i) }]));
  const mean = Array.from({ length: QUERIES }, (_, i) => f(i)).reduce((s, x) => s + x, 0) / QUERIES;
  return { setting, metrics: { 'ndcg@10': mean, 'recall@100': mean, 'mrr@10': mean, 'map@100': mean }, perQuery };
};

describe('results with several seeds', () => {
  const base = (i: number) => 0.3 + (i % 3) / 5;
  const raw = evalOf('Raw', base);
  const seeds = [1, 2, 3];
  // Each seed lowers a third of the queries by 0.1 and raises the rest; over the three seeds every query gains 0.1/3 + 0.02.
  const ftSeed = (seed: number) => evalOf('FT', (i) => base(i) + 0.01 * seed + ((i + seed) % 3 === 0 ? -0.1 : 0.1));
  const ft = combineSeeds(seeds.map((seed) => ({ seed, eval: ftSeed(seed) })));
  const results = buildResults('toy', 'test', [raw, ft], { rounds: 2000, seed: 5 });
  const row = results.rows.find((r) => r.setting === 'FT')!;

  it('rows carry seeds, mean, sd and per-seed values; the row value is the mean', () => {
    expect(row.seeds).toEqual(seeds);
    expect(row['ndcg@10']).toBe(row.mean!['ndcg@10']);
    expect(row.perSeed!['ndcg@10']).toHaveLength(3);
    expect(row.sd!['ndcg@10']).toBeGreaterThan(0);
    expect(results.rows.find((r) => r.setting === 'Raw')!.seeds).toBeUndefined();
    expect(resultsJson(results).rows.find((r) => r.setting === 'FT')!.sd).toEqual(row.sd);
  });

  it('the paired test reads each query mean over the seeds', () => {
    const paired = pairByQuery(new Map(Object.entries(ft.perQuery)), new Map(Object.entries(raw.perQuery)), 'ndcg@10');
    const want = pairedPermutationTest(paired.a, paired.b, { rounds: 2000, seed: 5 });
    expect(row.pValues!.Raw!['ndcg@10']).toBe(want.pValue);
    // Against the first seed alone the test gives another p-value: the mean is what was tested.
    const first = ftSeed(1);
    const one = pairByQuery(new Map(Object.entries(first.perQuery)), new Map(Object.entries(raw.perQuery)), 'ndcg@10');
    expect(pairedPermutationTest(one.a, one.b, { rounds: 2000, seed: 5 }).pValue).not.toBe(want.pValue);
  });

  it('markdown prints mean ± sd, the legend, and the defaults section when given the config', () => {
    const md = resultsMarkdown(results, { config: experimentConfig({ seeds }) });
    expect(md).toMatch(new RegExp(`\\| FT[^|]* \\| ${row['ndcg@10'].toFixed(4)} ± ${row.sd!['ndcg@10'].toFixed(4)}`));
    expect(md).toMatch(/± : mean ± sample standard deviation \(n − 1\) over seeds 1, 2, 3 for FT/);
    expect(md).toContain('## Defaults that differ from the paper or the reference code');
    expect(resultsMarkdown(results)).not.toContain('## Defaults');
  });
});
