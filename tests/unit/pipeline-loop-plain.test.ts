// Each retriever the loop trains on expanded queries is evaluated on the plain queries as well (stage
// plainEval:NAME:test|dev, results.plainRows): per seed, read against the first expanded row with the same
// retriever and FT of the same seeds; its numbers are what a fresh evaluation of the exported encoder gives.
import { beforeAll, expect, it } from 'vitest';
import { useCpuBackend } from './helpers/tiny-encoder.ts';
import { tinyLoopContext } from './helpers/tiny-loop-context.ts';
import { experimentConfig } from '../../src/pipeline/config.ts';
import { runExperiment } from '../../src/pipeline/loop.ts';
import { levelLlm } from './helpers/level-llm.ts';
import { parseStageName, stageName } from '../../src/pipeline/stages.ts';
import { resultsJson, resultsMarkdown, type SettingEval } from '../../src/pipeline/results.ts';
import { plainRowCells, PLAIN_COLUMNS } from '../../src/pipeline/results-sections.ts';
import { denseEvaluate } from '../../src/retrieval/dense/evaluate.ts';
import { MemoryChunkStore } from '../../src/retrieval/dense/chunk-store.ts';
import { modelHash } from '../../src/model/sources.ts';
import { splitQueries } from '../../src/data/qrels.ts';

const TEST_MS = 300_000;
/** Two evaluations of the same encoder on the same queries, one from the loop's stored corpus embeddings and one encoding afresh: float32 sums in another order at most. */
const SAME_RUN_ATOL = 1e-12;

const llm = levelLlm;

beforeAll(useCpuBackend);

const configOf = (settings: string[], rounds: number) =>
  experimentConfig({
    data: 'synthetic',
    settings,
    seed: 7,
    seeds: [7, 8],
    seededSettings: ['FT', 'ExpandR', 'w/o LLM training'],
    rounds,
    dev: { fraction: 0.3 },
    encoder: { model: 'tiny-bert', expansionNorm: 'contriever', batchSize: 8 },
    llm: { model: 'fake', chat: false },
    retriever: { steps: 2, batchSize: 4, lr: 1e-3, dropout: true },
  });

