// A killed tab (issue 18, point 3), in Chromium with a persistent profile: the browser is SIGKILLed (the
// whole process group: no unload, no IndexedDB close) in the middle of importing SciFact, then opened
// again on the same profile. The dataset stored before must read back row for row; the half import must be
// gone at once (its Web Lock died with the tab) with no orphan document, query or judgement rows.
// Then killed in the middle of a corpus encoding: the evaluation resumes after the chunks stored before the
// kill and gives exactly what an uninterrupted encoding of the same corpus gives.
// Kills during a retriever training step and a DPO step: tests/browser/faults-kill-training.test.ts (the
// runner's: tests/unit/faults-kill-runner.test.ts).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropFiles } from './harness.ts';
import { countRowsInPage, datasetRowsInPage, launchKillable, serveBuiltApp, type KillableBrowser } from './killable-browser.ts';
import { writeScifactSubset } from './scifact-subset.ts';
import { DOC_BATCH } from '../../src/data/read-beir.ts';

const SCIFACT = join(import.meta.dirname, '../../../shared/data/beir/scifact');
const TINY_BERT = join(import.meta.dirname, '../reference/fixtures/tiny-bert');
/** Documents of the encoding test: three chunks of DEFAULT_CHUNK_SIZE (1024), the last one short. */
const ENCODE_DOCS = 2100;
const ENCODE_TIMEOUT_MS = 120_000;
const IMPORT_TIMEOUT_MS = 60_000;
const POLL_MS = 25;
/** The channel on which the frozen worker tells the page it has stopped (it can answer nothing else then). */
const FREEZE_CHANNEL = 'expandr-test-freeze';

let app: { url: string; close(): Promise<void> };
let work: string;
let browser: KillableBrowser | undefined;
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'expandr-kill-'));
  writeScifactSubset(SCIFACT, join(work, 'small'), { queries: 8, docs: 80 });
  writeScifactSubset(SCIFACT, join(work, 'enc'), { queries: 20, docs: ENCODE_DOCS });
  app = await serveBuiltApp();
});
afterAll(async () => {
  await browser?.close().catch(() => {});
  await app?.close();
  rmSync(work, { recursive: true, force: true });
});

