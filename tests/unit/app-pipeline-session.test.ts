// The page's pipeline path in Node (the worker's code without the worker): a stored SciFact subset, the
// tiny-bert encoder and stories260K loaded as the page loads them, the Expand step, then "Run all" on
// the same stored run (Expand's stages reused), the state read back by a fresh session (a reloaded tab),
// downloads, Start afresh, and the figures' SVG. Pure UI helpers are checked alongside.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useBackend } from '../../src/cli/backend.ts';
import { unzipSync } from 'fflate';
import { IDBFactory } from 'fake-indexeddb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.ts';
import { importBeir } from '../../src/store/import-beir.ts';
import { fromBytes } from '../../src/data/source.ts';
import { RetrieverSession } from '../../src/app/retriever-session.ts';
import { LlmSession, q2aDocChars } from '../../src/app/llm-session.ts';
import { PipelineSession, stepOfStage, type PipelineRunArgs } from '../../src/app/pipeline-session.ts';
import { appLlmSide } from '../../src/app/app-llm-side.ts';
import { SETTING_NAMES } from '../../src/pipeline/types.ts';
import { isMissing } from '../../src/pipeline/analysis-input.ts';

const present = <T extends object>(s: T | { missing: string }) => s as T;
import { CancelledError } from '../../src/errors.ts';
import { Q2A_DOC_MAX_CHARS } from '../../src/pipeline/prompts.ts';
import { barsSvg, linesSvg, scatterSvg } from '../../src/util/figure-svg.ts';
import { guidance, type Capabilities } from '../../src/ui/capabilities.ts';
import { writeScifactSubset } from '../browser/scifact-subset.ts';
import { folderFiles } from './helpers/folder-files.ts';

const ROOT = join(import.meta.dirname, '../..');
const SCIFACT = join(ROOT, '../shared/data/beir/scifact');
const TINY_BERT = join(ROOT, 'tests/reference/fixtures/tiny-bert');
const STORIES = join(ROOT, '../shared/models/stories260K');
const LONG_TEST_MS = 600_000;

const TINY_CONFIG = {
  trainQueries: 4,
  testQueries: 4,
  expansion: { maxTokens: 8 },
  answer: { maxTokens: 8 },
  candidates: { temperatures: [0.8, 1.1], perTemperature: 1, maxTokens: 8 },
  rewards: { filter: 0 },
  retriever: { steps: 2, batchSize: 4, hardNegatives: false },
  dpo: { steps: 1, batchSize: 2 },
};

let subset: string;
beforeAll(async () => {
  await useBackend('wasm'); // the worker's backend on a software adapter; cpu takes ~5× longer here
  subset = mkdtempSync(join(tmpdir(), 'expandr-pipeline-session-'));
  writeScifactSubset(SCIFACT, subset, { queries: 6, docs: 40 });
});
afterAll(() => rmSync(subset, { recursive: true, force: true }));

