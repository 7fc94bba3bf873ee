// The results table: rows in the paper's order, p-values against Raw and FT from the paired permutation
// test with the paper's marks (only for improvements; a significant loss shows as ▼Raw / ▼FT, in results
// json, csv, markdown and the page's marksOf), results.json as DESIGN.md §5 fixes it, CSV and markdown; the
// run state's stage bookkeeping; the figure data (t-SNE shape, shared terms, case choice).
import { describe, expect, it } from 'vitest';
import { pairedPermutationTest } from '../../src/eval/significance.ts';
import {
  buildResults,
  comparabilityLegend,
  comparabilityMarks,
  marksOf,
  perQueryJson,
  RESULTS_LEGEND,
  resultsCsv,
  resultsJson,
  resultsMarkdown,
  type SettingEval,
} from '../../src/pipeline/results.ts';
import { artifactRunStore, configKey, memoryRunStore, RunStages } from '../../src/pipeline/run-state.ts';
import { caseViews, expansionLengths, sharedTerms, tsneOf } from '../../src/pipeline/figures-data.ts';
import type { SettingName } from '../../src/pipeline/types.ts';

const QIDS = Array.from({ length: 12 }, (_, i) => `q${i}`);

const TFJS = { engine: 'tfjs' as const, precision: 'float32', model: 'stories260K' };

function evalOf(setting: SettingName, f: (i: number) => number, made: Partial<SettingEval> = {}): SettingEval {
  const perQuery = Object.fromEntries(QIDS.map((q, i) => [q, { 'ndcg@10': f(i), 'recall@100': Math.min(1, f(i) + 0.1), 'mrr@10': f(i), 'map@100': f(i) }]));
  const mean = (m: string) => QIDS.reduce((s, q) => s + perQuery[q][m as 'ndcg@10'], 0) / QIDS.length;
  const dense = setting === 'BM25' ? { scoring: 'bm25' as const } : { scoring: 'cosine' as const, maxLength: 512 };
  const generation = setting.includes('xpan') || setting.startsWith('w/o') ? { generation: TFJS } : {};
  return { setting, perQuery, metrics: Object.fromEntries(['ndcg@10', 'recall@100', 'mrr@10', 'map@100'].map((m) => [m, mean(m)])), ...dense, ...generation, ...made };
}

const EVALS = [
  evalOf('ExpandR', (i) => 0.6 + 0.01 * i), // far above Raw, slightly above FT
  evalOf('Raw', (i) => 0.1 + 0.02 * (i % 3)),
  evalOf('FT', (i) => 0.6 + 0.01 * i - (i % 2 ? 0.02 : -0.02)),
  evalOf('BM25', (i) => 0.5),
  // Below Raw on every query (exact p = 2/2^12): the bug this table had was a † here.
  evalOf('Raw+expansion', (i) => 0.05 + 0.02 * (i % 3)),
];

