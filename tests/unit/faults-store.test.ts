// The store under a killed tab and two tabs (issue 18, points 3 and 4), on fake-indexeddb: another tab's
// schema upgrade closes this connection and every later call says "reload" (nothing written after it,
// nothing lost before it); an upgrade blocked by an old tab waits and says so; a half import of a killed
// tab (its Web Lock gone) is removed at the next open while a live one in another tab is left alone.
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { DB_VERSION } from '../../src/store/schema.ts';
import { importLockName, openStore, StoreClosedError, type StoreNotice, type Store } from '../../src/store/store.ts';
import type { ImportResult } from '../../src/store/writer.ts';
import { tryLock } from '../../src/util/web-locks.ts';
import { createHost } from '../../src/app/host.ts';
import type { Response } from '../../src/app/protocol.ts';
import { FakeLockRegistry } from './helpers/fake-locks.ts';

const result = (docs: number): ImportResult => ({
  checksum: 'sha256:x',
  fileSha256: {},
  counts: { docs, queries: 1, qrelLines: 1 },
  splits: { test: { queries: 1, qrels: 1 } },
  warnings: [],
});

async function addDataset(store: Store, name: string) {
  const w = await store.beginImport({ name, source: [name] });
  await w.putQueries([{ id: 'q1', text: 'q' }]);
  await w.putDocs([{ id: 'a', title: '', text: 'doc a' }, { id: 'b', title: '', text: 'doc b' }]);
  await w.putQrels('test', new Map([['q1', new Map([['a', 1]])]]));
  return w.finish(result(2));
}

/** A bare connection, as another tab (or an older page without a versionchange handler) holds it. */
function rawOpen(factory: IDBFactory, name: string, version?: number): Promise<IDBDatabase> {
  return new Promise((res, rej) => {
    const r = factory.open(name, version);
    r.onsuccess = () => res(r.result);
    r.onerror = () => rej(r.error);
  });
}

describe('another tab upgrades the schema', () => {
  it('closes this connection, tells the page, and refuses every later call with "reload"', async () => {
    const factory = new IDBFactory();
    const notices: StoreNotice[] = [];
    const store = await openStore({ dbName: 'u', idbFactory: factory, onNotice: (n) => notices.push(n) });
    const kept = await addDataset(store, 'kept');
    const half = await store.beginImport({ name: 'half', source: ['half'] });
    await half.putDocs([{ id: 'x', title: '', text: 'x' }]);

    const newer = await rawOpen(factory, 'u', DB_VERSION + 1); // not blocked: this tab stepped aside
    expect(notices.map((n) => n.kind)).toEqual(['closed']);
    expect(notices[0].text).toMatch(/updated in another tab.*Reload this page/);
    await expect(store.listDatasets()).rejects.toThrow(StoreClosedError);
    await expect(store.putArtifact(kept.id, 'k', 1)).rejects.toThrow(/Reload this page/);
    await expect(half.putDocs([{ id: 'y', title: '', text: 'y' }])).rejects.toThrow(StoreClosedError);
    await expect(half.finish(result(2))).rejects.toThrow(StoreClosedError);

    // The newer tab reads everything this one stored, and nothing of the refused writes.
    const tx = newer.transaction(['datasets', 'docs', 'artifacts']);
    const count = (name: string) => new Promise<number>((res) => (tx.objectStore(name).count().onsuccess = (e) => res((e.target as IDBRequest<number>).result)));
    expect(await count('datasets')).toBe(2); // kept (ready) + half (still 'importing', cleaned later)
    expect(await count('docs')).toBe(3); // kept's a, b and half's x
    expect(await count('artifacts')).toBe(0);
    newer.close();
  });

  it('the worker host passes the notice to the page and answers later calls with the reload error', async () => {
    const factory = new IDBFactory();
    const inbox: Response[] = [];
    const host = createHost((m) => inbox.push(m), (onNotice) => openStore({ dbName: 'h', idbFactory: factory, onNotice }));
    await host.handle({ type: 'list', id: 1, args: {} });
    expect(inbox.at(-1)).toMatchObject({ type: 'result', id: 1, result: [] });
    (await rawOpen(factory, 'h', DB_VERSION + 1)).close();
    expect(inbox.at(-1)).toMatchObject({ type: 'notice', id: 0, notice: { kind: 'closed' } });
    await host.handle({ type: 'delete', id: 2, args: { datasetId: 'x' } });
    expect(inbox.at(-1)).toMatchObject({ type: 'error', id: 2, name: 'StoreClosedError', message: expect.stringMatching(/Reload this page/) });
  });

  it('an older page opening a newer schema gets a "reload" error, not a bare VersionError', async () => {
    const factory = new IDBFactory();
    (await openStore({ dbName: 'v', idbFactory: factory, version: DB_VERSION + 1 })).close();
    await expect(openStore({ dbName: 'v', idbFactory: factory })).rejects.toThrow(/written by a newer version of the app.*Reload/);
  });

  it('an upgrade blocked by a tab that does not step aside waits, says so, and goes on once it closes', async () => {
    const factory = new IDBFactory();
    (await openStore({ dbName: 'b', idbFactory: factory })).close();
    const old = await rawOpen(factory, 'b'); // no versionchange handler
    const notices: StoreNotice[] = [];
    let opened = false;
    const pending = openStore({ dbName: 'b', idbFactory: factory, version: DB_VERSION + 1, onNotice: (n) => notices.push(n) }).then((s) => {
      opened = true;
      return s;
    });
    await expect.poll(() => notices.map((n) => n.kind)).toEqual(['blocked']);
    expect(notices[0].text).toMatch(/close or reload them/);
    await new Promise((r) => setTimeout(r, 50));
    expect(opened).toBe(false);
    old.close();
    const store = await pending;
    expect(notices.map((n) => n.kind)).toEqual(['blocked', 'ready']);
    expect(await store.listDatasets()).toEqual([]);
    store.close();
  });
});

