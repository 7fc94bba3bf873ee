// Runs side by side in the page, in Chromium: one SciFact subset, tiny-bert, two runs with different
// configs (BM25 + Raw on 4 test queries, then Raw on all of them with another seed) are both kept and
// listed, survive a reload, compare (A's BM25 against B's Raw on the 4 shared queries, the others counted, with a
// case view that shows query text and gold passage) and one is deleted. No LLM: the rows are BM25 and Raw.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropFiles, startHarness, type Harness } from './harness.ts';
import { writeScifactSubset } from './scifact-subset.ts';

const ROOT = join(import.meta.dirname, '../..');
const SCIFACT = join(ROOT, '../shared/data/beir/scifact');
const TINY_BERT = join(ROOT, 'tests/reference/fixtures/tiny-bert');
const STEP_TIMEOUT_MS = 120_000;
const LOAD_TIMEOUT_MS = 60_000;

let h: Harness;
let subset: string;
beforeAll(async () => {
  subset = mkdtempSync(join(tmpdir(), 'expandr-run-list-'));
  writeScifactSubset(SCIFACT, subset, { queries: 6, docs: 40 });
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
  if (subset) rmSync(subset, { recursive: true, force: true });
});

describe('runs side by side in the page', () => {
  it('keeps, lists, compares and deletes two runs of one dataset', async () => {
    const page = await h.newPage();
    page.on('dialog', (d) => void d.accept());
    await page.goto(h.url);
    await dropFiles(page, '[data-testid="dropzone"]', ['corpus.jsonl', 'queries.jsonl', 'qrels/test.tsv', 'qrels/train.tsv'].map((f) => ({ name: f.split('/').pop()!, bytes: readFileSync(join(subset, f)) })));
    await page.getByTestId('dataset-row').first().waitFor({ timeout: LOAD_TIMEOUT_MS });
    await page.getByTestId('encoder-folder-input').setInputFiles(TINY_BERT);
    await page.getByTestId('encoder-row').first().waitFor({ timeout: LOAD_TIMEOUT_MS });

    const runWith = async (config: object) => {
      await page.getByTestId('pipeline-config-details').locator('summary').click();
      await page.getByTestId('pipeline-config').fill(JSON.stringify(config));
      await page.getByTestId('pipeline-config-details').locator('summary').click();
      await page.getByTestId('run-all').click();
      await page.locator('[data-testid="pipeline"]:not([data-state="running"])').waitFor({ timeout: STEP_TIMEOUT_MS });
      const error = page.getByTestId('pipeline-error');
      if (await error.count()) throw new Error(`pipeline failed: ${await error.textContent()}`);
    };
    await runWith({ testQueries: 4, settings: ['BM25', 'Raw'] });
    await runWith({ testQueries: 0, seed: 7, settings: ['Raw'] });
    await expect.poll(() => page.getByTestId('run-row').count(), { timeout: LOAD_TIMEOUT_MS }).toBe(2);

    await page.reload();
    await expect.poll(() => page.getByTestId('run-row').count(), { timeout: LOAD_TIMEOUT_MS }).toBe(2);
    const rows = await page.getByTestId('run-row').evaluateAll((trs) => trs.map((tr) => tr.textContent ?? ''));
    expect(rows.some((t) => t.includes('seed 7'))).toBe(true);
    expect(rows.some((t) => t.includes('seed 42') && t.includes('BM25, Raw'))).toBe(true);
    for (const t of rows) expect(t).toContain('encoder tiny-bert');

    // Defaults: A the older run, B the newer; BM25 of A against Raw of B.
    await page.getByTestId('compare-a-setting').selectOption('BM25');
    await page.getByTestId('compare-b-setting').selectOption('Raw');
    await page.getByTestId('compare-run').click();
    const summary = await page.getByTestId('compare-summary').textContent({ timeout: LOAD_TIMEOUT_MS });
    expect(summary).toMatch(/on 4 shared queries \(left out: 0 only in A, [1-9]\d* only in B\)/);
    expect(summary).toMatch(/p = /);
    expect(await page.locator('[data-testid="compare-diffs"] tbody tr').count()).toBe(4);
    const cases = await page.getByTestId('compare-case').allTextContents();
    expect(cases.length).toBeGreaterThan(0);
    for (const text of cases) expect(text).toContain('Gold passage');

    await page.getByTestId('run-delete').first().click();
    await expect.poll(() => page.getByTestId('run-row').count(), { timeout: LOAD_TIMEOUT_MS }).toBe(1);
  }, 300_000);
});
