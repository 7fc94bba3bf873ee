// The page's pipeline keeps the base encoder's corpus embeddings where the page's run import (and dense
// evaluation) look for them: after a Run all with Raw, importing expansions scored as Raw+expansion with the
// same encoder reads the corpus from the store instead of encoding it again (a SciFact corpus is tens of
// minutes of encoding in a page on a CPU), and the pipeline's Raw and the import see the same vectors.
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDBFactory } from 'fake-indexeddb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/cli/backend.ts';
import { fromBytes } from '../../src/data/source.ts';
import { RetrieverSession } from '../../src/app/retriever-session.ts';
import { LlmSession } from '../../src/app/llm-session.ts';
import { PipelineSession } from '../../src/app/pipeline-session.ts';
import { appLlmSide } from '../../src/app/app-llm-side.ts';
import { importRunFile } from '../../src/app/run-import.ts';
import { loadBertEncoder } from '../../src/encoder/encoder.ts';
import { ENCODE_STAGE } from '../../src/retrieval/dense/encode-corpus.ts';
import { importBeir } from '../../src/store/import-beir.ts';
import { openStore } from '../../src/store/store.ts';
import type { Progress } from '../../src/util/progress.ts';
import { writeScifactSubset } from '../browser/scifact-subset.ts';
import { folderFiles } from './helpers/folder-files.ts';

const ROOT = join(import.meta.dirname, '../..');
const SCIFACT = join(ROOT, '../shared/data/beir/scifact');
const TINY_BERT = join(ROOT, 'tests/reference/fixtures/tiny-bert');

let subset: string;
beforeAll(async () => {
  await useBackend('wasm');
  subset = mkdtempSync(join(tmpdir(), 'expandr-shared-embeddings-'));
  writeScifactSubset(SCIFACT, subset, { queries: 4, docs: 30 });
});
afterAll(() => rmSync(subset, { recursive: true, force: true }));

describe('the page pipeline’s corpus embeddings', () => {
  it('are the ones a later import of expansions reads, without encoding the corpus again', async () => {
    const store = await openStore({ dbName: 'shared-embeddings-test', idbFactory: new IDBFactory() });
    const file = (p: string) => fromBytes(`scifact-mini/${p}`, readFileSync(join(subset, p)));
    const { dataset } = await importBeir(store, ['corpus.jsonl', 'queries.jsonl', 'qrels/test.tsv', 'qrels/train.tsv'].map(file), { estimate: async () => ({ quota: 1e9, usage: 0 }) });
    const retrievers = new RetrieverSession(async () => store);
    const session = new PipelineSession(async () => store, retrievers, new LlmSession(), (llm, config, at) => appLlmSide(llm, config, at));
    const enc = await retrievers.load({ kind: 'files', files: folderFiles(TINY_BERT, 'tiny-bert') });

    const piped: Progress[] = [];
    const snap = await session.run({ datasetId: dataset.id, encoder: enc.handle, llm: null, config: { settings: ['Raw'] }, step: 'all' }, { onProgress: (p) => piped.push(p) });
    expect(piped.some((p) => p.stage === ENCODE_STAGE && p.text !== 'cached')).toBe(true); // the pipeline encoded it

    const testIds = [...(await store.getQrels(dataset.id, 'test')).keys()];
    const text = testIds.map((id) => JSON.stringify({ id, expansion: 'a claim about cells and genes' })).join('\n') + '\n';
    const src = retrievers.source(enc.handle);
    const encoder = await loadBertEncoder(src.files, { settings: src.summary.settings });
    const imported: Progress[] = [];
    try {
      const r = await importRunFile(store, { datasetId: dataset.id, split: 'test', file: 'x.jsonl', text }, { encoder, name: src.summary.name, modelHash: src.summary.modelHash }, { onProgress: (p) => imported.push(p) });
      expect(r.setting).toBe('Raw+expansion');
    } finally {
      encoder.dispose();
    }
    const encodes = imported.filter((p) => p.stage === ENCODE_STAGE);
    expect(encodes.length).toBeGreaterThan(0);
    expect(encodes.every((p) => p.text === 'cached')).toBe(true);
    expect(snap.results?.rows.map((r) => r.setting)).toEqual(['Raw']);
  }, 300_000);
});