/** Every document of a dataset in store order (id, title, text), straight from IndexedDB. */
function docsInPage(page: Page, datasetId: string): Promise<string[]> {
  return page.evaluate(async (id) => {
    const db = await new Promise<IDBDatabase>((res, rej) => {
      const r = indexedDB.open('expandr');
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    const rows = await new Promise<{ id: string; title: string; text: string }[]>((res, rej) => {
      const r = db.transaction('docs').objectStore('docs').getAll(IDBKeyRange.bound([id], [id, []]));
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    db.close();
    return rows.map((d) => JSON.stringify([d.id, d.title, d.text]));
  }, datasetId);
}

/** Which row's put freezes the worker: a row of `store` whose `seq` is at least seqAtLeast, or whose `key` ends so. */
interface FreezeRule {
  store?: string;
  seqAtLeast?: number;
  keyEndsWith?: string;
}

/**
 * Stops the core worker for good (a busy loop until the kill) when it starts to store a row the rule
 * matches, so the kill falls mid-work however slow the machine or the polling is: the import's document
 * batches (read-beir.ts' DOC_BATCH, one awaited transaction each) and the encoding's chunks (encode-corpus.ts
 * writes the manifest, awaited, after each chunk) before that row are committed by then. The worker says so
 * on FREEZE_CHANNEL first (workerFrozen reads it): the page must not open a transaction on the frozen one's
 * store to find out, since that would wait for ever.
 */
async function freezeWorkerOnPut(page: Page, rule: FreezeRule): Promise<void> {
  const worker = page.workers().find((w) => w.url().includes('core'));
  if (!worker) throw new Error(`no core worker among ${page.workers().map((w) => w.url()).join(', ')}`);
  await page.evaluate((channel) => {
    const g = window as unknown as { __frozen?: boolean };
    g.__frozen = false;
    new BroadcastChannel(channel).onmessage = () => (g.__frozen = true);
  }, FREEZE_CHANNEL);
  await worker.evaluate(([r, channel]) => {
    // Made now, not at the freeze: a channel connects through its thread's event loop, which the freeze stops.
    const frozen = new BroadcastChannel(channel);
    const put = IDBObjectStore.prototype.put;
    IDBObjectStore.prototype.put = function (this: IDBObjectStore, value: unknown, key?: IDBValidKey) {
      const row = (value ?? {}) as { seq?: unknown; key?: unknown };
      const hit =
        (r.store === undefined || this.name === r.store) &&
        (r.seqAtLeast === undefined || (typeof row.seq === 'number' && row.seq >= r.seqAtLeast)) &&
        (r.keyEndsWith === undefined || (typeof row.key === 'string' && row.key.endsWith(r.keyEndsWith)));
      if (hit) {
        frozen.postMessage('frozen');
        for (;;); // frozen until the browser is killed
      }
      return put.call(this, value, key);
    };
  }, [rule, FREEZE_CHANNEL] as const);
  await new Promise((r) => setTimeout(r, 100)); // the channels connect
}

/** Rows in each store of the page's database, of every dataset. */
function storeTotalsInPage(page: Page): Promise<Record<string, number>> {
  return page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((res, rej) => {
      const r = indexedDB.open('expandr');
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    const stores = ['datasets', 'docs', 'queries', 'qrels', 'artifacts'];
    const tx = db.transaction(stores);
    const out: Record<string, number> = {};
    for (const s of stores) {
      out[s] = await new Promise<number>((res, rej) => {
        const r = tx.objectStore(s).count();
        r.onsuccess = () => res(r.result);
        r.onerror = () => rej(r.error);
      });
    }
    db.close();
    return out;
  });
}

/** Whether the core worker has frozen (freezeWorkerOnPut) and said so. */
function workerFrozen(page: Page): Promise<boolean> {
  return page.evaluate(() => (window as unknown as { __frozen?: boolean }).__frozen === true);
}

describe('the browser killed during an import', () => {
  it('keeps the dataset stored before and leaves no trace of the half import', async () => {
    const profile = join(work, 'profile');
    browser = await launchKillable(profile);
    let page = await browser.newPage();
    await page.goto(app.url);
    await page.getByText('No dataset stored yet.').waitFor();
    await page.getByTestId('folder-input').setInputFiles(join(work, 'small'));
    await page.getByTestId('dataset-row').filter({ hasText: 'small' }).waitFor({ timeout: IMPORT_TIMEOUT_MS });
    const [kept] = await datasetRowsInPage(page);
    const keptRows = await countRowsInPage(page, kept.id);
    const keptDocs = await docsInPage(page, kept.id);
    expect(keptRows).toMatchObject({ datasets: 1, docs: 80 });

    // The full SciFact (5,183 documents): killed once some of its documents are stored (the worker stops
    // at the third batch: two of 2,000 committed).
    await freezeWorkerOnPut(page, { store: 'docs', seqAtLeast: 2 * DOC_BATCH });
    await dropFiles(page, '[data-testid="dropzone"]', [
      { name: 'corpus.jsonl.gz', bytes: readFileSync(join(SCIFACT, 'corpus.jsonl.gz')) },
      { name: 'queries.jsonl', bytes: readFileSync(join(SCIFACT, 'queries.jsonl')) },
      { name: 'test.tsv', bytes: readFileSync(join(SCIFACT, 'qrels/test.tsv')) },
    ]);
    // Polls only the freeze flag: the frozen worker holds a readwrite transaction on docs and datasets.
    let frozen = false;
    const deadline = Date.now() + IMPORT_TIMEOUT_MS;
    while (!frozen && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      frozen = await workerFrozen(page);
    }
    expect(frozen, 'the import did not reach its third document batch in time').toBe(true);
    await browser.kill();
    console.log(`[faults-kill] killed chromium with the first ${2 * DOC_BATCH} of 5,183 SciFact documents committed`);

    // Opened again on the same profile.
    browser = await launchKillable(profile);
    page = await browser.newPage();
    await page.goto(app.url);
    await page.getByTestId('dataset-row').first().waitFor({ timeout: IMPORT_TIMEOUT_MS });
    // The worker's first open of the store removed the dead import.
    await expect.poll(async () => (await datasetRowsInPage(page)).map((d) => [d.id, d.status])).toEqual([[kept.id, 'ready']]);
    expect(await page.getByTestId('dataset-row').count()).toBe(1);
    expect(await countRowsInPage(page, kept.id)).toEqual(keptRows);
    expect(await storeTotalsInPage(page), 'rows of any dataset but the kept one').toEqual(keptRows);
    expect(await docsInPage(page, kept.id)).toEqual(keptDocs);

    // And the kept dataset still works: BM25 on it gives numbers.
    await page.getByTestId('run-bm25').first().click();
    await page.locator('[data-testid="metrics-table"] [data-metric="ndcg@10"]').waitFor({ timeout: IMPORT_TIMEOUT_MS });
  });
});

/** Keys of a dataset's stored artifacts and the embedding manifest's chunksDone (sealed or not). */
function artifactsInPage(page: Page, datasetId: string): Promise<{ keys: string[]; chunksDone: number | null }> {
  return page.evaluate(async (id) => {
    const db = await new Promise<IDBDatabase>((res, rej) => {
      const r = indexedDB.open('expandr');
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    const rows = await new Promise<{ key: string; value: { value?: { chunksDone?: number }; chunksDone?: number } }[]>((res, rej) => {
      const r = db.transaction('artifacts').objectStore('artifacts').getAll(IDBKeyRange.bound([id], [id, []]));
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    db.close();
    const manifest = rows.find((r) => r.key.endsWith(':manifest'))?.value;
    return { keys: rows.map((r) => r.key), chunksDone: manifest ? (manifest.value?.chunksDone ?? manifest.chunksDone ?? null) : null };
  }, datasetId);
}

/** Keeps the timings of the core worker's last dense result (documents encoded, cache hit) where the test can read them. */
async function watchDenseTimings(page: Page): Promise<() => Promise<{ encodedDocs: number; cacheHit: boolean } | undefined>> {
  const worker = page.workers().find((w) => w.url().includes('core'));
  if (!worker) throw new Error(`no core worker among ${page.workers().map((w) => w.url()).join(', ')}`);
  await worker.evaluate(() => {
    const g = self as unknown as { postMessage: (m: unknown) => void; __denseTimings?: unknown };
    const post = g.postMessage.bind(self);
    g.postMessage = (m: unknown) => {
      const r = (m as { type?: string; result?: { timings?: { encodedDocs?: number } } }).result;
      if ((m as { type?: string }).type === 'result' && r?.timings?.encodedDocs !== undefined) g.__denseTimings = r.timings;
      post(m);
    };
  });
  return () => worker.evaluate(() => (self as unknown as { __denseTimings?: { encodedDocs: number; cacheHit: boolean } }).__denseTimings);
}

async function evaluateDense(page: Page, datasetName: string): Promise<string[]> {
  await page.locator('label:has-text("Dataset") select').first().selectOption({ label: datasetName });
  await page.getByTestId('evaluate-dense').first().click();
  const row = page.locator('[data-testid="results-table"] tr[data-setting="Raw"]').filter({ hasText: datasetName });
  await row.first().waitFor({ timeout: ENCODE_TIMEOUT_MS });
  return row.first().locator('[data-metric]').allTextContents();
}

describe('the browser killed during a corpus encoding', () => {
  it('resumes after the chunks stored before the kill and equals an uninterrupted encoding', async () => {
    const profile = join(work, 'profile-encode');
    await browser?.close();
    browser = await launchKillable(profile, { webgpu: false });
    let page = await browser.newPage();
    await page.goto(app.url);
    await page.getByTestId('folder-input').setInputFiles(join(work, 'enc'));
    await page.getByTestId('dataset-row').filter({ hasText: 'enc' }).waitFor({ timeout: IMPORT_TIMEOUT_MS });
    const [dataset] = await datasetRowsInPage(page);
    await page.getByTestId('encoder-folder-input').setInputFiles(TINY_BERT);
    await page.getByTestId('encoder-row').first().waitFor({ timeout: IMPORT_TIMEOUT_MS });

    await page.locator('label:has-text("Dataset") select').first().selectOption({ label: 'enc' });
    await freezeWorkerOnPut(page, { store: 'artifacts', keyEndsWith: ':ids:1' }); // chunk 1 (0-based): chunk 0 stored
    const t0 = Date.now();
    await page.getByTestId('evaluate-dense').first().click();
    // Waits for the freeze, not for the manifest: reading the artifacts store while the frozen worker holds a
    // readwrite transaction on it would wait for ever.
    let frozen = false;
    while (!frozen && Date.now() - t0 < ENCODE_TIMEOUT_MS) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      frozen = await workerFrozen(page);
    }
    if (!frozen) {
      const stored = await artifactsInPage(page, dataset.id);
      const said = await page.locator('[data-testid="encoder-error"], [data-testid="message"], .task').allTextContents();
      throw new Error(`the encoding did not reach its second chunk in ${ENCODE_TIMEOUT_MS / 1000} s (artifacts: ${stored.keys.join(', ')}; page: ${said.join(' | ')})`);
    }
    await browser.kill();
    console.log(`[faults-kill] killed chromium ${((Date.now() - t0) / 1000).toFixed(1)} s into the encoding, as it began to store chunk 1`);

    browser = await launchKillable(profile, { webgpu: false });
    page = await browser.newPage();
    await page.goto(app.url);
    // The encoder of the last session is loaded again from IndexedDB.
    await page.getByTestId('encoder-row').first().waitFor({ timeout: IMPORT_TIMEOUT_MS });
    const left = await artifactsInPage(page, dataset.id);
    expect(left.chunksDone, 'chunk 0 stored and sealed in the manifest, chunk 1 not').toBe(1);
    const timings = await watchDenseTimings(page);
    const resumed = await evaluateDense(page, 'enc');
    const t = await timings();
    console.log(`[faults-kill] resumed: ${t?.encodedDocs} of ${ENCODE_DOCS} documents encoded after the kill; Raw ${resumed.join(' ')}`);
    expect(t?.encodedDocs).toBe(ENCODE_DOCS - left.chunksDone! * 1024);

    // The same corpus imported afresh (no stored embeddings) and encoded in one go: the same numbers.
    await page.getByTestId('folder-input').setInputFiles(join(work, 'enc'));
    await page.getByTestId('dataset-row').filter({ hasText: 'enc (2)' }).waitFor({ timeout: IMPORT_TIMEOUT_MS });
    const whole = await evaluateDense(page, 'enc (2)');
    expect((await timings())?.encodedDocs).toBe(ENCODE_DOCS);
    expect(resumed).toEqual(whole);
  });
});