it('evaluates each round retriever of each seed on plain queries, against its expanded row and FT', { timeout: TEST_MS }, async () => {
  const ctx = await tinyLoopContext(configOf(['Raw', 'FT', 'ExpandR', 'w/o LLM training'], 2));
  const out = await runExperiment(ctx, llm);
  const state = (await ctx.store.loadState())!;
  const names = Object.keys(state.stages).filter((n) => n.startsWith('plainEval:'));
  // Once per retriever trained on expanded queries (w/o LLM training reuses E_1's); none for FT or the base encoder.
  expect(names.sort()).toEqual(['round-1', 'round-1@seed8', 'round-2', 'round-2@seed8'].flatMap((e) => [`plainEval:${e}:dev`, `plainEval:${e}:test`]).sort());
  const stored = (name: string) => state.stages[name].output as SettingEval;

  const rows = out.results.plainRows!;
  expect(rows.map((r) => [r.retriever, r.versus])).toEqual([
    ['round-1', 'ExpandR after round 1'],
    ['round-2', 'ExpandR'],
  ]);
  const [e1, e2] = rows;
  expect(e1.seeds).toEqual([7, 8]);
  expect(e1.perSeed!['ndcg@10']).toEqual([stored('plainEval:round-1:test').metrics['ndcg@10'], stored('plainEval:round-1@seed8:test').metrics['ndcg@10']]);
  expect(e1.perSeed!['recall@100']).toEqual([stored('plainEval:round-1:test').metrics['recall@100'], stored('plainEval:round-1@seed8:test').metrics['recall@100']]);
  expect(e1['ndcg@10']).toBeCloseTo((e1.perSeed!['ndcg@10'][0] + e1.perSeed!['ndcg@10'][1]) / 2, 12);
  // Read against the same seeds' expanded row and FT: the differences are of the two means.
  const round1 = out.results.roundRows![0];
  const ft = out.results.rows.find((r) => r.setting === 'FT')!;
  const expandR = out.results.rows.find((r) => r.setting === 'ExpandR')!;
  // Scored as the table's plain rows are (cosine under 'contriever'), at the encoder's length.
  expect(ft.scoring).toBe('cosine');
  expect([e1.scoring, e1.maxLength]).toEqual([ft.scoring, ft.maxLength]);
  expect(e1.expanded).toBeCloseTo(round1['ndcg@10'], 12);
  expect(e1.vsExpanded['ndcg@10'].meanDiff).toBeCloseTo(e1['ndcg@10'] - round1['ndcg@10'], 12);
  expect(e2.expanded).toBeCloseTo(expandR['ndcg@10'], 12);
  expect(e2.vsFT!['ndcg@10'].meanDiff).toBeCloseTo(e2['ndcg@10'] - ft['ndcg@10'], 12);
  expect(e2.dev!.vsFT!['ndcg@10'].meanDiff).toBeCloseTo(e2.dev!['ndcg@10'] - ft.dev!['ndcg@10'], 12);
  expect(e2.dev!.queries).toBe(out.devQueries.length);

  // The stored plain row is what the exported E_2 gives on the plain test queries, encoding the corpus afresh
  // (the stage read the embeddings its expanded row stored).
  const files = (await ctx.store.getFiles('encoders/round-2'))!;
  const encoder = await ctx.encoders.load(files);
  const qrels = ctx.data.qrels.get('test')!;
  const fresh = await denseEvaluate(encoder, ctx.data.docs, new MemoryChunkStore(), splitQueries(ctx.data.queries.values(), qrels), qrels, {
    modelHash: await modelHash(files),
    corpusChecksum: ctx.data.checksum,
    totalDocs: ctx.data.docs.length,
    expansionNorm: 'contriever',
    cosine: true,
    batchSize: 8,
  });
  encoder.dispose();
  const plain = stored('plainEval:round-2:test');
  expect(Object.keys(plain.perQuery).sort()).toEqual(fresh.perQuery.map((q) => q.qid).sort());
  for (const q of fresh.perQuery) expect(Math.abs(plain.perQuery[q.qid]['ndcg@10'] - q.metrics['ndcg@10'])).toBeLessThanOrEqual(SAME_RUN_ATOL);

  // In results.json (without per-query values), results.md and the page's cells.
  expect(resultsJson(out.results).plainRows).toHaveLength(2);
  expect(resultsMarkdown(out.results)).toContain('## The trained retrievers on plain queries, nDCG@10');
  const cells = plainRowCells(rows);
  expect(cells[0]).toHaveLength(PLAIN_COLUMNS.length);
  expect(cells[0].slice(0, 3)).toEqual(['round-1', 'ExpandR after round 1', `${e1['ndcg@10'].toFixed(4)} ± ${e1.sd!['ndcg@10'].toFixed(4)}`]);

  // A resumed run reads them back rather than evaluating again.
  const again = await runExperiment({ ...ctx, stages: await (await import('../../src/pipeline/run-state.ts')).RunStages.open(ctx.store, ctx.config) }, llm);
  for (const n of names) expect(again.reusedStages).toContain(n);
  expect(again.results.plainRows).toEqual(out.results.plainRows);
});

it('reads the round-1 retriever against w/o LLM training when ExpandR does not run: the base LLM\'s expansion is the query, so plain equals expanded', { timeout: TEST_MS }, async () => {
  const ctx = await tinyLoopContext(configOf(['Raw', 'FT', 'w/o LLM training'], 1));
  const out = await runExperiment(ctx, llm);
  const [row] = out.results.plainRows!;
  expect(out.results.plainRows).toHaveLength(1);
  expect(row.versus).toBe('w/o LLM training');
  // Eq. 8 (contriever) of q with itself is q: the same scores, so no query differs.
  expect(row.vsExpanded['ndcg@10'].meanDiff).toBe(0);
  expect(row['ndcg@10']).toBe(row.expanded);
});

it('names plain-query stages so that they parse back', () => {
  for (const name of ['plainEval:round-1:test', 'plainEval:round-2@seed8:dev']) expect(stageName(parseStageName(name)!)).toBe(name);
  expect(parseStageName('plainEval:round-2@seed8:dev')).toEqual({ kind: 'plainEval', encoder: 'round-2@seed8', queries: 'dev' });
  expect(parseStageName('plainEval:round-2:train')).toBeNull();
});
