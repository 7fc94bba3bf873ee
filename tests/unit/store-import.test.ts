// importBeir into a fake IndexedDB: what a successful import stores, and that a failed, cancelled or
// too-large import leaves no row behind while an earlier dataset stays intact.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BeirFormatError, CancelledError, QuotaError } from '../../src/errors.ts';
import { importBeir } from '../../src/store/import-beir.ts';
import { loadBeir } from '../../src/data/load.ts';
import { fromBytes } from '../../src/data/source.ts';
import { ImportWriter } from '../../src/store/writer.ts';
import type { Store } from '../../src/store/store.ts';
import { errorOf, freshStore, jsonl, progressLog, sources, TINY, tinyFiles, zip, type Files } from './helpers/beir-files.ts';

const noQuota = { estimate: undefined, persist: undefined };

/** A corpus of n documents (ids d0..), so that an import spans many batches. */
function manyDocs(n: number): string {
  return jsonl(Array.from({ length: n }, (_, i) => ({ _id: `d${i}`, title: `Doc ${i}`, text: `Some text for document number ${i}.` })));
}

/** The tiny dataset plus `extra` documents: the qrels still name d1..d4. */
const biggerFiles = (extra: number, over: Record<string, string> = {}): Files =>
  tinyFiles('big', { corpus: TINY.corpus + manyDocs(extra).replace(/"d(\d+)"/g, '"x$1"'), ...over });

async function withEarlierDataset(): Promise<{ store: Store; before: Awaited<ReturnType<Store['countRows']>>; earlierId: string }> {
  const { store } = await freshStore();
  const { dataset } = await importBeir(store, sources(tinyFiles('earlier')), noQuota);
  return { store, before: await store.countRows(), earlierId: dataset.id };
}

afterEach(() => vi.restoreAllMocks());

describe('importBeir', () => {
  it('stores the dataset and reports what it stored', async () => {
    const { store } = await freshStore();
    const { dataset, warnings } = await importBeir(store, [fromBytes('tiny.zip', zip(tinyFiles('tiny')))], noQuota);
    expect(warnings).toEqual([]);
    expect(dataset).toMatchObject({
      name: 'tiny',
      status: 'ready',
      source: ['tiny.zip'],
      counts: { docs: 4, queries: 3, qrelLines: 4 },
      splits: { test: { queries: 2, qrels: 3 }, train: { queries: 1, qrels: 1 } },
      warnings: [],
    });
    expect(dataset.checksum).toBe((await loadBeir(sources(tinyFiles('tiny')))).checksum);
    expect(await store.countRows(dataset.id)).toEqual({ datasets: 1, docs: 4, queries: 3, qrels: 2, artifacts: 0 });
    const back: string[] = [];
    for await (const b of store.iterateDocs(dataset.id, 3)) back.push(...b.map((d) => d.id));
    expect(back).toEqual(['d1', 'd2', 'd3', 'd4']);
    expect(await store.getQrels(dataset.id, 'test')).toEqual((await loadBeir(sources(tinyFiles('tiny')))).qrels.get('test'));
  });

  it('keeps both when a name is taken ("tiny (2)"), and honours an explicit name', async () => {
    const { store } = await freshStore();
    await importBeir(store, sources(tinyFiles('tiny')), noQuota);
    expect((await importBeir(store, sources(tinyFiles('tiny')), noQuota)).dataset.name).toBe('tiny (2)');
    expect((await importBeir(store, sources(tinyFiles('tiny')), { ...noQuota, name: 'mine' })).dataset.name).toBe('mine');
    expect((await store.listDatasets()).map((d) => d.name)).toEqual(['tiny', 'tiny (2)', 'mine']);
  });

  it('stores warning sentences with the dataset', async () => {
    const { store } = await freshStore();
    const { dataset, warnings } = await importBeir(store, sources(tinyFiles('t', { test: TINY.test + 'q1\tghost\t1\n' })), noQuota);
    expect(warnings).toHaveLength(1);
    expect(dataset.warnings).toEqual(['t/qrels/test.tsv: 1 judgement names a document not in the corpus; dropped (line 5: "ghost")']);
  });

  it('reports progress per stage that never decreases and ends at its total', async () => {
    const { store } = await freshStore();
    const log = progressLog();
    await importBeir(store, sources(biggerFiles(3000), { chunkSize: 4096 }), { ...noQuota, onProgress: log.onProgress });
    expect(log.monotone()).toBe(true);
    const stages = log.stages();
    expect([...stages.keys()]).toEqual(['import:queries', 'import:corpus', 'import:qrels']);
    for (const last of stages.values()) {
      expect(last.unit).toBe('bytes');
      expect(last.done).toBe(last.total);
      expect(last.total).toBeGreaterThan(0);
    }
    expect(stages.get('import:corpus')?.text).toBe('big/corpus.jsonl: 3,004 docs');
  });
});