describe('results', () => {
  const r = buildResults('toy', 'test', EVALS, { rounds: 2000 });

  it('orders rows as SETTING_NAMES and tests against Raw and FT (not against themselves)', () => {
    expect(r.rows.map((x) => x.setting)).toEqual(['BM25', 'Raw', 'Raw+expansion', 'FT', 'ExpandR']);
    expect(r.rows[1].pValues).toEqual({ FT: expect.any(Object) });
    expect(r.rows[3].pValues).toEqual({ Raw: expect.any(Object) });
    const e = r.rows[4];
    const exact = pairedPermutationTest(QIDS.map((_, i) => 0.6 + 0.01 * i), QIDS.map((_, i) => 0.1 + 0.02 * (i % 3))).pValue;
    expect(e.pValues!.Raw!['ndcg@10']).toBe(exact); // 12 queries: exact enumeration
    expect(e.pValues!.Raw!['ndcg@10']).toBeLessThan(0.05);
    expect(e.pValues!.FT!['ndcg@10']).toBeGreaterThan(0.05);
    expect(marksOf(e, 'ndcg@10')).toBe('†');
    expect(e.significance!.Raw!['ndcg@10']).toMatchObject({ pValue: exact, direction: 'improvement', mark: '†', n: 12 });
    expect(e.significance!.FT!['ndcg@10']).toMatchObject({ direction: 'none', mark: '' });
  });

  it('shows a setting significantly worse than Raw as a loss, not †, in every output', () => {
    const worse = r.rows.find((x) => x.setting === 'Raw+expansion')!;
    expect(worse.pValues!.Raw!['ndcg@10']).toBe(2 / 2 ** 12);
    expect(marksOf(worse, 'ndcg@10')).toBe('▼Raw▼FT');
    expect(marksOf(r.rows[0], 'ndcg@10')).toBe('†▼FT'); // BM25: above Raw, below FT
    // results.json
    const j = resultsJson(r).rows.find((x) => x.setting === 'Raw+expansion')!;
    expect(j.marks).toEqual({ 'ndcg@10': '▼Raw▼FT', 'recall@100': '▼Raw▼FT' });
    expect(j.significance!.Raw!['ndcg@10']).toMatchObject({ direction: 'loss', mark: '▼Raw' });
    expect(j.significance!.Raw!['ndcg@10'].meanDiff).toBeCloseTo(-0.05, 12);
    // results.csv: marks and the mean difference
    const csv = resultsCsv(r).trim().split('\n');
    const head = csv[0].split(',');
    const cells = csv.find((l) => l.startsWith('Raw+expansion,'))!.split(',');
    expect(cells[head.indexOf('marks_ndcg@10')]).toBe('▼Raw▼FT');
    expect(Number(cells[head.indexOf('diff_Raw_ndcg@10')])).toBeCloseTo(-0.05, 12);
    // results.md (what the runner prints and the page downloads)
    const md = resultsMarkdown(r);
    expect(md).toMatch(/\| Raw\+expansion \| 0\.0700▼Raw▼FT \|/);
    expect(md).not.toMatch(/\| Raw\+expansion \| [\d.]+†/);
    expect(md).toContain(RESULTS_LEGEND);
    expect(RESULTS_LEGEND).toMatch(/^† \/ ‡: significantly better than Raw \/ FT; ▼Raw \/ ▼FT: significantly worse/);
  });

  it('reads rows stored before marks had a direction (pValues only) without marks', () => {
    const { significance: _s, marks: _m, ...old } = r.rows.find((x) => x.setting === 'Raw+expansion')!;
    expect(marksOf(old, 'ndcg@10')).toBe('');
  });

  it('writes results.json exactly {dataset, rows: [{setting, metrics…, pValues}]}', () => {
    const j = resultsJson(r);
    expect(Object.keys(j)).toEqual(['dataset', 'rows']);
    expect(Object.keys(j.rows[0])).toEqual(['setting', 'ndcg@10', 'recall@100', 'mrr@10', 'map@100', 'scoring', 'pValues', 'significance', 'marks']);
    const e = j.rows.find((x) => x.setting === 'ExpandR')!;
    expect(e).toMatchObject({ scoring: 'cosine', maxLength: 512, generation: TFJS });
    expect(e.comparisons).toEqual({ Raw: { comparable: true }, FT: { comparable: true }, 'Raw+expansion': { comparable: true } });
    expect(Object.keys(j.rows[0].significance!.Raw!['ndcg@10'])).toEqual(['pValue', 'meanDiff', 'n', 'ci95', 'direction', 'mark']);
    expect(j.rows[0]).not.toHaveProperty('perQuery');
    expect(perQueryJson(r).ExpandR.q3).toBeCloseTo(0.63, 12);
  });

  it('gives each difference from Raw and FT its 95 % bootstrap interval, in results.json and under the markdown table', () => {
    const worse = r.rows.find((x) => x.setting === 'Raw+expansion')!;
    // 0.05 below Raw on every query: every resample's mean is −0.05.
    expect(worse.significance!.Raw!['ndcg@10'].ci95).toEqual({ lo: expect.closeTo(-0.05, 12), hi: expect.closeTo(-0.05, 12), level: 0.95 });
    const e = r.rows.find((x) => x.setting === 'ExpandR')!.significance!.FT!['ndcg@10'];
    expect(e.ci95!.lo).toBeLessThan(e.meanDiff);
    expect(e.ci95!.hi).toBeGreaterThan(e.meanDiff);
    const md = resultsMarkdown(r);
    expect(md).toContain('## Differences against Raw and FT, nDCG@10');
    expect(md).toContain('| Raw+expansion | -0.0500 ▼ | [-0.0500, -0.0500] | 0.00049 |');
    // Raw and FT are not tested against themselves; BM25 is against both.
    expect(md).toMatch(/\| Raw \|  \|  \|  \| [+-]\d/);
    expect(md).toMatch(/\| BM25 \| \+0\.\d{4} ▲ \| \[/);
  });

  it('exports CSV and markdown with the marks', () => {
    const csv = resultsCsv(r).trim().split('\n');
    expect(csv[0]).toBe(
      'setting,ndcg@10,recall@100,mrr@10,map@100,p_Raw_ndcg@10,p_Raw_recall@100,p_FT_ndcg@10,p_FT_recall@100,marks_ndcg@10,marks_recall@100,' +
        'diff_Raw_ndcg@10,diff_Raw_recall@100,diff_FT_ndcg@10,diff_FT_recall@100,scoring,max_length,gen_engine,gen_precision,gen_model,failed_expansions,not_comparable',
    );
    expect(csv).toHaveLength(6);
    expect(csv[5].startsWith('ExpandR,')).toBe(true);
    expect(csv[5].split(',').slice(9, 11)).toEqual(['†', '†']);
    const md = resultsMarkdown(r);
    expect(md).toMatch(/\| ExpandR \| 0\.6550† \|.*\| cosine · 512 tokens · tfjs float32 \|$/m);
    expect(md).toContain('| Raw |');
    expect(md).not.toContain('≠');
  });
});

describe('comparable rows', () => {
  it('flags a table whose Raw is scored by dot and FT by cosine, in json, csv, markdown and legend', () => {
    const evals = [evalOf('Raw', (i) => 0.1 + 0.02 * (i % 3), { scoring: 'dot' }), ...EVALS.filter((e) => e.setting !== 'Raw')];
    const r = buildResults('toy', 'test', evals, { rounds: 2000 });
    const ft = r.rows.find((x) => x.setting === 'FT')!;
    expect(ft.comparisons!.Raw).toEqual({ comparable: false, reasons: ['scored by cosine vs dot'] });
    expect(comparabilityMarks(ft)).toBe('≠Raw');
    expect(comparabilityMarks(r.rows.find((x) => x.setting === 'ExpandR')!)).toBe('≠Raw');
    expect(comparabilityMarks(r.rows.find((x) => x.setting === 'BM25')!)).toBe(''); // another retriever by design
    expect(resultsJson(r).rows.find((x) => x.setting === 'Raw')!.comparisons!.FT).toEqual({ comparable: false, reasons: ['scored by dot vs cosine'] });
    const md = resultsMarkdown(r);
    expect(md).toMatch(/^\| FT ≠Raw \| /m);
    expect(md).toContain(comparabilityLegend(r));
    expect(comparabilityLegend(r)).toMatch(/^≠NAME: not comparable .*Raw vs FT: scored by dot vs cosine/);
    const csv = resultsCsv(r).trim().split('\n');
    const head = csv[0].split(',');
    const row = csv.find((l) => l.startsWith('FT,'))!.split(',');
    expect(row[head.indexOf('not_comparable')]).toBe('Raw: scored by cosine vs dot');
  });

  it('does not flag a table where every row is scored, encoded and generated alike', () => {
    const r = buildResults('toy', 'test', EVALS, { rounds: 2000 });
    expect(r.rows.every((x) => Object.values(x.comparisons ?? {}).every((c) => c.comparable))).toBe(true);
    expect(comparabilityLegend(r)).toBe('');
  });

  it('flags expanded rows generated by different engines or precisions, and other encoding lengths', () => {
    const web = { engine: 'webllm' as const, precision: 'q4f16_1', model: 'webllm:Qwen2.5-0.5B-Instruct-q4f16_1-MLC' };
    const evals = [
      ...EVALS.filter((e) => e.setting !== 'Raw+expansion'),
      evalOf('Raw+expansion', (i) => 0.05 + 0.02 * (i % 3), { generation: web, failedExpansions: 2 }),
      evalOf('w/o LLM training', (i) => 0.5, { generation: web, maxLength: 256 }),
    ];
    const r = buildResults('toy', 'test', evals, { rounds: 2000 });
    const e = r.rows.find((x) => x.setting === 'ExpandR')!;
    expect(e.comparisons!['w/o LLM training']).toEqual({ comparable: false, reasons: ['encoded at 512 vs 256 tokens', 'generated by tfjs float32 vs webllm q4f16_1'] });
    expect(e.comparisons!['Raw+expansion']).toEqual({ comparable: false, reasons: ['generated by tfjs float32 vs webllm q4f16_1'] });
    expect(e.comparisons!.Raw).toEqual({ comparable: true }); // Raw has no expansions: the expansion itself is what is compared
    expect(comparabilityMarks(e)).toBe('≠Raw+expansion≠w/o LLM training');
    const md = resultsMarkdown(r);
    expect(md).toMatch(/^\| Raw\+expansion ≠ExpandR≠w\/o LLM training \| .*\| cosine · 512 tokens · webllm q4f16_1 · 2 expansions failed \|$/m);
    expect(resultsJson(r).rows.find((x) => x.setting === 'Raw+expansion')).toMatchObject({ failedExpansions: 2, generation: web });
  });

  it('flags rows encoded on another engine or precision, and says what encoded each row in every output', () => {
    const wasm = { engine: 'tfjs-wasm', precision: 'float32' };
    const evals = EVALS.map((e) => (e.setting === 'BM25' ? e : { ...e, encoding: e.setting === 'FT' ? { engine: 'tfjs-webgpu', precision: 'float32' } : wasm }));
    const r = buildResults('toy', 'test', evals, { rounds: 2000 });
    const ft = r.rows.find((x) => x.setting === 'FT')!;
    expect(ft.comparisons!.Raw).toEqual({ comparable: false, reasons: ['encoded on tfjs-webgpu float32 vs tfjs-wasm float32'] });
    expect(r.rows.find((x) => x.setting === 'ExpandR')!.comparisons!.Raw).toEqual({ comparable: true });
    expect(resultsJson(r).rows.find((x) => x.setting === 'Raw')!.encoding).toEqual(wasm);
    expect(resultsMarkdown(r)).toMatch(/^\| Raw ≠FT \| .*\| cosine · 512 tokens · encoder tfjs-wasm float32 \|$/m);
    const csv = resultsCsv(r).trim().split('\n');
    const head = csv[0].split(',');
    expect(head.slice(-2)).toEqual(['enc_engine', 'enc_precision']); // last: readers by position keep their columns
    const cells = (s: string) => csv.find((l) => l.startsWith(`${s},`))!.split(',');
    expect([cells('FT')[head.indexOf('enc_engine')], cells('FT')[head.indexOf('enc_precision')]]).toEqual(['tfjs-webgpu', 'float32']);
    expect(cells('BM25')[head.indexOf('enc_engine')]).toBe('');
    // A table without it (rows stored before it was recorded) keeps its columns as they were.
    expect(resultsCsv(buildResults('toy', 'test', EVALS, { rounds: 2000 })).split('\n')[0]).not.toContain('enc_engine');
  });

  it('flags rows stored before scoring was recorded', () => {
    const old = EVALS.map(({ scoring: _s, maxLength: _m, ...e }) => e);
    const r = buildResults('toy', 'test', old, { rounds: 2000 });
    expect(r.rows.find((x) => x.setting === 'FT')!.comparisons!.Raw.reasons).toEqual(['scoring not recorded (a row from an older run: run it again)']);
  });

  it("notes Raw's score under the encoder's own similarity", () => {
    const own = { scoring: 'dot' as const, 'ndcg@10': 0.6493, 'recall@100': 0.926, 'mrr@10': 0.6, 'map@100': 0.6 };
    const evals = [evalOf('Raw', (i) => 0.1 + 0.02 * (i % 3), { encoderScoring: own }), ...EVALS.filter((e) => e.setting !== 'Raw')];
    const r = buildResults('toy', 'test', evals, { rounds: 2000 });
    expect(resultsJson(r).rows.find((x) => x.setting === 'Raw')!.encoderScoring).toEqual(own);
    expect(resultsMarkdown(r)).toContain("Raw is scored by cosine, as every dense row of this table (the Eq. 8 normalisation's); by the encoder's own dot it scores nDCG@10 0.6493, Recall@100 0.9260");
  });
});

describe('run state', () => {
  it('runs a stage once, reuses its output after reopening, and refuses another config', async () => {
    const store = memoryRunStore();
    let calls = 0;
    const s = { kind: 'expansions', llm: 'base', queries: 'test' } as const;
    const a = await RunStages.open(store, { x: 1 });
    expect(await a.once(s, async () => ({ q1: String(++calls) }))).toEqual({ q1: '1' });
    const b = await RunStages.open(store, { x: 1 });
    expect(await b.once(s, async () => ({ q1: String(++calls) }))).toEqual({ q1: '1' });
    expect(b.reused).toEqual(['expansions:base:test']);
    await expect(RunStages.open(store, { x: 2 })).rejects.toThrow(/another config/);
    expect(configKey({ x: 1 })).not.toBe(configKey({ x: 2 }));
    const c = await RunStages.open(store, { x: 2 }, { fresh: true });
    expect(c.done(s)).toBe(false);
  });

  it('keeps state and file sets as dataset artifacts in the app (structured clone)', async () => {
    const artifacts = new Map<string, unknown>();
    const fake = {
      putArtifact: async (ds: string, key: string, v: unknown) => void artifacts.set(`${ds}/${key}`, structuredClone(v)),
      getArtifact: async <T,>(ds: string, key: string) => structuredClone(artifacts.get(`${ds}/${key}`)) as T | undefined,
    };
    const store = artifactRunStore(fake, 'ds1');
    const s = { kind: 'candidates', llm: 'base' } as const;
    await (await RunStages.open(store, { a: 1 })).once(s, async () => [{ qid: 'q', answer: 'a', candidates: [] }]);
    await store.putFiles('encoders/FT', new Map([['config.json', new Uint8Array([1, 2])]]));
    expect((await RunStages.open(store, { a: 1 })).output(s)).toEqual([{ qid: 'q', answer: 'a', candidates: [] }]);
    expect(await store.getFiles('encoders/FT')).toEqual(new Map([['config.json', new Uint8Array([1, 2])]]));
    expect(await store.getFiles('encoders/none')).toBeUndefined();
    expect([...artifacts.keys()].sort()).toEqual(['ds1/experiment/files/encoders/FT', 'ds1/experiment/state']);
  });

  it('does not record a stage that failed', async () => {
    const s = await RunStages.open(memoryRunStore(), {});
    const bad = { kind: 'dpo', name: 'bad' } as const;
    await expect(s.once(bad, async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(s.done(bad)).toBe(false);
  });
});

describe('figure data', () => {
  it('projects 10 pairs to 2-D deterministically', () => {
    const v = (i: number, o: number) => Array.from({ length: 6 }, (_, j) => Math.sin(i * 1.7 + j) + o);
    const p = { setting: 'FT' as const, qids: QIDS.slice(0, 10), queries: QIDS.slice(0, 10).map((_, i) => v(i, 0)), docs: QIDS.slice(0, 10).map((_, i) => v(i, 0.05)) };
    const t = tsneOf(p, 1);
    expect(t.points).toHaveLength(20);
    expect(t.points.filter((x) => x.kind === 'doc')).toHaveLength(10);
    expect(Number.isFinite(t.meanPairDistance)).toBe(true);
    expect(tsneOf(p, 1)).toEqual(t);
  });

  it('finds the terms an expansion shares with the passage under the BM25 analyzer', () => {
    expect(sharedTerms('The cats were running to the houses', 'A cat runs home; houses burn')).toEqual(['cat', 'run', 'hous']);
  });

  it('measures expansion length and picks the cases where ExpandR gains most', () => {
    const L = expansionLengths(new Map([['ExpandR', new Map([['q0', 'a b c'], ['q1', 'a']])]]));
    expect(L[0]).toMatchObject({ setting: 'ExpandR', mean: 2, median: 2, words: [3, 1] });
    const cases = caseViews({
      queries: new Map(QIDS.map((q) => [q, `query ${q}`])),
      gold: new Map(QIDS.map((q) => [q, `d-${q}`])),
      docs: new Map(QIDS.map((q) => [`d-${q}`, `passage about ${q}`])),
      expansions: new Map([['ExpandR', new Map([['q9', 'a passage about q9']])]]),
      evals: EVALS,
    }, 2);
    expect(cases.map((c) => c.qid)).toEqual(['q9', 'q10']);
    expect(cases[0].expansions[0].sharedTerms).toEqual(['passag', 'about', 'q9']);
    expect(cases[0].ndcg.Raw).toBeCloseTo(0.1, 12);
  });
});
