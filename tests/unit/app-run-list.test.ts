// The page's runs side by side (src/app/run-list.ts, src/store/run-artifacts.ts) on fake-indexeddb:
// - through the page's own pipeline path: two runs of one dataset with different encoders (tiny-bert and a
//   random BERT from init-encoder) and configs are both kept, listed with their models and config, compared
//   (Raw of one against Raw of the other, with case rows that carry query text and gold passage), renamed,
//   reopened and deleted; the same inputs again open the same run (same content, same key);
// - on the store alone: a run stored before keys ('experiment/…') is listed and opened, Start afresh of
//   a keyed run keeps its manifest, and deleting one run leaves the other's artifacts untouched.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDBFactory } from 'fake-indexeddb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/cli/backend.ts';
import { LlmSession } from '../../src/app/llm-session.ts';
import { PipelineSession } from '../../src/app/pipeline-session.ts';
import { RetrieverSession } from '../../src/app/retriever-session.ts';
import { pageCodeVersion, pageModels, RunList } from '../../src/app/run-list.ts';
import { fromBytes } from '../../src/data/source.ts';
import { initEncoder } from '../../src/encoder/init-encoder.ts';
import { importBeir } from '../../src/store/import-beir.ts';
import { currentRunId, deleteRunArtifacts, getRunManifest, LEGACY_RUN_ID, listRunIds, putRunManifest, runPrefix } from '../../src/store/run-artifacts.ts';
import { openStore, type Store } from '../../src/store/store.ts';
import { writeScifactSubset } from '../browser/scifact-subset.ts';
import { folderFiles } from './helpers/folder-files.ts';

const ROOT = join(import.meta.dirname, '../..');
const SCIFACT = join(ROOT, '../shared/data/beir/scifact');
const TINY_BERT = join(ROOT, 'tests/reference/fixtures/tiny-bert');
const TEST_MS = 300_000;

let subset: string;
beforeAll(async () => {
  await useBackend('wasm');
  subset = mkdtempSync(join(tmpdir(), 'expandr-run-list-'));
  writeScifactSubset(SCIFACT, subset, { queries: 6, docs: 40 });
});
afterAll(() => rmSync(subset, { recursive: true, force: true }));

async function storedDataset(dbName: string): Promise<{ store: Store; datasetId: string }> {
  const store = await openStore({ dbName, idbFactory: new IDBFactory() });
  const file = (p: string) => fromBytes(`scifact-mini/${p}`, readFileSync(join(subset, p)));
  const { dataset } = await importBeir(store, ['corpus.jsonl', 'queries.jsonl', 'qrels/test.tsv', 'qrels/train.tsv'].map(file), {
    estimate: async () => ({ quota: 1e9, usage: 0 }),
  });
  return { store, datasetId: dataset.id };
}