describe('PipelineSession', () => {
  it(
    'runs Expand, then Run all on the same stored run, and a fresh session reads it back',
    async () => {
      const factory = new IDBFactory();
      const open = () => openStore({ dbName: 'pipeline-session-test', idbFactory: factory });
      const store = await open();
      const file = (p: string) => fromBytes(`scifact-mini/${p}`, readFileSync(join(subset, p)));
      const { dataset } = await importBeir(store, ['corpus.jsonl', 'queries.jsonl', 'qrels/test.tsv', 'qrels/train.tsv'].map(file), {
        estimate: async () => ({ quota: 1e9, usage: 0 }),
      });
      const retrievers = new RetrieverSession(async () => store);
      const llms = new LlmSession();
      const side = (r: RetrieverSession, l: LlmSession) =>
        new PipelineSession(async () => store, r, l, (llm, config, at) => appLlmSide(llm, config, at));
      const session = side(retrievers, llms);
      const enc = await retrievers.load({ kind: 'files', files: folderFiles(TINY_BERT, 'tiny-bert') });
      const llm = await llms.load({ kind: 'files', files: folderFiles(STORIES, 'stories260K') });
      expect(llm).toMatchObject({ engine: 'tfjs', format: 'llama2c', layers: 5, dim: 64, vocab: 512, chat: false, maxSeqLen: 512 });
      // stories260K's 512 positions cannot hold 2000 characters of d*: the Q2A budget shrinks to fit.
      expect(q2aDocChars(llm, 8)).toBeGreaterThan(0);
      expect(q2aDocChars(llm, 8)).toBeLessThan(Q2A_DOC_MAX_CHARS);

      const args: PipelineRunArgs = { datasetId: dataset.id, encoder: enc.handle, llm: llm.handle, config: TINY_CONFIG, step: 'expand' };
      // Cancelled once BM25 is done: the finished stage stays stored (and is reused below).
      const ac = new AbortController();
      const cancelled = session.run(args, { signal: ac.signal, onEvent: (e) => e.kind === 'log' && e.text.startsWith('evaluating Raw') && ac.abort(new CancelledError()) });
      await expect(cancelled).rejects.toThrow(CancelledError);
      expect((await session.state(dataset.id))?.finished).toEqual(['eval:BM25', 'devEval:BM25']);
      const events: string[] = [];
      const progress: string[] = [];
      const expand = await session.run(args, { onEvent: (e) => e.kind === 'log' && events.push(e.text), onProgress: (p) => progress.push(p.stage) });
      expect(expand.results?.rows.map((r) => r.setting)).toEqual(['BM25', 'Raw', 'Raw+expansion']);
      expect(expand.complete).toBe(false);
      expect(expand.finished.filter((s) => stepOfStage(s) === 'expand')).toContain('expansions:base:test');
      expect(events.some((t) => t.startsWith('expanding'))).toBe(true);
      expect(progress).toContain('pipeline:expand');

      const all = await session.run({ ...args, step: 'all' }, {});
      expect(all.results?.rows.map((r) => r.setting)).toEqual([...SETTING_NAMES]);
      for (const r of all.results!.rows) for (const m of ['ndcg@10', 'recall@100', 'mrr@10', 'map@100'] as const) expect(r[m]).toBeGreaterThanOrEqual(0);
      expect(all.complete).toBe(true);
      expect(all.log.some((l) => /stages reused/.test(l))).toBe(true);
      expect(all.files).toEqual(expect.arrayContaining(['encoders/FT', 'encoders/round-1', 'adapters/round-1', 'expansions/base-test', 'runs/BM25']));
      expect(all.figures?.tsne.length).toBeGreaterThan(0);
      expect(Object.keys(all.preferences)).toContain('round-1');

      // A reloaded tab: new sessions over the same IndexedDB see the finished run.
      const again = side(new RetrieverSession(async () => store), new LlmSession());
      const restored = await again.state(dataset.id);
      expect(restored?.results?.rows).toHaveLength(SETTING_NAMES.length);
      expect(restored?.complete).toBe(true);

      // The analysis (`expandr analyze`'s report) from what the tab stored: every section there, each from the run.
      const { analysis, markdown, fileName } = await again.analysis(dataset.id);
      expect(fileName).toMatch(/-analysis\.md$/);
      for (const [name, section] of Object.entries(analysis)) if (name !== 'notes') expect(isMissing(section as object), name).toBe(false);
      expect(present(analysis.expansionLength).rows.map((l) => l.llm)).toEqual(expect.arrayContaining(['base', 'round-1']));
      expect(present(analysis.dpo).stages.map((d) => d.name)).toContain('round-1');
      expect(present(analysis.dpo).stages.find((d) => d.name === 'round-1')!.accuracySource).not.toBe('none'); // from the stored checkpoint
      expect(present(analysis.timings).stages.map((t) => t.stage).sort()).toEqual([...all.finished].sort());
      expect(present(analysis.queryGains).pairs.some((p) => p.expanded === 'ExpandR')).toBe(true);
      expect(markdown).toContain('## 7. Wall time per stage');
      await expect(side(new RetrieverSession(async () => store), new LlmSession()).analysis('no-such-dataset')).rejects.toThrow(/no longer stored/);

      const zip = await again.download(dataset.id, { kind: 'files', name: 'encoders/round-1' });
      expect(zip.name).toMatch(/\.zip$/);
      expect(Object.keys(unzipSync(zip.bytes)).some((n) => n.endsWith('/model.safetensors'))).toBe(true);
      const adapter = await again.download(dataset.id, { kind: 'files', name: 'adapters/round-1' });
      expect(Object.keys(unzipSync(adapter.bytes)).some((n) => n.endsWith('/adapter_model.safetensors'))).toBe(true);
      const jsonl = await again.download(dataset.id, { kind: 'files', name: 'expansions/base-test' });
      expect(new TextDecoder().decode(jsonl.bytes).trim().split('\n')).toHaveLength(4);
      const csv = new TextDecoder().decode((await again.download(dataset.id, { kind: 'results', format: 'csv' })).bytes);
      expect(csv.split('\n')[0]).toContain('setting');

      // Another config on the same dataset is a new run beside this one (src/app/run-list.ts; tested in
      // app-run-list.test.ts); Start afresh clears the open run.
      await session.reset(dataset.id);
      expect(await session.state(dataset.id)).toBeNull();
    },
    LONG_TEST_MS,
  );
});

