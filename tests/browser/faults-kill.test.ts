// A killed tab (issue 18, point 3), in Chromium with a persistent profile: the browser is SIGKILLed (the
// whole process group: no unload, no IndexedDB close) in the middle of importing SciFact, then opened
// again on the same profile. The dataset stored before must read back row for row; the half import must be
// gone at once (its Web Lock died with the tab) with no orphan document, query or judgement rows.
// Kills during a retriever training step and a DPO step are shown at the runner/core level
// (tests/unit/faults-kill-runner.test.ts and the stages' resume tests): on SwiftShader they take minutes.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropFiles } from './harness.ts';
import { countRowsInPage, datasetRowsInPage, launchKillable, serveBuiltApp, type KillableBrowser } from './killable-browser.ts';
import { writeScifactSubset } from './scifact-subset.ts';

const SCIFACT = join(import.meta.dirname, '../../../shared/data/beir/scifact');
const IMPORT_TIMEOUT_MS = 60_000;
const POLL_MS = 25;

let app: { url: string; close(): Promise<void> };
let work: string;
let browser: KillableBrowser | undefined;
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'expandr-kill-'));
  writeScifactSubset(SCIFACT, join(work, 'small'), { queries: 8, docs: 80 });
  app = await serveBuiltApp();
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
  rmSync(work, { recursive: true, force: true });
});

/** Every document of a dataset in store order (id, title, text), straight from IndexedDB. */
function docsInPage(page: import('playwright-core').Page, datasetId: string): Promise<string[]> {
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

    // The full SciFact (5,183 documents): killed once some of its documents are stored.
    await dropFiles(page, '[data-testid="dropzone"]', [
      { name: 'corpus.jsonl.gz', bytes: readFileSync(join(SCIFACT, 'corpus.jsonl.gz')) },
      { name: 'queries.jsonl', bytes: readFileSync(join(SCIFACT, 'queries.jsonl')) },
      { name: 'test.tsv', bytes: readFileSync(join(SCIFACT, 'qrels/test.tsv')) },
    ]);
    let half: { id: string; docs: number } | undefined;
    const deadline = Date.now() + IMPORT_TIMEOUT_MS;
    while (!half && Date.now() < deadline) {
      const importing = (await datasetRowsInPage(page)).find((d) => d.status === 'importing');
      if (importing) {
        const docs = (await countRowsInPage(page, importing.id)).docs;
        if (docs > 0) half = { id: importing.id, docs };
      } else if ((await datasetRowsInPage(page)).some((d) => d.status === 'ready' && d.id !== kept.id)) {
        throw new Error('the import finished before the kill: use a larger dataset');
      }
      if (!half) await new Promise((r) => setTimeout(r, POLL_MS));
    }
    expect(half, 'the import wrote no documents in time').toBeDefined();
    await browser.kill();
    console.log(`[faults-kill] killed chromium with ${half!.docs} of 5,183 SciFact documents stored`);

    // Opened again on the same profile.
    browser = await launchKillable(profile);
    page = await browser.newPage();
    await page.goto(app.url);
    await page.getByTestId('dataset-row').first().waitFor({ timeout: IMPORT_TIMEOUT_MS });
    // The worker's first open of the store removed the dead import.
    await expect.poll(async () => (await datasetRowsInPage(page)).map((d) => [d.id, d.status])).toEqual([[kept.id, 'ready']]);
    expect(await page.getByTestId('dataset-row').count()).toBe(1);
    expect(await countRowsInPage(page, half!.id)).toEqual({ datasets: 0, docs: 0, queries: 0, qrels: 0, artifacts: 0 });
    expect(await countRowsInPage(page, kept.id)).toEqual(keptRows);
    expect(await docsInPage(page, kept.id)).toEqual(keptDocs);

    // And the kept dataset still works: BM25 on it gives numbers.
    await page.getByTestId('run-bm25').first().click();
    await page.locator('[data-testid="metrics-table"] [data-metric="ndcg@10"]').waitFor({ timeout: IMPORT_TIMEOUT_MS });
  });
});
