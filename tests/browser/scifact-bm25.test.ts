// The researcher's first minutes, in Chromium: drop SciFact into the page, see it stored, run BM25,
// and read the nDCG@10 the page shows: it must equal Pyserini's published figure within tolerance.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropFiles, startHarness, type Harness } from './harness.ts';

const SCIFACT = join(import.meta.dirname, '../../../shared/data/beir/scifact');
const ARTIFACTS = join(import.meta.dirname, '../../test-results');
const PYSERINI_NDCG10 = 0.6789; // BM25 flat, k1 0.9, b 0.4 (FACTS.md)
const PYSERINI_R100 = 0.925;
const NDCG_TOLERANCE = 0.005;
const RECALL_TOLERANCE = 0.01;
const IMPORT_TIMEOUT_MS = 180_000;
const BM25_TIMEOUT_MS = 180_000;

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('SciFact in the page', () => {
  it('imports a dropped SciFact, runs BM25 and shows Pyserini-level nDCG@10', async () => {
    const page = await h.newPage();
    await page.goto(h.url);
    await page.getByText('No dataset stored yet.').waitFor();

    await dropFiles(page, '[data-testid="dropzone"]', [
      { name: 'corpus.jsonl.gz', bytes: readFileSync(join(SCIFACT, 'corpus.jsonl.gz')) },
      { name: 'queries.jsonl', bytes: readFileSync(join(SCIFACT, 'queries.jsonl')) },
      { name: 'test.tsv', bytes: readFileSync(join(SCIFACT, 'qrels/test.tsv')) },
      { name: 'train.tsv', bytes: readFileSync(join(SCIFACT, 'qrels/train.tsv')) },
    ]);
    const row = page.getByTestId('dataset-row').first();
    await row.waitFor({ timeout: IMPORT_TIMEOUT_MS });
    await expect.poll(() => row.textContent()).toContain('5,183');
    expect(await row.textContent()).toContain('test: 300 / 339');
    // The footer's storage use follows the import (it used to stay at the page's first reading, 0 B).
    await expect.poll(async () => Number(await page.getByTestId('storage-used').getAttribute('data-bytes'))).toBeGreaterThan(1_000_000);
    // Loose files give the name 'dataset'; it can be renamed in place (Enter keeps it). The new name must not
    // contain 'scifact': the next test finds its folder import by that text.
    await row.getByTestId('rename-dataset').click();
    await row.getByTestId('dataset-name-input').fill('Claims (loose files)');
    await row.getByTestId('dataset-name-input').press('Enter');
    await expect.poll(() => row.locator('strong').textContent()).toBe('Claims (loose files)');

    await row.getByTestId('run-bm25').click();
    const ndcgCell = page.locator('[data-testid="metrics-table"] [data-metric="ndcg@10"]');
    await ndcgCell.waitFor({ timeout: BM25_TIMEOUT_MS });
    const ndcg = Number(await ndcgCell.textContent());
    const recall = Number(await page.locator('[data-testid="metrics-table"] [data-metric="recall@100"]').textContent());
    console.log(`[browser] SciFact test BM25: nDCG@10 ${ndcg}, R@100 ${recall}`);
    expect(Math.abs(ndcg - PYSERINI_NDCG10)).toBeLessThanOrEqual(NDCG_TOLERANCE);
    expect(Math.abs(recall - PYSERINI_R100)).toBeLessThanOrEqual(RECALL_TOLERANCE);
    expect(await page.locator('[data-testid="per-query"] tbody tr').count()).toBe(300);
    await page.screenshot({ path: join(ARTIFACTS, 'scifact-bm25.png'), fullPage: false });

    // The dataset survives a reload (IndexedDB), and the second BM25 run reuses the stored index.
    await page.reload();
    await page.getByTestId('dataset-row').first().waitFor();
    await page.getByTestId('run-bm25').first().click();
    await ndcgCell.waitFor({ timeout: BM25_TIMEOUT_MS });
    expect(Number(await ndcgCell.textContent())).toBe(ndcg);
    expect(await page.getByTestId('bm25-results').textContent()).toContain('index reused');
  });
});

describe('the page with other inputs', () => {
  it('imports a folder through the picker (name from the folder), reports a malformed file, deletes', async () => {
    const page = await h.newPage();
    await page.goto(h.url);
    await page.getByTestId('folder-input').setInputFiles(SCIFACT);
    const row = page.getByTestId('dataset-row').filter({ hasText: 'scifact' });
    await row.waitFor({ timeout: IMPORT_TIMEOUT_MS });
    expect(await row.textContent()).toContain('train: 809 / 919');

    // A corpus with a broken JSON line: a clear message naming file and line; nothing new stored.
    const before = await page.getByTestId('dataset-row').count();
    await dropFiles(page, '[data-testid="dropzone"]', [
      { name: 'corpus.jsonl', bytes: Buffer.from('{"_id": "d1", "text": "ok"}\n{"_id": "d2", "text": \n') },
      { name: 'queries.jsonl', bytes: Buffer.from('{"_id": "q1", "text": "q"}\n') },
      { name: 'test.tsv', bytes: Buffer.from('query-id\tcorpus-id\tscore\nq1\td1\t1\n') },
    ]);
    const message = page.getByTestId('message');
    await expect.poll(() => message.textContent(), { timeout: IMPORT_TIMEOUT_MS }).toContain('corpus.jsonl line 2');
    expect(await page.getByTestId('dataset-row').count()).toBe(before);

    page.once('dialog', (d) => void d.accept());
    await row.getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => page.getByTestId('dataset-row').filter({ hasText: 'scifact' }).count()).toBe(0);
  });

  it('says plainly when WebGPU is missing, and import still works', async () => {
    const page = await h.newPage();
    await page.addInitScript(() => {
      Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
    });
    await page.goto(h.url);
    await expect.poll(() => page.getByTestId('webgpu-notice').textContent()).toContain('WebGPU is not available');
  });
});