describe('a failed or cancelled import leaves nothing behind', () => {
  it('a bad line deep in the corpus (after batches were written)', async () => {
    const { store, before, earlierId } = await withEarlierDataset();
    const put = vi.spyOn(ImportWriter.prototype, 'putDocs');
    const corpus = TINY.corpus + manyDocs(50).replace(/"d(\d+)"/g, '"x$1"') + '{"_id": broken\n';
    const err = await errorOf(() => importBeir(store, sources(tinyFiles('bad', { corpus }), { chunkSize: 256 }), { ...noQuota, batchSize: 5 }));
    expect(err).toBeInstanceOf(BeirFormatError);
    expect(err.message).toMatch(/^bad\/corpus\.jsonl line 55: not valid JSON/);
    expect(put.mock.calls.length).toBeGreaterThan(3); // rows had been written before the error
    expect(await store.countRows()).toEqual(before);
    expect((await store.listDatasets()).map((d) => d.id)).toEqual([earlierId]);
  });

  it('an error in the qrels, after the whole corpus was stored', async () => {
    const { store, before } = await withEarlierDataset();
    const err = await errorOf(() => importBeir(store, sources(tinyFiles('bad', { train: 'q1\td4\tyes\n' })), noQuota));
    expect(err.message).toMatch(/^bad\/qrels\/train\.tsv line 1: score "yes"/);
    expect(await store.countRows()).toEqual(before);
  });

  it('a truncated gzip corpus', async () => {
    const { store, before } = await withEarlierDataset();
    const { gzipSync } = await import('fflate');
    const gzCorpus = gzipSync(new TextEncoder().encode(TINY.corpus + manyDocs(500).replace(/"d(\d+)"/g, '"x$1"')));
    const files: Files = { ...tinyFiles('t'), 't/corpus.jsonl.gz': gzCorpus.subarray(0, gzCorpus.length - 3) };
    delete files['t/corpus.jsonl'];
    const err = await errorOf(() => importBeir(store, sources(files), { ...noQuota, batchSize: 10 }));
    expect(err.message).toMatch(/^t\/corpus\.jsonl\.gz: the gzip data is truncated/);
    expect(await store.countRows()).toEqual(before);
  });

  it('cancel in the middle of the corpus', async () => {
    const { store, before, earlierId } = await withEarlierDataset();
    const put = vi.spyOn(ImportWriter.prototype, 'putDocs');
    const ac = new AbortController();
    let cancelledAt = '';
    const onProgress = (p: { stage: string; done: number; total: number; text?: string }) => {
      if (p.stage === 'import:corpus' && p.done > 0 && p.done < p.total && put.mock.calls.length > 0 && !ac.signal.aborted) {
        cancelledAt = p.text ?? '';
        ac.abort();
      }
    };
    const err = await errorOf(() =>
      importBeir(store, sources(biggerFiles(2000), { chunkSize: 2048 }), { ...noQuota, batchSize: 10, signal: ac.signal, onProgress }),
    );
    expect(err).toBeInstanceOf(CancelledError);
    expect(cancelledAt).toMatch(/^big\/corpus\.jsonl: \d+ docs$/);
    expect(await store.countRows()).toEqual(before);
    expect((await store.listDatasets()).map((d) => d.id)).toEqual([earlierId]);
  });

  it('a signal aborted before starting writes nothing', async () => {
    const { store, before } = await withEarlierDataset();
    const ac = new AbortController();
    ac.abort();
    expect(await errorOf(() => importBeir(store, sources(tinyFiles('t')), { ...noQuota, signal: ac.signal }))).toBeInstanceOf(CancelledError);
    expect(await store.countRows()).toEqual(before);
  });
});

describe('storage quota', () => {
  it('refuses up front when the estimate says it will not fit, saying how much is needed and what to do', async () => {
    const { store } = await freshStore();
    const persist = vi.fn(async () => true);
    const files = sources(tinyFiles('t'));
    const size = files.reduce((s, f) => s + f.size, 0);
    const err = await errorOf(() => importBeir(store, files, { estimate: async () => ({ quota: 1000 + size, usage: 1000 }), persist }));
    expect(err).toBeInstanceOf(QuotaError);
    expect(err.message).toMatch(
      /^Importing t needs about \d+ B of browser storage, but only \d+ B is free \(quota .*, used 1000 B\)\. Free disk space, delete stored datasets you no longer need, or import a smaller dataset\.$/,
    );
    expect(persist).not.toHaveBeenCalled();
    expect(await store.countRows()).toEqual({ datasets: 0, docs: 0, queries: 0, qrels: 0, artifacts: 0 });
  });

  it('estimates a .gz corpus at several times its size, and asks for persistent storage when it fits', async () => {
    const { store } = await freshStore();
    const { gzipSync } = await import('fflate');
    const files: Files = { ...tinyFiles('t'), 't/corpus.jsonl.gz': gzipSync(new TextEncoder().encode(TINY.corpus)) };
    delete files['t/corpus.jsonl'];
    const gzSize = (files['t/corpus.jsonl.gz'] as Uint8Array).length;
    const others = sources(files).reduce((s, f) => s + (f.path.endsWith('.gz') ? 0 : f.size), 0);
    const needed = (gzSize * 4 + others) * 2;
    const persist = vi.fn(async () => true);
    const tooSmall = { estimate: async () => ({ quota: needed - 1, usage: 0 }), persist };
    expect(await errorOf(() => importBeir(store, sources(files), tooSmall))).toBeInstanceOf(QuotaError);
    const fits = { estimate: async () => ({ quota: needed, usage: 0 }), persist };
    expect((await importBeir(store, sources(files), fits)).dataset.status).toBe('ready');
    expect(persist).toHaveBeenCalledTimes(1);
  });
});