describe("a killed tab's half import (Web Locks)", () => {
  it('is removed at the next open once its lock is gone, with every row; a live import elsewhere is kept', async () => {
    const factory = new IDBFactory();
    const locks = new FakeLockRegistry();
    const tab1 = locks.client();
    const a = await openStore({ dbName: 'k', idbFactory: factory, locks: tab1 });
    const kept = await addDataset(a, 'kept');
    const half = await a.beginImport({ name: 'half', source: ['half'] });
    await half.putQueries([{ id: 'q', text: 'q' }]);
    await half.putDocs([{ id: 'x', title: '', text: 'x' }]);
    await expect.poll(async () => (await tab1.query()).held?.map((l) => l.name)).toContain(importLockName(half.id));

    // Tab 2 opens while tab 1 is importing: the import is alive (its lock is held), however old its rows.
    const b = await openStore({ dbName: 'k', idbFactory: factory, locks: locks.client(), cleanup: false });
    expect(await b.cleanupIncomplete(0)).toBe(0);
    expect((await b.countRows(half.id)).docs).toBe(1);

    tab1.kill(); // the tab is killed: its locks go, its rows stay
    const free = await tryLock(importLockName(half.id), locks.client());
    expect(free).not.toBeNull();
    free!.release();
    await expect.poll(async () => (await tab1.query()).held?.length).toBe(0);
    expect(await b.cleanupIncomplete(0)).toBe(1);
    expect(await b.countRows(half.id)).toEqual({ datasets: 0, docs: 0, queries: 0, qrels: 0, artifacts: 0 });
    expect((await b.listDatasets()).map((d) => d.id)).toEqual([kept.id]);
    expect(await b.countRows(kept.id)).toEqual({ datasets: 1, docs: 2, queries: 1, qrels: 1, artifacts: 0 });
    expect([...(await b.getDocs(kept.id, ['a', 'b']))].map((d) => d?.text)).toEqual(['doc a', 'doc b']);
    a.close();
    b.close();
  });

  it('a finished import releases its lock', async () => {
    const factory = new IDBFactory();
    const tab = new FakeLockRegistry().client();
    const s = await openStore({ dbName: 'r', idbFactory: factory, locks: tab });
    const info = await addDataset(s, 'done');
    await expect.poll(async () => (await tab.query()).held?.map((l) => l.name)).not.toContain(importLockName(info.id));
    s.close();
  });
});
