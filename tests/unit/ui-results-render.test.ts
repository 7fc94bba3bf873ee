// The page's results view (ExpandrResults.svelte, rendered on the server): the table's rows, and below it the
// same sections results.md has — the differences from Raw and FT with their intervals, ExpandR after each
// earlier round, the trained retrievers on plain queries and the variants of round 1 on dev — with the cells
// results-sections.ts makes for both.
import { render } from 'svelte/server';
import { expect, it } from 'vitest';
import ExpandrResults from '../../src/ui/components/ExpandrResults.svelte';
import { buildResults, resultsMarkdown, type SettingEval } from '../../src/pipeline/results.ts';
import { buildRoundRows } from '../../src/pipeline/results-rounds.ts';
import { buildVariantRows } from '../../src/pipeline/results-variants.ts';
import { differenceRowCells, plainRowCells, roundRowCells, seedTable, variantRowCells } from '../../src/pipeline/results-sections.ts';
import { buildPlainRows } from '../../src/pipeline/results-plain.ts';

const QUERIES = ['q1', 'q2', 'q3', 'q4'];
/** An evaluation with per-query values v + step·i (so paired tests have something to compare). */
const ev = (setting: string, v: number, step = 0.01): SettingEval => {
  const perQuery = Object.fromEntries(QUERIES.map((q, i) => [q, Object.fromEntries(['ndcg@10', 'recall@100', 'mrr@10', 'map@100'].map((m) => [m, v + step * i]))]));
  const mean = v + (step * (QUERIES.length - 1)) / 2;
  return { setting, metrics: { 'ndcg@10': mean, 'recall@100': mean, 'mrr@10': mean, 'map@100': mean }, perQuery } as SettingEval;
};

it('shows the table, ExpandR after each round and the variants of round 1 with the cells results.md has', () => {
  const table = [ev('Raw', 0.5), ev('FT', 0.6), ev('ExpandR', 0.62)];
  const results = buildResults('scifact', 'test', table);
  results.roundRows = buildRoundRows(table, [{ round: 1, test: ev('ExpandR', 0.55), dev: ev('ExpandR', 0.57) }]);
  results.variants = buildVariantRows([{ variant: { name: '2 DPO epochs', why: 'the reference code’s', dpo: { epochs: 2 } }, llm: 'variant-2-dpo-epochs-00000000', seed: 42, pairs: 125, dev: ev('ExpandR', 0.59) }], ev('ExpandR', 0.57));
  results.plainRows = buildPlainRows([{ retriever: 'round-2', versus: 'ExpandR', test: ev('ExpandR', 0.66), expandedTest: table[2], ftTest: table[1], dev: ev('ExpandR', 0.7), expandedDev: ev('ExpandR', 0.65), ftDev: ev('FT', 0.68) }]);
  const { body } = render(ExpandrResults, { props: { results } });
  expect(body).toContain('data-testid="expandr-plain"');
  // E_2 0.04 above its expanded row and 0.06 above FT on every query, on test; on dev 0.05 and 0.02.
  expect(plainRowCells(results.plainRows)[0]).toEqual(['round-2', 'ExpandR', '0.6750', '0.6350', '+0.0400', '[+0.0400, +0.0400]', expect.any(String), '+0.0600', '[+0.0600, +0.0600]', expect.any(String), '0.7150', '+0.0500', expect.any(String), '+0.0200', expect.any(String)]);
  expect(resultsMarkdown(results)).toContain('## The trained retrievers on plain queries, nDCG@10');
  expect(body).toContain('data-testid="expandr-results"');
  expect(body).toContain('data-testid="expandr-rounds"');
  expect(body).toContain('data-testid="expandr-variants"');
  expect(body).toContain('data-testid="expandr-differences"');
  // The interval plots beside them: each row against FT, each variant against round 1.
  expect(body).toContain('data-testid="differences-figure"');
  expect(body).toContain('data-testid="variants-figure"');
  const text = (x: string) => x.replace(/&/g, '&amp;').replace(/</g, '&lt;'); // as the server render escapes text
  for (const cells of [...differenceRowCells(results), ...roundRowCells(results), ...variantRowCells(results.variants), ...plainRowCells(results.plainRows)]) for (const x of cells) expect(body).toContain(`>${text(x)}</td>`);
  // ExpandR 0.1 above Raw on every query: the interval is the difference itself.
  expect(differenceRowCells(results).find((c) => c[0] === 'ExpandR')!.slice(0, 3)).toEqual(['ExpandR', '+0.1200', '[+0.1200, +0.1200]']);
  expect(variantRowCells(results.variants)[0].slice(0, 5)).toEqual(['2 DPO epochs', '{"dpo":{"epochs":2}}', 'the reference code’s', '125', '0.6050']);
  expect(body).toContain('(dev nDCG@10 0.5850)');
});

it('shows neither section for a run of one round without variants', () => {
  const { body } = render(ExpandrResults, { props: { results: buildResults('scifact', 'test', [ev('Raw', 0.5), ev('ExpandR', 0.6)]) } });
  expect(body).toContain('data-testid="expandr-results"');
  expect(body).not.toContain('expandr-rounds');
  expect(body).not.toContain('expandr-variants');
  expect(body).not.toContain('expandr-plain');
});

it('shows a row run at several seeds as mean ± sd, with the seeds under the table, as results.md does', () => {
  const results = buildResults('scifact', 'test', [ev('Raw', 0.5), ev('FT', 0.6)]);
  const ft = results.rows.find((r) => r.setting === 'FT')!;
  Object.assign(ft, { seeds: [42, 43, 44], sd: { 'ndcg@10': 0.0123, 'recall@100': 0.0045, 'mrr@10': 0.0067, 'map@100': 0.0089 }, perSeed: { 'ndcg@10': [0.6, 0.615, 0.63] } });
  const { body } = render(ExpandrResults, { props: { results } });
  expect(body).toContain('data-sd="ndcg@10"');
  expect(body).toContain(' ± 0.0123');
  expect(body).toContain(' ± 0.0089');
  expect(body).toContain('data-testid="seeds-legend"');
  expect(body).toContain('42, 43, 44');
  expect(resultsMarkdown(results)).toContain('0.6150 ± 0.0123');
  // Each seed's value in its own table, on the page and in results.md.
  expect(seedTable(results)).toEqual({ columns: ['setting', 'seed 42', 'seed 43', 'seed 44', 'mean ± sd'], rows: [['FT', '0.6000', '0.6150', '0.6300', '0.6150 ± 0.0123']] });
  expect(body).toContain('data-testid="expandr-seeds"');
  expect(body).toContain('>0.6300</td>');
  expect(resultsMarkdown(results)).toContain('| FT | 0.6000 | 0.6150 | 0.6300 | 0.6150 ± 0.0123 |');
});
