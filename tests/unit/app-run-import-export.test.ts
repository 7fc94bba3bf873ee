// Bring and take (src/app/run-import*.ts, run-export*.ts, the Hub token of model-source.ts), on fake-indexeddb:
// - a file brought in is checked against the dataset: empty file, bad line, unknown query ids, a split that
//   judges none of its queries, each refused naming the file, the line and the fix;
// - a TREC run made from the page's own BM25 run, imported, is listed as a run and compares with that
//   BM25 row at p = 1 with zero difference on every query; expansions are scored as BM25 over
//   "query expansion" without an encoder and as Raw+expansion with one, and the case rows show them;
// - a run's zip holds config, results (json/md/csv), its analysis, TREC runs, expansions, figures, README, and
//   checkpoints only when asked;
// - the Hugging Face token opens a gated model (Authorization: Bearer) and is written nowhere: not in the
//   model cache, the run's records, or its export.
import { readdirSync, readFileSync, statSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { unzipSync } from 'fflate';
import { IDBFactory } from 'fake-indexeddb';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { useBackend } from '../../src/cli/backend.ts';
import { LlmSession } from '../../src/app/llm-session.ts';
import { setHubToken } from '../../src/app/model-source.ts';
import { PipelineSession } from '../../src/app/pipeline-session.ts';
import { RetrieverSession } from '../../src/app/retriever-session.ts';
import { collectRunExport } from '../../src/app/run-export-collect.ts';
import { exportReadme, runExportEntries, runExportZip, type RunExportParts } from '../../src/app/run-export.ts';
import { importKindOf, parseImportedExpansions, parseImportedTrecRun, type ImportTarget } from '../../src/app/run-import-parse.ts';
import { importRunFile } from '../../src/app/run-import.ts';
import { RunList } from '../../src/app/run-list.ts';
import { fromBytes } from '../../src/data/source.ts';
import { loadBertEncoder } from '../../src/encoder/encoder.ts';
import { HF_ENDPOINT } from '../../src/model/sources-hub.ts';
import { importBeir } from '../../src/store/import-beir.ts';
import { runPrefix } from '../../src/store/run-artifacts.ts';
import { openStore, type Store } from '../../src/store/store.ts';
import { writeScifactSubset } from '../browser/scifact-subset.ts';
import { folderFiles } from './helpers/folder-files.ts';

const ROOT = join(import.meta.dirname, '../..');
const SCIFACT = join(ROOT, '../shared/data/beir/scifact');
const TINY_BERT = join(ROOT, 'tests/reference/fixtures/tiny-bert');
const TEST_MS = 300_000;

describe('import parsing and checks', () => {
  const t: ImportTarget = { dataset: 'scifact', split: 'test', queryIds: new Set(['1', '3', '5', '7']), judged: new Set(['1', '3']) };

  it('tells a TREC run from expansions JSONL by name or first line', () => {
    expect(importKindOf('x.jsonl', '')).toBe('expansions');
    expect(importKindOf('x.txt', '\n{"id":"1","expansion":"a"}')).toBe('expansions');
    expect(importKindOf('x.trec', '1 Q0 d 1 2.5 t')).toBe('trec');
  });

  it('reads a TREC run and counts judged and unjudged queries', () => {
    const r = parseImportedTrecRun('bm25.trec', '1 Q0 d1 1 2.5 t\n1 Q0 d2 2 1.5 t\n5 Q0 d1 1 3 t\n', t);
    expect(r.run.get('1')).toHaveLength(2);
    expect(r).toMatchObject({ judged: 1, unjudged: 1 });
  });

  it('refuses an empty file, a bad line, unknown query ids and an unjudged split, naming file, line and fix', () => {
    expect(() => parseImportedTrecRun('empty.trec', ' \n\n', t)).toThrow(/^empty\.trec: the file is empty\. Choose a non-empty TREC run file/);
    expect(() => parseImportedTrecRun('bad.trec', '1 Q0 d1 1 2.5 t\n1 Q0 d2 2 1.5\n', t)).toThrow(/^bad\.trec line 2: expected 6 columns "qid Q0 docid rank score tag", found 5\. Write one hit per line/);
    expect(() => parseImportedTrecRun('bad.trec', '1 Q0 d1 1 x t\n', t)).toThrow(/^bad\.trec line 1: score "x" is not a number/);
    expect(() => parseImportedTrecRun('other.trec', '1 Q0 d1 1 2 t\n\n42 Q0 d1 1 2 t\n43 Q0 d1 1 2 t\n', t)).toThrow(
      /^other\.trec line 3: query id "42" is not a query of dataset "scifact" \(2 of the file's 3 query ids are unknown; the dataset's look like 1, 3, 5\)\. Import the run file for the dataset it was made for/,
    );
    expect(() => parseImportedTrecRun('dev.trec', '5 Q0 d1 1 2 t\n7 Q0 d1 1 2 t\n', t)).toThrow(/^dev\.trec: none of its 2 queries is judged in split "test" of "scifact"\. Pick the split the file was made for/);
    expect(() => parseImportedTrecRun('exp.trec', '{"id":"1","expansion":"x"}\n', t)).toThrow(/holds JSON lines, not a TREC run/);
  });

  it('reads expansions JSONL and refuses bad lines and unknown ids with their line', () => {
    const r = parseImportedExpansions('e.jsonl', '{"id":"1","expansion":"a b"}\n{"query_id":3,"text":"c"}\n', t);
    expect([...r.expansions]).toEqual([['1', 'a b'], ['3', 'c']]);
    expect(() => parseImportedExpansions('e.jsonl', '', t)).toThrow(/^e\.jsonl: the file is empty/);
    expect(() => parseImportedExpansions('e.jsonl', '{"id":"1","expansion":"a"}\nnot json\n', t)).toThrow(/^e\.jsonl line 2: not valid JSON/);
    expect(() => parseImportedExpansions('e.jsonl', '{"id":"1","expansion":"a"}\n{"id":"9","expansion":"b"}\n', t)).toThrow(/^e\.jsonl line 2: query id "9" is not a query of dataset "scifact"/);
  });
});

describe('export file list', () => {
  const parts: RunExportParts = {
    name: 'scifact · tiny-bert',
    key: 'run-0123456789abcdef',
    dataset: 'scifact',
    config: { name: 'scifact · tiny-bert', config: { seed: 42 } },
    results: { json: '{"rows":[]}', md: '# r\n', csv: 'setting\n' },
    fileSets: [
      { name: 'runs/BM25', files: { 'run.trec': new Uint8Array([1]) } },
      { name: 'expansions/base-test', files: { 'expansions.jsonl': new Uint8Array([2]), 'generation.json': new Uint8Array([3]) } },
      { name: 'encoders/FT', files: { 'config.json': new Uint8Array([4]), '1_Pooling/config.json': new Uint8Array([5]) } },
      { name: 'adapters/round-1', files: { 'adapter_model.safetensors': new Uint8Array([6]) } },
    ],
    checkpoints: false,
    code: '0.1.0+abcdef012345',
    runCode: '0.1.0+000000000000',
    figures: null,
  };
  const figures = [{ name: 'tsne', svg: '<svg/>', png: new Uint8Array([137, 80]) }, { name: 'expansion length', svg: '<svg/>' }];

  it('lists config, results, runs, expansions, figures and README; checkpoints only when asked', () => {
    expect([...runExportEntries(parts, figures).keys()]).toEqual([
      'config.json', 'results.json', 'results.md', 'results.csv', 'expansions/base-test.jsonl', 'runs/BM25.trec',
      'figures/tsne.svg', 'figures/tsne.png', 'figures/expansion-length.svg', 'README.txt',
    ]);
    const withCk = [...runExportEntries({ ...parts, checkpoints: true }).keys()];
    expect(withCk.filter((p) => p.startsWith('checkpoints/'))).toEqual([
      'checkpoints/adapters/round-1/adapter_model.safetensors', 'checkpoints/encoders/FT/1_Pooling/config.json', 'checkpoints/encoders/FT/config.json',
    ]);
    expect(withCk.at(-1)).toBe('README.txt');
  });

  it('names every file and both code versions in the README, and zips to what it lists', () => {
    const entries = runExportEntries(parts, figures);
    const readme = new TextDecoder().decode(entries.get('README.txt'));
    for (const path of entries.keys()) expect(readme).toContain(`  ${path}`);
    expect(readme).toContain('ExpandR Web 0.1.0+abcdef012345; the run was made with 0.1.0+000000000000');
    expect(readme).toContain('not included');
    expect(exportReadme({ ...parts, checkpoints: true }, [])).toContain('are included');
    const back = unzipSync(runExportZip(entries));
    expect(Object.keys(back).sort()).toEqual([...entries.keys()].sort());
    expect(back['runs/BM25.trec']).toEqual(new Uint8Array([1]));
  });
});

let subset: string;
beforeAll(async () => {
  await useBackend('wasm');
  subset = mkdtempSync(join(tmpdir(), 'expandr-run-import-'));
  writeScifactSubset(SCIFACT, subset, { queries: 6, docs: 40 });
});
afterAll(() => rmSync(subset, { recursive: true, force: true }));
afterEach(() => {
  vi.unstubAllGlobals();
  setHubToken(null);
});

async function storedDataset(dbName: string): Promise<{ store: Store; datasetId: string }> {
  const store = await openStore({ dbName, idbFactory: new IDBFactory() });
  const file = (p: string) => fromBytes(`scifact-mini/${p}`, readFileSync(join(subset, p)));
  const { dataset } = await importBeir(store, ['corpus.jsonl', 'queries.jsonl', 'qrels/test.tsv', 'qrels/train.tsv'].map(file), {
    estimate: async () => ({ quota: 1e9, usage: 0 }),
  });
  return { store, datasetId: dataset.id };
}

/** Every stored byte of the dataset's artifacts and of the model cache, as latin1 text (to search for a secret). */
async function everythingStored(store: Store, datasetId: string): Promise<string> {
  const parts: string[] = [];
  const walk = (v: unknown): void => {
    if (v instanceof Uint8Array) parts.push(Buffer.from(v).toString('latin1'));
    else if (v && typeof v === 'object') for (const x of Object.values(v)) walk(x);
    else parts.push(String(v));
  };
  for (const key of await store.listArtifacts(datasetId)) walk(await store.getArtifact(datasetId, key));
  for (const f of await store.listModelFiles()) walk(await store.getModelFile(f.source, f.revision, f.file));
  return parts.join('\n');
}

const TOKEN = 'hf_secretTOKEN0123456789';
const COMMIT = '0123456789abcdef0123456789abcdef01234567';

/** A gated Hub model (the tiny-bert fixture): files only with `Authorization: Bearer TOKEN`, else 401; answers with X-Repo-Commit. */
function gatedHub(id: string): { fetch: typeof globalThis.fetch; auth: (string | null)[] } {
  const files = new Map<string, Uint8Array>();
  const walk = (d: string) => {
    for (const f of readdirSync(d)) statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : files.set(relative(TINY_BERT, join(d, f)), readFileSync(join(d, f)));
  };
  walk(TINY_BERT);
  const auth: (string | null)[] = [];
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    const header = new Headers(init?.headers).get('authorization');
    auth.push(header);
    if (header !== `Bearer ${TOKEN}`) return new Response('gated', { status: 401 });
    const m = new RegExp(`^${HF_ENDPOINT}/${id}/resolve/(main|${COMMIT})/(.+)$`).exec(url);
    const bytes = m ? files.get(decodeURIComponent(m[2])) : undefined;
    if (!bytes) return new Response('Entry not found', { status: 404 });
    return new Response(bytes as Uint8Array<ArrayBuffer>, { status: 200, headers: { 'content-length': String(bytes.length), 'x-repo-commit': COMMIT } });
  }) as typeof globalThis.fetch;
  return { fetch, auth };
}

