// Dense retrieval in the page on Chromium's WebGPU (SwiftShader): drop a SciFact subset and the tiny
// BERT fixture folder, evaluate Raw, train a few steps (loss curve drawn), evaluate FT, download the zip.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.ts';
import { writeScifactSubset } from './scifact-subset.ts';

const SCIFACT = join(import.meta.dirname, '../../../shared/data/beir/scifact');
const TINY_BERT = join(import.meta.dirname, '../reference/fixtures/tiny-bert');
const ARTIFACTS = join(import.meta.dirname, '../../test-results');
const STEP_TIMEOUT_MS = 240_000;

let h: Harness;
let work: string;
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'expandr-dense-'));
  writeScifactSubset(SCIFACT, join(work, 'scifact-mini'), { queries: 24, docs: 120 });
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('dense retrieval in the page', () => {
  it('evaluates a dropped encoder, trains it on WebGPU, evaluates and downloads the result', async () => {
    const page = await h.newPage();
    await page.goto(h.url);
    await page.getByTestId('folder-input').setInputFiles(join(work, 'scifact-mini'));
    await page.getByTestId('dataset-row').filter({ hasText: 'scifact-mini' }).waitFor({ timeout: STEP_TIMEOUT_MS });

    await page.getByTestId('encoder-folder-input').setInputFiles(TINY_BERT);
    const raw = page.getByTestId('encoder-row').first();
    await raw.waitFor({ timeout: STEP_TIMEOUT_MS });
    expect(await raw.textContent()).toContain('tiny-bert');

    await raw.getByTestId('evaluate-dense').click();
    const rawCell = page.locator('[data-testid="results-table"] tr[data-setting="Raw"] [data-metric="ndcg@10"]');
    await rawCell.waitFor({ timeout: STEP_TIMEOUT_MS });
    const rawNdcg = Number(await rawCell.textContent());
    expect(rawNdcg).toBeGreaterThanOrEqual(0);
    expect(rawNdcg).toBeLessThanOrEqual(1);

    await page.locator('details summary', { hasText: 'Training settings' }).click();
    await page.getByLabel('steps', { exact: true }).fill('4');
    await page.getByLabel('batch', { exact: true }).fill('8');
    await raw.getByTestId('train').click();
    const ft = page.getByTestId('encoder-row').filter({ hasText: '(FT)' });
    await ft.waitFor({ timeout: STEP_TIMEOUT_MS });
    expect(await page.locator('.chart canvas').count()).toBeGreaterThan(0);

    await ft.getByTestId('evaluate-dense').click();
    const ftCell = page.locator('[data-testid="results-table"] tr[data-setting="FT"] [data-metric="ndcg@10"]');
    await ftCell.waitFor({ timeout: STEP_TIMEOUT_MS });
    console.log(`[browser] tiny BERT on a SciFact subset (WebGPU): Raw nDCG@10 ${rawNdcg}, FT ${await ftCell.textContent()}`);
    await page.screenshot({ path: join(ARTIFACTS, 'dense-webgpu.png'), fullPage: true });

    const [download] = await Promise.all([page.waitForEvent('download'), ft.getByTestId('download-encoder').click()]);
    const zip = unzipSync(new Uint8Array(readFileSync((await download.path())!)));
    const names = Object.keys(zip);
    for (const f of ['config.json', 'model.safetensors', 'modules.json', '1_Pooling/config.json', 'tokenizer.json']) {
      expect(names.some((n) => n.endsWith(f)), `${f} in ${names.join(', ')}`).toBe(true);
    }

    // After a reload the dropped and the trained encoder are still in this browser, ready to load again.
    await page.reload();
    const kept = page.getByTestId('cached-model').filter({ hasText: 'tiny-bert (FT)' });
    await kept.waitFor({ timeout: STEP_TIMEOUT_MS });
    await kept.click();
    await page.getByTestId('encoder-row').filter({ hasText: '(FT)' }).waitFor({ timeout: STEP_TIMEOUT_MS });
  });
});
