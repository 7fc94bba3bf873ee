// "Train on one dataset, test on another" in the page, in Chromium: two datasets dropped as zips (a SciFact
// subset with train and test splits, and a test-only set with other ids), tiny-bert and stories260K
// loaded, the test-only set chosen as the test dataset and the SciFact subset ticked under "Train on",
// "Run all" with a tiny config: every requested row comes back with its dev nDCG@10, and the sources
// note names both datasets and the dev cut.
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropFiles, startHarness, type Harness } from './harness.ts';
import { writeScifactSubset } from './scifact-subset.ts';
import { writeTestOnlySubset } from './test-only-subset.ts';

const ROOT = join(import.meta.dirname, '../..');
const SCIFACT = join(ROOT, '../shared/data/beir/scifact');
const TINY_BERT = join(ROOT, 'tests/reference/fixtures/tiny-bert');
const STORIES = join(ROOT, '../shared/models/stories260K');
const IMPORT_TIMEOUT_MS = 60_000;
const LOAD_TIMEOUT_MS = 60_000;
const RUN_TIMEOUT_MS = 170_000;
const SETTINGS = ['BM25', 'Raw', 'Raw+expansion', 'FT', 'ExpandR'];

/** The rows that need training and expansion, each for a few steps and tokens (SwiftShader / wasm). */
const TINY_CONFIG = {
  trainQueries: 4,
  expansion: { maxTokens: 8 },
  answer: { maxTokens: 8 },
  candidates: { temperatures: [0.8, 1.1], perTemperature: 1, maxTokens: 8 },
  rewards: { filter: 0 },
  retriever: { steps: 2, batchSize: 4, hardNegatives: false },
  dpo: { steps: 1, batchSize: 2 },
  settings: SETTINGS,
};

/** A folder as a zip whose entries sit under the folder's own name (the dataset's name on import). */
function zipFolder(dir: string, name: string): Buffer {
  const files: Record<string, Uint8Array> = {};
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else files[`${name}/${relative(dir, p)}`] = readFileSync(p);
    }
  };
  walk(dir);
  return Buffer.from(zipSync(files));
}

let h: Harness;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'expandr-cross-page-'));
  writeScifactSubset(SCIFACT, join(dir, 'a'), { queries: 6, docs: 40 });
  writeTestOnlySubset(SCIFACT, join(dir, 'b'), { queries: 4, docs: 30, skip: 6 });
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('train on one dataset, test on another, in the page', () => {
  it('trains on the SciFact subset, tests on the test-only set, and shows dev numbers', async () => {
    const page = await h.newPage();
    page.on('console', (m) => m.type() === 'error' && console.error('[console]', m.text()));
    await page.goto(h.url);
    await page.getByTestId('capability-report').waitFor();

    await dropFiles(page, '[data-testid="dropzone"]', [{ name: 'scifact-a.zip', bytes: zipFolder(join(dir, 'a'), 'scifact-a') }]);
    await page.getByTestId('dataset-row').first().waitFor({ timeout: IMPORT_TIMEOUT_MS });
    await dropFiles(page, '[data-testid="dropzone"]', [{ name: 'testonly-b.zip', bytes: zipFolder(join(dir, 'b'), 'testonly-b') }]);
    await page.getByTestId('dataset-row').nth(1).waitFor({ timeout: IMPORT_TIMEOUT_MS });

    await page.getByTestId('encoder-folder-input').setInputFiles(TINY_BERT);
    await page.getByTestId('encoder-row').first().waitFor({ timeout: LOAD_TIMEOUT_MS });
    await page.getByTestId('llm-folder-input').setInputFiles(STORIES);
    await page.getByTestId('llm-row').first().waitFor({ timeout: LOAD_TIMEOUT_MS });

    await page.getByTestId('pipeline-dataset').selectOption({ label: 'testonly-b' });
    // The test-only set has no train split: it cannot be trained on.
    expect(await page.locator('[data-testid="train-dataset"][data-name="testonly-b"]').isDisabled()).toBe(true);
    await page.locator('[data-testid="train-dataset"][data-name="scifact-a"]').check();
    await page.getByTestId('pipeline-config-details').locator('summary').click();
    await page.getByTestId('pipeline-config').fill(JSON.stringify(TINY_CONFIG));
    const t0 = Date.now();
    await page.getByTestId('run-all').click();
    await page.locator('[data-testid="pipeline"][data-state="running"]').waitFor();
    await page.locator('[data-testid="pipeline"]:not([data-state="running"])').waitFor({ timeout: RUN_TIMEOUT_MS });
    const error = page.getByTestId('pipeline-error');
    if (await error.count()) throw new Error(`pipeline failed: ${await error.textContent()}`);
    expect(await page.getByTestId('pipeline').getAttribute('data-state')).toBe('complete');
    console.log(`[browser] cross-dataset run all: ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const rows = await page.getByTestId('expandr-results').locator('tbody tr').evaluateAll((trs) =>
      trs.map((tr) => ({ setting: tr.getAttribute('data-setting'), test: Number(tr.querySelector('[data-metric="ndcg@10"]')?.textContent), dev: tr.querySelector('[data-dev]')?.textContent ?? null })),
    );
    console.log('[browser] results', JSON.stringify(rows));
    expect(rows.map((r) => r.setting)).toEqual(SETTINGS);
    for (const r of rows) {
      for (const v of [r.test, Number(r.dev)]) {
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
      }
      expect(r.dev).toMatch(/^\d\.\d{4}$/);
    }
    const note = await page.getByTestId('results-sources').textContent();
    expect(note).toContain('Trained on scifact-a "train" (5 queries; dev: 1 queries cut from "train" (fraction 0.2, seed 42');
    expect(note).toContain('tested on testonly-b "test" (4 queries)');
  });
});
