// The IndexedDB store on fake-indexeddb (a fresh database per test): schema, the import writer,
// reading back in import order and by id, artifacts, deletes, stale imports, and error cases.
import { IDBFactory, IDBObjectStore as FakeObjectStore } from 'fake-indexeddb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { NotFoundError, QuotaError } from '../../src/errors.ts';
import { DB_VERSION } from '../../src/store/schema.ts';
import { MAX_DATASET_NAME, openStore, STALE_IMPORT_MS, type Store } from '../../src/store/store.ts';
import { QRELS_PART, type ImportResult } from '../../src/store/writer.ts';
import type { BeirDoc, Qrels } from '../../src/data/types.ts';
import { errorOf, freshStore } from './helpers/beir-files.ts';

const docs = (ids: string[]): BeirDoc[] => ids.map((id) => ({ id, title: `T${id}`, text: `text of ${id}` }));
const result = (over: Partial<ImportResult> = {}): ImportResult => ({
  checksum: 'sha256:x',
  fileSha256: {},
  counts: { docs: 0, queries: 0, qrelLines: 0 },
  splits: { test: { queries: 1, qrels: 1 } },
  warnings: [],
  ...over,
});

/** A ready dataset with documents z, a, m, b, y (not sorted: order must be import order), 2 queries, test qrels. */
async function addDataset(store: Store, name = 'toy') {
  const w = await store.beginImport({ name, source: [`${name}.zip`] });
  await w.putQueries([{ id: 'q2', text: 'second first' }, { id: 'q1', text: 'first second' }]);
  await w.putDocs(docs(['z', 'a', 'm']));
  await w.putDocs(docs(['b', 'y']));
  await w.putQrels('test', new Map([['q1', new Map([['a', 1], ['z', 2]])]]));
  return w.finish(result({ counts: { docs: 5, queries: 2, qrelLines: 2 } }));
}

afterEach(() => vi.useRealTimers());