describe('runs side by side in the page', () => {
  it(
    'keeps, lists, compares, renames, reopens and deletes two runs with different encoders and configs',
    async () => {
      const { store, datasetId } = await storedDataset('run-list-pipeline');
      const retrievers = new RetrieverSession(async () => store);
      const session = new PipelineSession(async () => store, retrievers, new LlmSession(), () => {
        throw new Error('no LLM in this test');
      });
      const runs = new RunList(async () => store);
      const tiny = await retrievers.load({ kind: 'files', files: folderFiles(TINY_BERT, 'tiny-bert') });
      const texts = readFileSync(join(subset, 'corpus.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { text: string }).text);
      const random = initEncoder(texts, { hidden: 16, layers: 1, heads: 2, intermediate: 32, maxLength: 32, seed: 3 });
      const rand = await retrievers.load({ kind: 'files', files: [...random.files].map(([n, b]) => ({ path: `rand-bert/${n}`, file: new Blob([b as Uint8Array<ArrayBuffer>]) })) });
      expect(rand.modelHash).not.toBe(tiny.modelHash);

      const base = { datasetId, llm: null, step: 'evaluate' as const };
      const a = await session.run({ ...base, encoder: tiny.handle, config: { testQueries: 4, settings: ['BM25', 'Raw'] } }, {});
      const b = await session.run({ ...base, encoder: rand.handle, config: { testQueries: 0, seed: 7, settings: ['Raw'] } }, {});
      expect(a.results?.rows.map((r) => r.setting)).toEqual(['BM25', 'Raw']);
      expect(b.results?.rows.map((r) => r.setting)).toEqual(['Raw']);

      const list = await runs.list(datasetId);
      expect(list).toHaveLength(2);
      const [runA, runB] = [list.find((r) => r.models.includes('tiny-bert'))!, list.find((r) => r.models.includes('rand-bert'))!];
      expect(runA.id).toMatch(/^run-[0-9a-f]{64}$/);
      expect(runB.id).not.toBe(runA.id);
      expect(runA).toMatchObject({ status: 'complete', done: ['BM25', 'Raw'], comparable: ['BM25', 'Raw'], current: false, datasetName: 'scifact-mini' });
      expect(runB).toMatchObject({ status: 'complete', done: ['Raw'], current: true });
      expect(runA.configSummary).toContain('seed 42');
      expect(runB.configSummary).toContain('seed 7');

      // B evaluated every test query, A the first 4: paired on A's 4, B's others counted.
      const allTest = readFileSync(join(subset, 'qrels/test.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t')[0]);
      const nTest = new Set(allTest).size;
      const cmp = await runs.compare({ datasetId, run: runA.id, setting: 'Raw' }, { datasetId, run: runB.id, setting: 'Raw' }, 'ndcg@10', 0, 2);
      expect(cmp.comparison).toMatchObject({ shared: 4, onlyA: 0, onlyB: nTest - 4 });
      expect(cmp.comparison.diffs).toHaveLength(4);
      const moved = cmp.comparison.diffs.map((d) => Math.abs(d.diff));
      expect(moved).toEqual([...moved].sort((x, y) => y - x));
      for (const c of cmp.cases) {
        expect(c.query).toBeTruthy();
        expect(c.gold?.text).toBeTruthy();
      }
      const sameRun = await runs.compare({ datasetId, run: runA.id, setting: 'BM25' }, { datasetId, run: runA.id, setting: 'BM25' }, 'ndcg@10', 0, 3);
      expect(sameRun.comparison.test.pValue).toBe(1);
      expect(sameRun.cases).toEqual([]); // nothing moved
      await expect(runs.compare({ datasetId, run: runB.id, setting: 'BM25' }, { datasetId, run: runA.id, setting: 'Raw' }, 'ndcg@10', 0, 0)).rejects.toThrow(/no evaluation of "BM25" \(it has: Raw\)/);

      // The same inputs again: the same run (its stages reused), not a third one.
      const again = await session.run({ ...base, encoder: tiny.handle, config: { testQueries: 4, settings: ['BM25', 'Raw'] } }, {});
      expect(again.log.some((l) => /stages reused/.test(l))).toBe(true);
      expect(await runs.list(datasetId)).toHaveLength(2);

      await runs.rename(datasetId, runB.id, '  random encoder  ');
      expect((await runs.list(datasetId)).find((r) => r.id === runB.id)?.name).toBe('random encoder');
      await runs.open(datasetId, runB.id);
      expect((await session.state(datasetId))?.results?.rows.map((r) => r.setting)).toEqual(['Raw']);
      await runs.remove(datasetId, runB.id);
      expect((await runs.list(datasetId)).map((r) => r.id)).toEqual([runA.id]);
      expect((await store.listArtifacts(datasetId)).some((k) => k.includes(runB.id))).toBe(false);
      store.close();
    },
    TEST_MS,
  );
});

describe('code version', () => {
  it("is the build's package version and commit (Vite define, also under Vitest)", () => {
    expect(pageCodeVersion()).toMatch(/^\d+\.\d+\.\d+\+([0-9a-f]{12}|unknown)$/);
  });
});

describe('run artifacts', () => {
  it('lists a run stored before keys, keeps a manifest through Start afresh, and deletes one run only', async () => {
    const { store, datasetId } = await storedDataset('run-list-store');
    await store.putArtifact(datasetId, 'experiment/state', { format: 'expandr-run-state', version: 1, configKey: 'k', stages: {} });
    expect(await listRunIds(store, datasetId)).toEqual([LEGACY_RUN_ID]);
    expect(await currentRunId(store, datasetId)).toBe(LEGACY_RUN_ID);
    expect((await new RunList(async () => store).list(datasetId))[0]).toMatchObject({ id: LEGACY_RUN_ID, short: '', name: 'Run stored before run keys' });

    const id = 'run-' + 'ab'.repeat(32);
    await putRunManifest(store, datasetId, id, { name: 'x' });
    await store.putArtifact(datasetId, `${runPrefix(id)}/state`, { stages: {} });
    await store.putArtifact(datasetId, `${runPrefix(id)}/files/runs/Raw`, { 'run.trec': new Uint8Array(1) });
    expect((await listRunIds(store, datasetId)).sort()).toEqual([LEGACY_RUN_ID, id].sort());

    await deleteRunArtifacts(store, datasetId, id, { keepManifest: true });
    expect(await getRunManifest(store, datasetId, id)).toEqual({ name: 'x' });
    expect((await store.listArtifacts(datasetId)).filter((k) => k.startsWith(runPrefix(id)))).toEqual([`${runPrefix(id)}/manifest`]);

    await deleteRunArtifacts(store, datasetId, id);
    expect(await store.listArtifacts(datasetId)).toEqual(['experiment/state']);
    store.close();
  });
});

describe('page run models', () => {
  it('a Hub encoder with a known commit is pinned to it; without one it is unpinned at main', async () => {
    const base = { handle: 'h', name: 'org/enc', source: 'hub' as const, modelHash: 'sha256:x', dim: 4, settings: {} as never, cacheKey: 'hf:org/enc' };
    const commit = '0123456789abcdef0123456789abcdef01234567';
    expect(pageModels({ ...base, hubCommit: commit }, null)[0].hub).toEqual({ id: 'org/enc', revision: commit, pinned: true });
    expect(pageModels(base, null)[0].hub).toEqual({ id: 'org/enc', revision: 'main', pinned: false });
  });
});
