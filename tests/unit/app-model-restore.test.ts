// The page's models survive a closed tab: tiny-bert and stories260K dropped into one session are kept in
// IndexedDB (modelFiles, 'local:<hash>') and remembered; a NEW session (and host) over the same store
// loads both again without a drop, and the stored run continues (its finished stages reused).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDBFactory } from 'fake-indexeddb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/cli/backend.ts';
import { openStore } from '../../src/store/store.ts';
import { importBeir } from '../../src/store/import-beir.ts';
import { fromBytes } from '../../src/data/source.ts';
import { RetrieverSession } from '../../src/app/retriever-session.ts';
import { LlmSession } from '../../src/app/llm-session.ts';
import { PipelineSession, type PipelineRunArgs } from '../../src/app/pipeline-session.ts';
import { appLlmSide } from '../../src/app/app-llm-side.ts';
import { createHost } from '../../src/app/host.ts';
import type { Response } from '../../src/app/protocol.ts';
import { CancelledError } from '../../src/errors.ts';
import { writeScifactSubset } from '../browser/scifact-subset.ts';
import { folderFiles } from './helpers/folder-files.ts';

const ROOT = join(import.meta.dirname, '../..');
const SCIFACT = join(ROOT, '../shared/data/beir/scifact');
const TINY_BERT = join(ROOT, 'tests/reference/fixtures/tiny-bert');
const STORIES = join(ROOT, '../shared/models/stories260K');

const TINY_CONFIG = {
  trainQueries: 2,
  testQueries: 2,
  expansion: { maxTokens: 4 },
  answer: { maxTokens: 4 },
  candidates: { temperatures: [0.8], perTemperature: 1, maxTokens: 4 },
  rewards: { filter: 0 },
  retriever: { steps: 1, batchSize: 2, hardNegatives: false },
  dpo: { steps: 1, batchSize: 2 },
};

let subset: string;
beforeAll(async () => {
  await useBackend('wasm');
  subset = mkdtempSync(join(tmpdir(), 'expandr-model-restore-'));
  writeScifactSubset(SCIFACT, subset, { queries: 4, docs: 20 });
});
afterAll(() => rmSync(subset, { recursive: true, force: true }));

describe('model restore', () => {
  it('brings the dropped encoder and LLM back in a new session, and the stored run continues', async () => {
    const factory = new IDBFactory();
    const open = () => openStore({ dbName: 'model-restore-test', idbFactory: factory });
    const store = await open();
    const file = (p: string) => fromBytes(`scifact-mini/${p}`, readFileSync(join(subset, p)));
    const { dataset } = await importBeir(store, ['corpus.jsonl', 'queries.jsonl', 'qrels/test.tsv', 'qrels/train.tsv'].map(file), {
      estimate: async () => ({ quota: 1e9, usage: 0 }),
    });

    // Nothing loaded yet: nothing to restore.
    expect(await new RetrieverSession(async () => store).restore()).toBeNull();
    expect(await new LlmSession(async () => store).restore()).toBeNull();

    const retrievers = new RetrieverSession(async () => store);
    const llms = new LlmSession(async () => store);
    const session = new PipelineSession(async () => store, retrievers, llms, (llm, config, at) => appLlmSide(llm, config, at));
    const enc = await retrievers.load({ kind: 'files', files: folderFiles(TINY_BERT, 'tiny-bert') });
    const llm = await llms.load({ kind: 'files', files: folderFiles(STORIES, 'stories260K') });
    expect(llm.cacheKey).toMatch(/^local:sha256:/);
    // The kept LLM is not offered as an encoder.
    expect((await retrievers.cached()).map((c) => c.source)).toEqual([enc.cacheKey]);

    const args: PipelineRunArgs = { datasetId: dataset.id, encoder: enc.handle, llm: llm.handle, config: TINY_CONFIG, step: 'expand' };
    // The tab closes once BM25 is evaluated: that stage is stored.
    const ac = new AbortController();
    const stopped = session.run(args, { signal: ac.signal, onEvent: (e) => e.kind === 'log' && e.text.startsWith('evaluating Raw') && ac.abort(new CancelledError()) });
    await expect(stopped).rejects.toThrow(CancelledError);
    expect((await session.state(dataset.id))?.finished).toEqual(['eval:BM25', 'devEval:BM25']);

    // A new page: a new store connection, new sessions; the models come back from IndexedDB, no drop.
    const store2 = await open();
    const retrievers2 = new RetrieverSession(async () => store2);
    const llms2 = new LlmSession(async () => store2);
    const progress: string[] = [];
    const enc2 = await retrievers2.restore();
    const llm2 = await llms2.restore({ onProgress: (p) => progress.push(p.stage) });
    expect(enc2).toMatchObject({ name: 'tiny-bert', cacheKey: enc.cacheKey, modelHash: enc.modelHash, dim: enc.dim });
    expect(llm2).toMatchObject({ name: 'stories260K', engine: 'tfjs', format: 'llama2c', layers: 5, dim: 64, vocab: 512, cacheKey: llm.cacheKey, params: llm.params });
    expect(progress).toContain('llm:restore');
    // Restoring twice does not load twice.
    expect((await llms2.restore())?.handle).toBe(llm2!.handle);
    expect((await retrievers2.restore())?.handle).toBe(enc2!.handle);

    const session2 = new PipelineSession(async () => store2, retrievers2, llms2, (l, config, at) => appLlmSide(l, config, at));
    const events: string[] = [];
    const done = await session2.run({ ...args, encoder: enc2!.handle, llm: llm2!.handle }, { onEvent: (e) => e.kind === 'log' && events.push(e.text) });
    expect(done.results?.rows.map((r) => r.setting)).toEqual(['BM25', 'Raw', 'Raw+expansion']);
    expect(done.finished).toContain('expansions:base:test');
    expect(events.some((t) => /stages reused/.test(t))).toBe(true);

    // The same through the worker protocol: a new host restores both.
    const posted: Response[] = [];
    const host = createHost((m) => posted.push(m), open);
    await host.handle({ type: 'encoder:restore', id: 1, args: {} });
    await host.handle({ type: 'llm:restore', id: 2, args: {} });
    const result = (id: number) => posted.find((m) => m.type === 'result' && m.id === id) as { result: { name: string } | null } | undefined;
    expect(result(1)?.result?.name).toBe('tiny-bert');
    expect(result(2)?.result?.name).toBe('stories260K');
  }, 600_000);
});
