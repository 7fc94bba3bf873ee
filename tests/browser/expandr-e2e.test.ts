// The whole ExpandR pipeline in the page, in Chromium: drop a SciFact subset, a tiny encoder folder
// (tests/reference/fixtures/tiny-bert) and a tiny LLM folder (stories260K, llama2.c), "Run all" with a
// tiny config, read the Tables 2–3 view (every row, numbers in [0, 1]), download the trained encoder's
// checkpoint zip (a zip with model.safetensors), and keep a screenshot in test-results/.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropFiles, startHarness, type Harness } from './harness.ts';
import { writeScifactSubset } from './scifact-subset.ts';
import { SETTING_NAMES } from '../../src/pipeline/types.ts';

const ROOT = join(import.meta.dirname, '../..');
const SCIFACT = join(ROOT, '../shared/data/beir/scifact');
const TINY_BERT = join(ROOT, 'tests/reference/fixtures/tiny-bert');
const STORIES = join(ROOT, '../shared/models/stories260K');
const ARTIFACTS = join(ROOT, 'test-results');
const IMPORT_TIMEOUT_MS = 60_000;
const LOAD_TIMEOUT_MS = 60_000;
const RUN_TIMEOUT_MS = 170_000;

/** Few queries, few tokens, few steps: every stage runs, none for long (SwiftShader / wasm). */
const TINY_CONFIG = {
  trainQueries: 4,
  testQueries: 6,
  expansion: { maxTokens: 12 },
  answer: { maxTokens: 12 },
  candidates: { temperatures: [0.8, 1.1], perTemperature: 1, maxTokens: 12 },
  rewards: { filter: 0 },
  retriever: { steps: 2, batchSize: 4, hardNegatives: false },
  dpo: { steps: 2, batchSize: 2 },
};

let h: Harness;
let subset: string;
beforeAll(async () => {
  subset = mkdtempSync(join(tmpdir(), 'expandr-scifact-'));
  writeScifactSubset(SCIFACT, subset, { queries: 8, docs: 80 });
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
  if (subset) rmSync(subset, { recursive: true, force: true });
});

describe('ExpandR end to end in the page', () => {
  it('runs every setting on a SciFact subset with tiny models and exports a checkpoint', async () => {
    const page = await h.newPage();
    page.on('console', (m) => m.type() === 'error' && console.error('[console]', m.text()));
    await page.goto(h.url);
    await page.getByTestId('capability-report').waitFor();

    await dropFiles(page, '[data-testid="dropzone"]', [
      { name: 'corpus.jsonl', bytes: readFileSync(join(subset, 'corpus.jsonl')) },
      { name: 'queries.jsonl', bytes: readFileSync(join(subset, 'queries.jsonl')) },
      { name: 'test.tsv', bytes: readFileSync(join(subset, 'qrels/test.tsv')) },
      { name: 'train.tsv', bytes: readFileSync(join(subset, 'qrels/train.tsv')) },
    ]);
    await page.getByTestId('dataset-row').first().waitFor({ timeout: IMPORT_TIMEOUT_MS });

    await page.getByTestId('encoder-folder-input').setInputFiles(TINY_BERT);
    await page.getByTestId('encoder-row').first().waitFor({ timeout: LOAD_TIMEOUT_MS });
    await page.getByTestId('llm-folder-input').setInputFiles(STORIES);
    await page.getByTestId('llm-row').first().waitFor({ timeout: LOAD_TIMEOUT_MS });
    expect(await page.getByTestId('llm-row').first().textContent()).toContain('llama2c');

    await page.getByTestId('pipeline-config-details').locator('summary').click();
    await page.getByTestId('pipeline-config').fill(JSON.stringify(TINY_CONFIG));
    const t0 = Date.now();
    await page.getByTestId('run-all').click();
    const table = page.getByTestId('expandr-results');
    await page.locator('[data-testid="pipeline"][data-state="running"]').waitFor();
    await page.locator('[data-testid="pipeline"]:not([data-state="running"])').waitFor({ timeout: RUN_TIMEOUT_MS });
    const error = page.getByTestId('pipeline-error');
    if (await error.count()) throw new Error(`pipeline failed: ${await error.textContent()}`);
    expect(await page.getByTestId('pipeline').getAttribute('data-state')).toBe('complete');
    console.log(`[browser] ExpandR run all: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await page.screenshot({ path: join(ARTIFACTS, 'expandr-e2e.png'), fullPage: true });

    const rows = await table.locator('tbody tr').evaluateAll((trs) =>
      trs.map((tr) => ({
        setting: tr.getAttribute('data-setting'),
        values: [...tr.querySelectorAll('[data-metric]')].map((c) => Number(c.textContent)),
      })),
    );
    console.log('[browser] results', JSON.stringify(rows));
    expect(rows.map((r) => r.setting)).toEqual([...SETTING_NAMES]);
    for (const r of rows) {
      expect(r.values).toHaveLength(4);
      for (const v of r.values) {
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
      }
    }
    // Figures: one t-SNE panel per dense setting, curves for every trained stage, the case view; SVG and PNG out.
    await page.getByTestId('figures').waitFor();
    expect(await page.locator('[data-testid="tsne-figure"] g[data-panel]').count()).toBe(SETTING_NAMES.length - 1);
    expect(await page.getByTestId('curve').count()).toBeGreaterThanOrEqual(3);
    await page.getByTestId('case-view').waitFor();
    const tsne = page.getByTestId('tsne-figure');
    const [svg] = await Promise.all([page.waitForEvent('download'), tsne.getByRole('button', { name: 'SVG' }).click()]);
    expect(readFileSync((await svg.path())!, 'utf8')).toMatch(/^<svg xmlns=/);
    const [png] = await Promise.all([page.waitForEvent('download'), tsne.getByRole('button', { name: 'PNG' }).click()]);
    expect(readFileSync((await png.path())!).subarray(1, 4).toString('latin1')).toBe('PNG');

    // The retriever trained in round 1, as a sentence-transformers zip.
    const button = page.locator('[data-testid="download-file"][data-name^="encoders/"]').first();
    const [download] = await Promise.all([page.waitForEvent('download'), button.click()]);
    expect(download.suggestedFilename()).toMatch(/\.zip$/);
    const bytes = readFileSync((await download.path())!);
    expect(bytes.subarray(0, 2).toString('latin1')).toBe('PK');
    const names = Object.keys(unzipSync(new Uint8Array(bytes)));
    expect(names.some((n) => n.endsWith('/model.safetensors'))).toBe(true);
    expect(names.some((n) => n.endsWith('/1_Pooling/config.json'))).toBe(true);

    // The run survives a reload: the results come back from IndexedDB without running anything.
    await page.reload();
    await page.getByTestId('expandr-results').waitFor({ timeout: LOAD_TIMEOUT_MS });
    expect(await page.getByTestId('expandr-results').locator('tbody tr').count()).toBe(SETTING_NAMES.length);
  });
});
