// Two tabs of one profile (issue 18, point 4), in Chromium: a pipeline run started in tab 1 is seen in
// tab 2 as "running in another tab" and tab 2's Run is refused (not restarted, nothing of it written), and
// tab 2 follows it to its results; then a schema upgrade from tab 2 (the database opened at a higher
// version) closes both tabs' connections: each page says "updated in another tab; reload", a later
// action in tab 1 is refused with that message, and the upgraded database holds everything stored before.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.ts';
import { countRowsInPage, datasetRowsInPage } from './killable-browser.ts';
import { writeScifactSubset } from './scifact-subset.ts';
import { DB_VERSION } from '../../src/store/schema.ts';

const ROOT = join(import.meta.dirname, '../..');
const SCIFACT = join(ROOT, '../shared/data/beir/scifact');
const TINY_BERT = join(ROOT, 'tests/reference/fixtures/tiny-bert');
const STEP_TIMEOUT_MS = 60_000;
const RUN_TIMEOUT_MS = 120_000;
/** No LLM: BM25, Raw and FT rows; enough training steps that tab 2 acts while tab 1 still runs. */
const CONFIG = { trainQueries: 4, testQueries: 6, retriever: { steps: 40, batchSize: 4, hardNegatives: false } };

let h: Harness;
let work: string;
let tab1: Page;
let tab2: Page;
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'expandr-two-tabs-'));
  writeScifactSubset(SCIFACT, join(work, 'small'), { queries: 8, docs: 80 });
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
  rmSync(work, { recursive: true, force: true });
});

const state = (p: Page) => p.getByTestId('pipeline').getAttribute('data-state');

describe('two tabs of one profile', () => {
  it('a run started in tab 1 shows as running in tab 2 and is not restarted there', async () => {
    const loadEncoder = async (p: Page) => {
      await p.getByTestId('encoder-folder-input').setInputFiles(TINY_BERT);
      await p.getByTestId('encoder-row').first().waitFor({ timeout: STEP_TIMEOUT_MS });
    };
    tab1 = await h.newPage();
    await tab1.goto(h.url);
    await tab1.getByTestId('folder-input').setInputFiles(join(work, 'small'));
    await tab1.getByTestId('dataset-row').first().waitFor({ timeout: STEP_TIMEOUT_MS });
    await loadEncoder(tab1);
    tab2 = await h.newPage();
    await tab2.goto(h.url);
    await tab2.getByTestId('dataset-row').first().waitFor({ timeout: STEP_TIMEOUT_MS });
    await loadEncoder(tab2);

    await tab1.bringToFront();
    await tab1.getByTestId('pipeline-config-details').locator('summary').click();
    await tab1.getByTestId('pipeline-config').fill(JSON.stringify(CONFIG));
    await tab1.getByTestId('run-all').click();
    // Tab 1's worker holds the dataset's run lock (visible to every tab of the origin).
    await expect
      .poll(() => tab2.evaluate(async () => (await navigator.locks.query()).held?.map((l) => l.name) ?? []), { timeout: STEP_TIMEOUT_MS })
      .toContainEqual(expect.stringMatching(/^expandr-run:pipeline:/));

    await tab2.bringToFront();
    await tab2.getByTestId('run-all').click();
    await expect.poll(() => tab2.getByTestId('pipeline-error').textContent()).toMatch(/running in another tab/);
    await expect.poll(() => state(tab2)).toBe('running-elsewhere');
    expect(await tab2.getByTestId('running-elsewhere').textContent()).toMatch(/running in another tab/);
    expect(await tab2.getByTestId('run-all').isDisabled()).toBe(true);
    expect(await state(tab1)).toBe('running'); // tab 1 ran on, untouched

    await tab1.locator('[data-testid="pipeline"]:not([data-state="running"])').waitFor({ timeout: RUN_TIMEOUT_MS });
    if (await tab1.getByTestId('pipeline-error').count()) throw new Error(`tab 1's run failed: ${await tab1.getByTestId('pipeline-error').textContent()}`);
    expect(await state(tab1)).toBe('complete');
    // Tab 2 follows the stored run to its end and shows the same table.
    await expect.poll(() => state(tab2), { timeout: STEP_TIMEOUT_MS }).toBe('complete');
    const table = (p: Page) => p.getByTestId('expandr-results').locator('tbody').textContent();
    expect(await table(tab2)).toBe(await table(tab1));
    expect(await tab2.getByTestId('run-all').isDisabled()).toBe(false);
  });

  it('a schema upgrade in tab 2 closes both tabs cleanly: "reload", and nothing stored is lost', async () => {
    const [dataset] = await datasetRowsInPage(tab2);
    const before = await countRowsInPage(tab2, dataset.id);
    // A newer app in tab 2: opens the database one version up (its migration adds nothing).
    const upgraded = await tab2.evaluate(
      (version) =>
        new Promise<number>((res, rej) => {
          const r = indexedDB.open('expandr', version);
          r.onsuccess = () => {
            res(r.result.version);
            r.result.close();
          };
          r.onerror = () => rej(r.error);
          r.onblocked = () => rej(new Error('blocked: a tab did not step aside'));
        }),
      DB_VERSION + 1,
    );
    expect(upgraded).toBe(DB_VERSION + 1);
    for (const p of [tab1, tab2]) {
      const notice = p.getByTestId('storage-notice');
      await notice.waitFor({ timeout: STEP_TIMEOUT_MS });
      expect(await notice.getAttribute('data-kind')).toBe('closed');
      expect(await notice.textContent()).toMatch(/updated in another tab.*Reload this page/);
    }
    // Tab 1 stops writing: an action is refused with the same words, not a cryptic IndexedDB error.
    await tab1.bringToFront();
    await tab1.getByTestId('run-bm25').first().click();
    await expect.poll(() => tab1.getByTestId('message').textContent()).toMatch(/Reload this page/);
    // The upgraded database has everything, and no BM25 artifact of the refused run.
    expect(await countRowsInPage(tab2, dataset.id)).toEqual(before);
  });
});
