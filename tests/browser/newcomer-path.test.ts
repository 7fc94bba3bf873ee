// The newcomer's path through the page, as a person would walk it, at 1280 × 800: drop SciFact's zip
// (named from the zip), rename it, run BM25 (Pyserini's figure), choose an encoder and an LLM, set up a
// quick-look experiment in the form only (no JSON), run it, run it again with another seed, compare the two
// runs, and take the run away as one zip. Each screen is checked for what a person would look at, for
// horizontal scrolling and for unlabelled controls, and saved as a screenshot in test-results/newcomer/.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { unzipSync, zipSync } from 'fflate';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropFiles, startHarness, type Harness } from './harness.ts';
import { pageProblems } from './page-checks.ts';

const ROOT = join(import.meta.dirname, '../..');
const SCIFACT = join(ROOT, '../shared/data/beir/scifact');
const TINY_BERT = join(ROOT, 'tests/reference/fixtures/tiny-bert');
const STORIES = join(ROOT, '../shared/models/stories260K');
const SHOTS = join(ROOT, 'test-results/newcomer');
const VIEWPORT = { width: 1280, height: 800 };
const PYSERINI_NDCG10 = 0.6789; // BM25 flat, k1 0.9, b 0.4 (FACTS.md)
const NDCG_TOLERANCE = 0.005;
const IMPORT_TIMEOUT_MS = 180_000;
const STEP_TIMEOUT_MS = 240_000;
/** A whole quick look: seconds per stage in CI, but the machine may be shared. */
const RUN_TIMEOUT_MS = 600_000;
const LOAD_TIMEOUT_MS = 60_000;
/** Test queries the quick look evaluates: enough for a table with marks, few enough for SwiftShader. */
const QUICK_TEST_QUERIES = 12;
/** Corpus documents per encoder batch for tiny-bert (16 tokens): 10 batches for SciFact instead of 162. */
const TINY_ENCODER_BATCH = 512;

let h: Harness;
beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

/** SciFact as a user downloads it: one zip with a `scifact/` folder. */
function scifactZip(): Buffer {
  const file = (p: string) => new Uint8Array(readFileSync(join(SCIFACT, p)));
  return Buffer.from(
    zipSync({
      'scifact/corpus.jsonl.gz': file('corpus.jsonl.gz'),
      'scifact/queries.jsonl': file('queries.jsonl'),
      'scifact/qrels/test.tsv': file('qrels/test.tsv'),
      'scifact/qrels/train.tsv': file('qrels/train.tsv'),
    }),
  );
}

let shot = 0;
/** A screenshot of the whole page, after checking the screen has no horizontal scroll or unlabelled control. */
async function screen(page: Page, name: string): Promise<void> {
  shot += 1;
  await page.screenshot({ path: join(SHOTS, `${String(shot).padStart(2, '0')}-${name}.png`), fullPage: true });
  expect(await pageProblems(page), `screen ${name}`).toEqual([]);
}

async function waitIdle(page: Page): Promise<void> {
  await page.locator('[data-testid="pipeline"]:not([data-state="running"])').waitFor({ timeout: RUN_TIMEOUT_MS });
  const error = page.getByTestId('pipeline-error');
  if (await error.count()) throw new Error(`pipeline failed: ${await error.textContent()}`);
}

