// The interval plot (figure-svg.ts intervalsSvg) and the rows it draws from a results table
// (results-sections.ts intervalsAgainstFt, variantIntervals): one row per difference, its dot at the
// difference on a line from lo to hi, filled only when significant, and the zero line where 0 lies.
import { expect, it } from 'vitest';
import { intervalsSvg } from '../../src/util/figure-svg.ts';
import { intervalsAgainstFt, variantIntervals } from '../../src/pipeline/results-sections.ts';
import { buildResults, type SettingEval } from '../../src/pipeline/results.ts';
import { buildRoundRows } from '../../src/pipeline/results-rounds.ts';
import { buildVariantRows } from '../../src/pipeline/results-variants.ts';

const QUERIES = Array.from({ length: 20 }, (_, i) => `q${i}`);
/** Per-query values v + step·(i mod 4). */
const ev = (setting: string, v: number, step = 0.01): SettingEval => {
  const perQuery = Object.fromEntries(QUERIES.map((q, i) => [q, Object.fromEntries(['ndcg@10', 'recall@100', 'mrr@10', 'map@100'].map((m) => [m, v + step * (i % 4)]))]));
  const mean = v + (step * 1.5);
  return { setting, metrics: { 'ndcg@10': mean, 'recall@100': mean, 'mrr@10': mean, 'map@100': mean }, perQuery } as SettingEval;
};

it('draws each difference at its place between lo and hi, filled when significant, with the zero line', () => {
  const { svg, height } = intervalsSvg([
    { label: 'ExpandR', value: -0.05, lo: -0.07, hi: -0.03, significant: true },
    { label: 'Raw <plain>', value: 0.01, lo: -0.01, hi: 0.03, significant: false },
  ]);
  const circles = [...svg.matchAll(/<circle cx="([\d.]+)" cy="[\d.]+" r="4.5" fill="([^"]+)" stroke="([^"]+)"/g)];
  expect(circles).toHaveLength(2);
  expect(circles[0][2]).toBe(circles[0][3]); // filled in its own colour
  expect(circles[1][2]).toBe('#fff'); // hollow
  // x from -0.075 to +0.035 (the range and 5 % margins) over 300 px after a 190 px label column.
  const sx = (v: number) => Math.round((190 + ((v + 0.075) / 0.11) * 300) * 100) / 100;
  expect(Number(circles[0][1])).toBe(sx(-0.05));
  expect(Number(circles[1][1])).toBe(sx(0.01));
  expect(svg).toContain(`<line x1="${sx(0)}" y1="6" x2="${sx(0)}" y2="50" stroke="#6b6b70" stroke-dasharray="3 3"/>`);
  expect(svg).toContain(`<line x1="${sx(-0.07)}" y1="17" x2="${sx(-0.03)}" y2="17"`);
  expect(svg).toContain('Raw &lt;plain&gt;');
  expect(svg).not.toContain('<plain>');
  expect(height).toBe(2 * 22 + 30);
});

it("takes every row's difference from FT, ExpandR after each earlier round, and the variants against round 1", () => {
  const table = [ev('Raw', 0.5), ev('FT', 0.6), ev('ExpandR', 0.55, 0.02)];
  const results = buildResults('scifact', 'test', table);
  results.roundRows = buildRoundRows(table, [{ round: 1, test: ev('ExpandR', 0.5, 0.03) }]);
  const rows = intervalsAgainstFt(results);
  expect(rows.map((r) => r.label)).toEqual(['Raw', 'ExpandR', 'ExpandR after round 1']);
  const raw = rows[0];
  // Raw is 0.1 below FT on every query: the interval is the point itself, and 20 queries one way is significant.
  expect([raw.value, raw.lo, raw.hi].map((v) => Number(v.toFixed(12)))).toEqual([-0.1, -0.1, -0.1]);
  expect(raw.significant).toBe(true);
  for (const r of rows) expect(r.lo <= r.value && r.value <= r.hi).toBe(true);
  const variants = buildVariantRows([{ variant: { name: '2 DPO epochs', why: 'w' }, llm: 'v', seed: 42, dev: ev('ExpandR', 0.58) }], ev('ExpandR', 0.57));
  expect(variantIntervals(variants).map((r) => [r.label, Number(r.value.toFixed(12))])).toEqual([['2 DPO epochs', 0.01]]);
  expect(variantIntervals(undefined)).toEqual([]);
});