describe('bring and take through the store', () => {
  it(
    "imports the page's BM25 run as a TREC file (p = 1, no difference), expansions both ways, and exports runs as zips",
    async () => {
      const { store, datasetId } = await storedDataset('run-import');
      const retrievers = new RetrieverSession(async () => store);
      const session = new PipelineSession(async () => store, retrievers, new LlmSession(), () => {
        throw new Error('no LLM in this test');
      });
      const runs = new RunList(async () => store);
      const tiny = await retrievers.load({ kind: 'files', files: folderFiles(TINY_BERT, 'tiny-bert') });
      await session.run({ datasetId, llm: null, step: 'evaluate', encoder: tiny.handle, config: { settings: ['BM25', 'Raw'] } }, {});
      const [page] = await runs.list(datasetId);
      const bm25 = await store.getArtifact<Record<string, Uint8Array>>(datasetId, `${runPrefix(page.id)}/files/runs/BM25`);
      const trec = new TextDecoder().decode(bm25!['run.trec']);

      const imported = await importRunFile(store, { datasetId, split: 'test', file: 'bm25.trec', text: trec }, null);
      expect(imported).toMatchObject({ setting: 'TREC run', imported: { kind: 'trec', scoring: 'trec', unjudged: 0 } });
      const list = await runs.list(datasetId);
      expect(list).toHaveLength(2);
      const entry = list.find((r) => r.id === imported.run)!;
      expect(entry).toMatchObject({ status: 'imported', done: ['TREC run'], name: 'bm25.trec (imported)', overrides: null });
      expect(entry.imported).toContain('bm25.trec: TREC run scored as ranked in the file');
      expect(list.find((r) => r.id === page.id)?.overrides).toEqual({ settings: ['BM25', 'Raw'] });

      const same = await runs.compare({ datasetId, run: page.id, setting: 'BM25' }, { datasetId, run: imported.run, setting: 'TREC run' }, 'ndcg@10', 0, 3);
      expect(same.comparison.test.pValue).toBe(1);
      expect(same.comparison.test.meanDiff).toBe(0);
      expect(same.comparison.shared).toBe(imported.imported.queries);
      expect(same.comparison.diffs.every((d) => d.diff === 0)).toBe(true);
      // Importing the same file again is the same run, not a second one.
      await importRunFile(store, { datasetId, split: 'test', file: 'bm25.trec', text: trec }, null);
      expect(await runs.list(datasetId)).toHaveLength(2);

      // Expansions: BM25 over "query expansion" without an encoder, Raw+expansion with one.
      const queries = readFileSync(join(subset, 'queries.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { _id: string; text: string });
      const testIds = new Set(readFileSync(join(subset, 'qrels/test.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t')[0]));
      const jsonl = queries.filter((q) => testIds.has(q._id)).map((q) => JSON.stringify({ id: q._id, expansion: `${q.text} evidence study results` })).join('\n');
      const viaBm25 = await importRunFile(store, { datasetId, split: 'test', file: 'exp.jsonl', text: jsonl }, null);
      expect(viaBm25).toMatchObject({ setting: 'BM25+expansion', imported: { scoring: 'bm25', scoredAs: 'BM25 over "query expansion" (k1 0.9, b 0.4)' } });
      const encoder = await loadBertEncoder(retrievers.source(tiny.handle).files, { settings: tiny.settings });
      const viaDense = await importRunFile(store, { datasetId, split: 'test', file: 'exp.jsonl', text: jsonl }, { encoder, name: 'tiny-bert', modelHash: tiny.modelHash });
      encoder.dispose();
      expect(viaDense).toMatchObject({ setting: 'Raw+expansion', imported: { scoring: 'dense' } });
      expect(viaDense.run).not.toBe(viaBm25.run);
      const cmp = await runs.compare({ datasetId, run: page.id, setting: 'BM25' }, { datasetId, run: viaDense.run, setting: 'Raw+expansion' }, 'ndcg@10', 0, 6);
      expect(cmp.cases.length).toBeGreaterThan(0);
      for (const c of cmp.cases) {
        expect(c.expansionB).toContain('evidence study results');
        expect(c.ndcg).toEqual({ a: c.a, b: c.b }); // compared on nDCG@10: the same values
      }
      const byRecall = await runs.compare({ datasetId, run: page.id, setting: 'BM25' }, { datasetId, run: viaDense.run, setting: 'Raw+expansion' }, 'recall@100', 0, 6);
      for (const c of byRecall.cases) expect(c.ndcg.b).toBe(cmp.comparison.diffs.find((d) => d.qid === c.qid)?.b);
      await expect(importRunFile(store, { datasetId, split: 'test', file: 'other.trec', text: 'nope Q0 d 1 1 t\n' }, null)).rejects.toThrow(/^other\.trec line 1: query id "nope" is not a query of dataset "scifact-mini"/);

      // Export: the page run without checkpoints; the import with its run file and expansions.
      const p = await collectRunExport(store, datasetId, page.id, { checkpoints: false, code: 'test+code' });
      const paths = [...runExportEntries(p).keys()];
      expect(paths).toEqual(['config.json', 'results.json', 'results.md', 'results.csv', 'analysis.md', 'runs/BM25.trec', 'runs/BM25-dev.trec', 'runs/Raw.trec', 'runs/Raw-dev.trec', 'README.txt']);
      // The analysis of what the run has (BM25 and Raw: no expansions, no LLM training yet), with the README's line for it.
      const analysis = new TextDecoder().decode(runExportEntries(p).get('analysis.md'));
      expect(analysis).toMatch(/^# Analysis of the scifact-mini run/);
      expect(analysis).toContain('## 7. Wall time per stage');
      expect(new TextDecoder().decode(runExportEntries(p).get('README.txt'))).toContain('analysis.md - why the numbers are what they are');
      expect(JSON.parse(new TextDecoder().decode(runExportEntries(p).get('results.json'))).rows.map((r: { setting: string }) => r.setting)).toEqual(['BM25', 'Raw']);
      const pi = await collectRunExport(store, datasetId, viaDense.run, { checkpoints: true, code: 'test+code' });
      const ei = runExportEntries(pi);
      expect([...ei.keys()]).toEqual(['config.json', 'results.json', 'results.md', 'results.csv', 'expansions/imported.jsonl', 'runs/Raw+expansion.trec', 'README.txt']);
      expect(new TextDecoder().decode(ei.get('config.json'))).toContain('"scoring": "dense"');
      store.close();
    },
    TEST_MS,
  );

  it(
    'opens a gated Hub model with the token, pins the run to its commit, and writes the token nowhere',
    async () => {
      const { store, datasetId } = await storedDataset('run-token');
      const id = 'org/gated-tiny';
      const hub = gatedHub(id);
      vi.stubGlobal('fetch', hub.fetch);
      const retrievers = new RetrieverSession(async () => store);
      await expect(retrievers.load({ kind: 'hub', id })).rejects.toThrow(/private or gated \(HTTP 401.*put a Hugging Face token under "Hugging Face access"/);
      setHubToken(`  ${TOKEN} `);
      const enc = await retrievers.load({ kind: 'hub', id });
      expect(enc.hubCommit).toBe(COMMIT);
      expect(hub.auth.at(-1)).toBe(`Bearer ${TOKEN}`);

      const session = new PipelineSession(async () => store, retrievers, new LlmSession(), () => {
        throw new Error('no LLM in this test');
      });
      await session.run({ datasetId, llm: null, step: 'evaluate', encoder: enc.handle, config: { testQueries: 2, settings: ['Raw'] } }, {});
      const [run] = await new RunList(async () => store).list(datasetId);
      expect(run.models).toBe(`encoder ${id} @ ${COMMIT.slice(0, 12)}`);
      const zip = runExportZip(runExportEntries(await collectRunExport(store, datasetId, run.id, { checkpoints: true, code: 'test+code' })));
      expect(Object.keys(unzipSync(zip))).toContain('config.json');
      expect(Buffer.from(zip).toString('latin1')).not.toContain(TOKEN);
      expect(await everythingStored(store, datasetId)).not.toContain(TOKEN);
      expect(await everythingStored(store, datasetId)).toContain(COMMIT);
      setHubToken(null);
      store.close();
    },
    TEST_MS,
  );
});