describe('the newcomer path', () => {
  it('walks from a dropped SciFact zip to an exported run', async () => {
    const page = await h.newPage();
    await page.setViewportSize(VIEWPORT);
    page.on('dialog', (d) => void d.accept());
    page.on('console', (m) => m.type() === 'error' && console.error('[console]', m.text()));
    await page.goto(h.url);
    await page.getByTestId('capability-report').waitFor();
    await page.getByText('No dataset stored yet.').waitFor();
    await screen(page, 'first-visit');

    // 1. Drop SciFact's zip: named from the zip, every document and split counted.
    await dropFiles(page, '[data-testid="dropzone"]', [{ name: 'scifact.zip', bytes: scifactZip() }]);
    const row = page.getByTestId('dataset-row').first();
    await row.waitFor({ timeout: IMPORT_TIMEOUT_MS });
    await expect.poll(() => row.textContent(), { timeout: IMPORT_TIMEOUT_MS }).toContain('5,183');
    expect(await row.locator('strong').textContent()).toBe('scifact');
    expect(await row.textContent()).toContain('test: 300 / 339');
    await expect.poll(async () => Number(await page.getByTestId('storage-used').getAttribute('data-bytes'))).toBeGreaterThan(1_000_000);
    await screen(page, 'imported');

    // 2. Rename it, from the keyboard.
    await row.getByTestId('rename-dataset').focus();
    await page.keyboard.press('Enter');
    await row.getByTestId('dataset-name-input').fill('SciFact (BEIR)');
    await page.keyboard.press('Enter');
    await expect.poll(() => row.locator('strong').textContent()).toBe('SciFact (BEIR)');

    // 3. BM25: Pyserini's published nDCG@10.
    await row.getByTestId('run-bm25').click();
    const ndcgCell = page.locator('[data-testid="metrics-table"] [data-metric="ndcg@10"]');
    await ndcgCell.waitFor({ timeout: STEP_TIMEOUT_MS });
    expect(Math.abs(Number(await ndcgCell.textContent()) - PYSERINI_NDCG10)).toBeLessThanOrEqual(NDCG_TOLERANCE);
    await screen(page, 'bm25');

    // 4. Models: a small encoder folder and a small LLM folder (SwiftShader is slow; the path is the same).
    await page.getByTestId('encoder-folder-input').setInputFiles(TINY_BERT);
    await page.getByTestId('encoder-row').first().waitFor({ timeout: LOAD_TIMEOUT_MS });
    await page.getByTestId('llm-folder-input').setInputFiles(STORIES);
    await page.getByTestId('llm-row').first().waitFor({ timeout: LOAD_TIMEOUT_MS });
    await screen(page, 'models');

    // 5. A quick look, set up in the form only: the preset, then a few fields typed as a person would.
    const form = page.getByTestId('experiment-form');
    await form.scrollIntoViewIfNeeded();
    await form.getByTestId('preset-quick').click();
    await form.getByTestId('cfg-testQueries').fill(String(QUICK_TEST_QUERIES));
    await form.getByTestId('cfg-testQueries').press('Tab');
    // tiny-bert reads 16 tokens: big batches are what makes its corpus pass fast on SwiftShader.
    await form.getByTestId('cfg-encoder.batchSize').fill(String(TINY_ENCODER_BATCH));
    await form.getByTestId('cfg-encoder.batchSize').press('Tab');
    // A value out of range is refused where it is typed, and Run all waits until it is fixed.
    await form.getByTestId('cfg-dpo.beta').fill('-1');
    await form.getByTestId('cfg-dpo.beta').press('Tab');
    await expect.poll(() => form.textContent()).toMatch(/beta|β/i);
    await form.getByTestId('cfg-dpo.beta').fill('0.1');
    await form.getByTestId('cfg-dpo.beta').press('Tab');
    await expect.poll(() => page.getByTestId('experiment-estimate').textContent()).toMatch(/\d/);
    await screen(page, 'experiment-form');

    // 6. Run all: a table with a row per setting, progress shown while it runs.
    await page.getByTestId('run-all').click();
    await page.locator('[data-testid="pipeline"][data-state="running"]').waitFor();
    await page.getByTestId('progress-eta').first().waitFor({ timeout: STEP_TIMEOUT_MS });
    await screen(page, 'running');
    await waitIdle(page);
    expect(await page.getByTestId('pipeline').getAttribute('data-state')).toBe('complete');
    const table = page.getByTestId('expandr-results');
    await table.waitFor();
    const settings = await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-setting')));
    expect(settings).toContain('BM25');
    expect(settings).toContain('ExpandR');
    await screen(page, 'results');

    // 7. A second run with another seed, kept beside the first; compare BM25 of one with ExpandR of the other
    // (tiny-bert reads 16 tokens of mostly unknown words: BM25 beats it on most queries, so cases exist).
    await form.getByTestId('cfg-seed').fill('7');
    await form.getByTestId('cfg-seed').press('Tab');
    await page.getByTestId('run-all').click();
    await page.locator('[data-testid="pipeline"][data-state="running"]').waitFor();
    await waitIdle(page);
    await expect.poll(() => page.getByTestId('run-row').count(), { timeout: LOAD_TIMEOUT_MS }).toBe(2);
    // One setting of each run: A the first run listed, B the other.
    const runOptions = await page.getByTestId('compare-a').locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(runOptions.length).toBe(2);
    await page.getByTestId('compare-a').selectOption(runOptions[0]);
    await page.getByTestId('compare-b').selectOption(runOptions[1]);
    await page.getByTestId('compare-a-setting').selectOption('BM25');
    await page.getByTestId('compare-b-setting').selectOption('ExpandR');
    await page.getByTestId('compare-run').click();
    const summary = await page.getByTestId('compare-summary').textContent({ timeout: LOAD_TIMEOUT_MS });
    expect(summary).toMatch(new RegExp(`on ${QUICK_TEST_QUERIES} shared queries`));
    expect(summary).toMatch(/p = /);
    expect(await page.locator('[data-testid="compare-diffs"] tbody tr').count()).toBe(QUICK_TEST_QUERIES);
    await page.getByTestId('compare-case').first().waitFor();
    await screen(page, 'compare');

    // 8. Take it away: one zip with the config, the results, the TREC runs, the expansions and the figures.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-run-zip').first().click()]);
    expect(download.suggestedFilename()).toMatch(/\.zip$/);
    const names = Object.keys(unzipSync(new Uint8Array(readFileSync((await download.path())!))));
    for (const want of [/config\.json$/, /results\.json$/, /results\.csv$/, /results\.md$/, /\.trec(\.gz)?$/, /expansions.*\.jsonl$/, /\.svg$/, /\.png$/]) {
      expect(names.some((n) => want.test(n)), `${want} in ${names.join(', ')}`).toBe(true);
    }
    await screen(page, 'exported');
  }, 1_500_000);
});