describe('schema', () => {
  it(`creates version ${DB_VERSION} with its object stores and indexes`, async () => {
    const factory = new IDBFactory();
    (await openStore({ dbName: 's', idbFactory: factory })).close();
    const db = await new Promise<IDBDatabase>((res, rej) => {
      const r = factory.open('s');
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    expect(db.version).toBe(DB_VERSION);
    expect([...db.objectStoreNames].sort()).toEqual(['artifacts', 'datasets', 'docs', 'modelFiles', 'qrels', 'queries']);
    const tx = db.transaction(['docs', 'queries']);
    expect(tx.objectStore('docs').keyPath).toEqual(['datasetId', 'seq']);
    expect([...tx.objectStore('docs').indexNames]).toEqual(['byId']);
    expect(tx.objectStore('docs').index('byId').unique).toBe(true);
    db.close();
  });

  it('keeps data across close and reopen', async () => {
    const { store, reopen } = await freshStore();
    const info = await addDataset(store);
    store.close();
    const again = await reopen();
    expect((await again.listDatasets()).map((d) => d.id)).toEqual([info.id]);
  });
});

describe('import writer and reads', () => {
  it('hides a dataset while importing and lists it once ready', async () => {
    const { store } = await freshStore();
    const w = await store.beginImport({ name: 'x', source: ['x.zip'] });
    expect(await store.listDatasets()).toEqual([]);
    expect((await store.getDataset(w.id))?.status).toBe('importing');
    expect(await errorOf(() => store.getQueries(w.id))).toBeInstanceOf(NotFoundError);
    const info = await w.finish(result());
    expect(info).toMatchObject({ name: 'x', status: 'ready', source: ['x.zip'], checksum: 'sha256:x' });
    expect(await store.listDatasets()).toEqual([info]);
  });

  it('iterates documents in import order, in batches of any size', async () => {
    const { store } = await freshStore();
    const { id } = await addDataset(store);
    for (const size of [1, 2, 3, 5, 100]) {
      const batches: string[][] = [];
      for await (const b of store.iterateDocs(id, size)) batches.push(b.map((d) => d.id));
      expect(batches.flat()).toEqual(['z', 'a', 'm', 'b', 'y']);
      expect(batches.every((b) => b.length <= size)).toBe(true);
    }
    const [first] = await (async () => { for await (const b of store.iterateDocs(id, 1)) return b; })() ?? [];
    expect(first).toEqual({ id: 'z', title: 'Tz', text: 'text of z' }); // no internal fields
  });

  it('fetches documents by id, aligned with the ids asked for', async () => {
    const { store } = await freshStore();
    const { id } = await addDataset(store);
    const got = await store.getDocs(id, ['m', 'nope', 'z']);
    expect(got.map((d) => d?.id)).toEqual(['m', undefined, 'z']);
  });

  it('returns queries in file order and the qrels of a split', async () => {
    const { store } = await freshStore();
    const { id, name } = await addDataset(store);
    expect((await store.getQueries(id)).map((q) => q.id)).toEqual(['q2', 'q1']);
    expect(await store.getQrels(id, 'test')).toEqual(new Map([['q1', new Map([['a', 1], ['z', 2]])]]));
    const err = await errorOf(() => store.getQrels(id, 'dev'));
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toBe(`Dataset ${name} has no "dev" split (it has: test).`);
  });

  it(`stores large qrels in parts of ${QRELS_PART} lines and reads them back whole`, async () => {
    const { store } = await freshStore();
    const w = await store.beginImport({ name: 'big', source: [] });
    const qrels: Qrels = new Map();
    for (let q = 0; q < 1300; q++) qrels.set(`q${q}`, new Map(Array.from({ length: 100 }, (_, d) => [`d${d}`, d % 3])));
    await w.putQrels('train', qrels);
    const info = await w.finish(result({ splits: { train: { queries: 1300, qrels: 130_000 } } }));
    expect((await store.countRows(info.id)).qrels).toBe(Math.ceil(130_000 / QRELS_PART));
    expect(await store.getQrels(info.id, 'train')).toEqual(qrels);
  });

  it('names a second dataset with the same name "name (2)", a third "name (3)"', async () => {
    const { store } = await freshStore();
    const names = [];
    for (let i = 0; i < 3; i++) names.push((await addDataset(store, 'scifact')).name);
    expect(names).toEqual(['scifact', 'scifact (2)', 'scifact (3)']);
  });

  it('renames a dataset (trimmed; kept across reopening); refuses empty, too long and unknown ones', async () => {
    const { store } = await freshStore();
    const d = await addDataset(store, 'dataset');
    expect((await store.renameDataset(d.id, '  SciFact (my copy) ')).name).toBe('SciFact (my copy)');
    expect((await store.listDatasets()).map((x) => x.name)).toEqual(['SciFact (my copy)']);
    expect((await store.getDataset(d.id))!.counts.docs).toBe(5);
    await expect(store.renameDataset(d.id, '   ')).rejects.toThrow(/cannot be empty/);
    await expect(store.renameDataset(d.id, 'x'.repeat(MAX_DATASET_NAME + 1))).rejects.toThrow(/at most 200/);
    await expect(store.renameDataset('nope', 'a')).rejects.toBeInstanceOf(NotFoundError);
    expect((await store.getDataset(d.id))!.name).toBe('SciFact (my copy)');
  });

  it('throws NotFoundError for a dataset that does not exist', async () => {
    const { store } = await freshStore();
    for (const read of [() => store.getQueries('nope'), () => store.getDocs('nope', ['a']), () => store.iterateDocs('nope').next()]) {
      expect(await errorOf(read)).toBeInstanceOf(NotFoundError);
    }
    expect(await store.getDataset('nope')).toBeUndefined();
  });
});

describe('artifacts', () => {
  it('stores, lists, replaces and deletes structured-cloneable values', async () => {
    const { store } = await freshStore();
    const { id } = await addDataset(store);
    await store.putArtifact(id, 'bm25', { k1: 0.9, postings: new Float32Array([1, 2.5]) });
    await store.putArtifact(id, 'run:test', new Map([['q1', [{ docId: 'a', score: 1 }]]]));
    expect(await store.listArtifacts(id)).toEqual(['bm25', 'run:test']);
    expect(await store.getArtifact(id, 'bm25')).toEqual({ k1: 0.9, postings: new Float32Array([1, 2.5]) });
    await store.putArtifact(id, 'bm25', 'replaced');
    expect(await store.getArtifact(id, 'bm25')).toBe('replaced');
    await store.deleteArtifact(id, 'bm25');
    expect(await store.getArtifact(id, 'bm25')).toBeUndefined();
  });

  it('refuses an artifact for a dataset that does not exist', async () => {
    const { store } = await freshStore();
    expect(await errorOf(() => store.putArtifact('nope', 'k', 1))).toBeInstanceOf(NotFoundError);
    expect((await store.countRows()).artifacts).toBe(0);
  });
});

describe('deletes and clean-up', () => {
  it('deleteDataset removes every row of that dataset and nothing else', async () => {
    const { store } = await freshStore();
    const keep = await addDataset(store, 'keep');
    const gone = await addDataset(store, 'gone');
    await store.putArtifact(keep.id, 'a', 1);
    await store.putArtifact(gone.id, 'a', 2);
    const before = await store.countRows(keep.id);
    expect(before).toEqual({ datasets: 1, docs: 5, queries: 2, qrels: 1, artifacts: 1 });
    await store.deleteDataset(gone.id);
    expect(await store.countRows(gone.id)).toEqual({ datasets: 0, docs: 0, queries: 0, qrels: 0, artifacts: 0 });
    expect(await store.countRows()).toEqual(before);
    expect(await store.getArtifact(keep.id, 'a')).toBe(1);
  });

  it('removes an import left unfinished by a closed tab when the store is next opened', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { store, reopen } = await freshStore();
    const ready = await addDataset(store);
    const w = await store.beginImport({ name: 'crashed', source: [] });
    await w.putDocs(docs(['a', 'b']));
    store.close(); // the tab goes away mid-import

    const soon = await reopen(); // too recent: it may be another tab's live import
    expect((await soon.countRows(w.id)).docs).toBe(2);
    soon.close();

    vi.setSystemTime(Date.now() + STALE_IMPORT_MS + 1);
    const later = await reopen();
    expect(await later.countRows(w.id)).toEqual({ datasets: 0, docs: 0, queries: 0, qrels: 0, artifacts: 0 });
    expect((await later.listDatasets()).map((d) => d.id)).toEqual([ready.id]);
  });

  it('never cleans up an import that is running through the same store', async () => {
    const { store } = await freshStore();
    const w = await store.beginImport({ name: 'live', source: [] });
    expect(await store.cleanupIncomplete(0)).toBe(0);
    await w.putDocs(docs(['a']));
    expect((await w.finish(result())).status).toBe('ready');
  });

  it('stops an import whose rows another tab removed', async () => {
    const { store, reopen } = await freshStore();
    const w = await store.beginImport({ name: 'x', source: [] });
    const other = await reopen();
    expect(await other.cleanupIncomplete(0)).toBe(1);
    const err = await errorOf(() => w.putDocs(docs(['a'])));
    expect(err).toBeInstanceOf(NotFoundError);
    expect((await store.countRows()).docs).toBe(0);
  });

  it('turns a full disk (QuotaExceededError) into a QuotaError that says what to do, committing nothing', async () => {
    const { store } = await freshStore();
    const w = await store.beginImport({ name: 'x', source: [] });
    vi.spyOn(FakeObjectStore.prototype, 'put').mockImplementationOnce(function () {
      throw new DOMException('full', 'QuotaExceededError');
    });
    const err = await errorOf(() => w.putDocs(docs(['a', 'b'])));
    vi.restoreAllMocks();
    expect(err).toBeInstanceOf(QuotaError);
    expect(err.message).toMatch(/storage filled up while importing x\. Free disk space, delete stored datasets/);
    expect((await store.countRows()).docs).toBe(0);
  });
});
