// Every row of one results table is scored by one function and says how it was made (issue 14.2-4): with
// the Eq. 8 'contriever' normalisation a dot-product encoder's Raw row is scored by cosine like FT and the
// expanded rows (checked against a naive cosine ranking evaluated by trec_eval semantics), its own dot-product
// numbers kept beside (checked against a naive dot ranking); rows record scoring and encoding length; an
// expanded row records the engine and precision of its expansions and how many failed, every dense row the
// engine and precision that encoded it; and with the 'raw'
// normalisation Raw stays on dot product with nothing extra.
import { beforeAll, describe, expect, it } from 'vitest';
import { useCpuBackend } from './helpers/tiny-encoder.ts';
import { syntheticTask, syntheticDataset } from './helpers/train-corpus.ts';
import type { BeirDataset } from '../../src/data/load.ts';
import { flatText } from '../../src/data/types.ts';
import { loadBertEncoder } from '../../src/encoder/encoder.ts';
import { readModelDir } from '../../src/encoder/node-files.ts';
import { evaluate } from '../../src/eval/metrics.ts';
import type { Run } from '../../src/eval/types.ts';
import { experimentConfig } from '../../src/pipeline/config.ts';
import type { GenerationProvenance } from '../../src/pipeline/generation-provenance.ts';
import { runExperiment, type LlmSide } from '../../src/pipeline/loop.ts';
import { memoryRunStore, RunStages } from '../../src/pipeline/run-state.ts';
import type { LoopContext } from '../../src/pipeline/stages-retriever.ts';

const TINY_BERT = new URL('../reference/fixtures/tiny-bert', import.meta.url).pathname;
const TEST_MS = 300_000;
/** Float32 encodings summed in another order than the chunked index: equal to this much. */
const METRIC_TOL = 1e-9;
const SETTINGS = { maxLength: 32, similarity: 'dot' as const, normalize: false };
const GEN: GenerationProvenance = { engine: 'tfjs', precision: 'Q4_1', model: 'fake' };

const tinyDataset = syntheticDataset;

/** Expansions of every test query but the first (its generation "failed"), made by GEN. */
const llm: LlmSide = {
  generator: async () => ({ id: 'fake', provenance: GEN, generate: async (prompts) => prompts.map((p) => p) }),
  expand: async (_gen, queries) => new Map(queries.slice(1).map((q) => [q.id, `${q.text} ${q.text}`])),
  candidates: async () => [],
  preferences: async () => ({ records: [], pairs: [] }),
  trainDpo: async () => {
    throw new Error('no DPO in this test');
  },
};

async function run(expansionNorm: 'contriever' | 'raw') {
  const config = experimentConfig({
    data: 'synthetic',
    settings: ['BM25', 'Raw', 'Raw+expansion', 'FT'],
    encoder: { model: 'tiny-bert', expansionNorm, batchSize: 8 },
    llm: { model: 'fake', chat: false },
    retriever: { steps: 2, batchSize: 4, lr: 1e-3, dropout: false, hardNegatives: false },
  });
  const store = memoryRunStore();
  const data = tinyDataset();
  const ctx: LoopContext = {
    config, data, store,
    stages: await RunStages.open(store, config),
    encoders: { baseFiles: new Map(await readModelDir(TINY_BERT)), load: (files) => loadBertEncoder(files, { seed: 1, settings: SETTINGS }) },
    work: {}, log: () => {}, corpus: new Map(),
  };
  return { outcome: await runExperiment(ctx, llm), data, ctx };
}

/** nDCG@10 of the base encoder ranking every document by dot product of the vectors as they are, or normalised. */
async function naiveNdcg(data: BeirDataset, ctx: LoopContext, cosine: boolean): Promise<number> {
  const enc = await ctx.encoders.load(ctx.encoders.baseFiles);
  const qrels = data.qrels.get('test')!;
  const queries = [...qrels.keys()].map((id) => data.queries.get(id)!);
  const unit = (v: Float32Array) => (cosine ? v.map((x) => x / Math.hypot(...v)) : v);
  const rows = (m: Float32Array, n: number) => Array.from({ length: n }, (_, i) => unit(m.slice(i * enc.dim, (i + 1) * enc.dim)));
  const q = rows(await enc.encode(queries.map((x) => x.text), 'query'), queries.length);
  const d = rows(await enc.encode(data.docs.map((x) => flatText(x)), 'doc'), data.docs.length);
  enc.dispose();
  const run: Run = new Map(queries.map((x, i) => [x.id, data.docs.map((doc, j) => ({ docId: doc.id, score: q[i].reduce((s, v, k) => s + v * d[j][k], 0) }))]));
  return evaluate(qrels, run).mean['ndcg@10'];
}

beforeAll(useCpuBackend);

describe('rows of one table', () => {
  it("scores Raw by cosine under 'contriever', keeps its dot-product numbers beside, and records how every row was made", { timeout: TEST_MS }, async () => {
    const { outcome, data, ctx } = await run('contriever');
    const row = (s: string) => outcome.results.rows.find((r) => r.setting === s)!;
    expect(row('BM25').scoring).toBe('bm25');
    expect(row('Raw')).toMatchObject({ scoring: 'cosine', maxLength: 32, encoderScoring: { scoring: 'dot' } });
    expect(row('FT')).toMatchObject({ scoring: 'cosine', maxLength: 32 });
    expect(row('Raw+expansion')).toMatchObject({ scoring: 'cosine', maxLength: 32, generation: GEN, failedExpansions: 1 });
    // Every dense row records what encoded it: the active tfjs backend (cpu here), in float32; BM25 none.
    for (const s of ['Raw', 'FT', 'Raw+expansion']) expect(row(s).encoding).toEqual({ engine: 'tfjs-cpu', precision: 'float32' });
    expect(row('BM25').encoding).toBeUndefined();
    for (const r of outcome.results.rows) expect(Object.values(r.comparisons ?? {}).every((c) => c.comparable)).toBe(true);
    expect(row('Raw')['ndcg@10']).toBeCloseTo(await naiveNdcg(data, ctx, true), -Math.log10(METRIC_TOL));
    expect(row('Raw')['ndcg@10']).not.toBeCloseTo(row('Raw').encoderScoring!['ndcg@10'], 6); // the two scorings rank differently here
    expect(row('Raw').encoderScoring!['ndcg@10']).toBeCloseTo(await naiveNdcg(data, ctx, false), -Math.log10(METRIC_TOL));
    // The file set of the expansions says what made them.
    const set = await ctx.store.getFiles('expansions/base-test');
    expect(JSON.parse(new TextDecoder().decode(set!.get('generation.json')))).toEqual(GEN);
    expect(JSON.parse(new TextDecoder().decode(set!.get('failed.json')))).toEqual([[...data.qrels.get('test')!.keys()][0]]);
  });

  it("keeps Raw on the encoder's dot product under 'raw', with nothing beside", { timeout: TEST_MS }, async () => {
    const { outcome } = await run('raw');
    const raw = outcome.results.rows.find((r) => r.setting === 'Raw')!;
    expect(raw.scoring).toBe('dot');
    expect(raw.encoderScoring).toBeUndefined();
    expect(outcome.results.rows.find((r) => r.setting === 'FT')!.scoring).toBe('dot');
  });
});