describe('figures as SVG', () => {
  it('draws one panel per setting, one bar per setting and one line per series', () => {
    const pts = (n: number) => Array.from({ length: n }, (_, i) => [{ x: i, y: i * 2, kind: 'query' as const, pair: i }, { x: i + 0.5, y: i, kind: 'doc' as const, pair: i }]).flat();
    const s = scatterSvg([{ title: 'Raw', points: pts(10) }, { title: 'ExpandR <&>', points: pts(10) }]);
    expect(s.svg.match(/<g data-panel=/g)).toHaveLength(2);
    expect(s.svg.match(/<circle /g)).toHaveLength(20);
    expect(s.svg).toContain('ExpandR &lt;&amp;&gt;');
    const b = barsSvg([{ label: 'Raw+expansion', value: 40 }, { label: 'ExpandR', value: 55.5 }]);
    expect(b.svg.match(/<rect x="170"/g)).toHaveLength(2);
    const l = linesSvg([1, 2, 3], [{ label: 'loss', values: [3, 2, 1] }, { label: 'margin', values: [0, NaN, 1] }]);
    expect(l.svg.match(/<polyline /g)).toHaveLength(2);
    for (const f of [s, b, l]) expect(f.svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  });
});

describe('capability guidance', () => {
  it('says what to do when WebGPU, shader-f16, binding size or persistence are missing', () => {
    expect(guidance({ webgpu: 'missing' })[0]).toMatchObject({ level: 'error' });
    expect(guidance({ webgpu: 'missing' })[0].text).toContain('chrome://flags/#enable-unsafe-webgpu');
    const caps: Capabilities = {
      webgpu: 'available',
      adapter: { vendor: 'google', architecture: 'swiftshader', device: '', description: '', limits: { maxStorageBufferBindingSize: 128 * 2 ** 20 }, features: [], fallback: true },
      storage: { usage: 0, quota: 10 * 2 ** 30, persisted: false },
    };
    const texts = guidance(caps).map((g) => g.text).join('\n');
    for (const s of ['SwiftShader', 'shader-f16', 'maxStorageBufferBindingSize is 128 MB', 'Keep storage']) expect(texts).toContain(s);
    const good: Capabilities = { webgpu: 'available', adapter: { ...caps.adapter!, fallback: false, features: ['shader-f16'], limits: { maxStorageBufferBindingSize: 2 ** 31 } }, storage: { usage: 0, quota: 2 ** 40, persisted: true } };
    expect(guidance(good)).toEqual([{ level: 'ok', text: expect.any(String) }]);
  });
});
