// Dense retrieval in the page on Chromium's WebGPU (SwiftShader): drop a SciFact subset and the tiny
// BERT fixture folder, evaluate Raw, train a few steps (loss curve drawn), evaluate FT, download the zip.
// FT is checked against the same Evaluate → Train → Evaluate of the worker's code in Node on wasm
// (node-mirror.ts): the same loss per step (read from the page's stored checkpoint), the same weight
// update (FT − Raw) in the downloaded checkpoint, the same nDCG@10 for Raw and FT, and FT above Raw on
// this subset (4 seeded steps: 0.0354 → 0.1042 in Node). Measured on 2026-12-04: losses within 5e-7
// relative, update cosine 0.99996, norms and nDCG equal to 4 digits.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.ts';
import { denseTrainInNode } from './node-mirror.ts';
import { writeScifactSubset } from './scifact-subset.ts';
import { flatWeights } from './flat-weights.ts';

const SCIFACT = join(import.meta.dirname, '../../../shared/data/beir/scifact');
const TINY_BERT = join(import.meta.dirname, '../reference/fixtures/tiny-bert');
const ARTIFACTS = join(import.meta.dirname, '../../test-results');
const STEP_TIMEOUT_MS = 240_000;
/**
 * The training the test asks of the page (hard negatives and pretraining as the panel's defaults, given
 * here too). Not the panel's default lr (2e-5): at 5e-5 steps 3–4 lose 0.5 % and 1 % more, so a page that
 * dropped the lr field would miss LOSS_RELATIVE_TOLERANCE.
 */
const TRAIN = { steps: 4, batchSize: 8, lr: 5e-5, hardNegatives: true, pretrainSteps: 0 };
/** Half the last digit the page shows (4 decimals): WebGPU and wasm rank this subset alike (measured). */
const NDCG_TOLERANCE = 5e-5;
/** Per-step loss, WebGPU (float32, other summation orders) vs wasm, relative. */
const LOSS_RELATIVE_TOLERANCE = 1e-4;
/** The page's and Node's weight updates FT − Raw: cosine at least this, norms within UPDATE_NORM_TOLERANCE. */
const UPDATE_COSINE_MIN = 0.999;
const UPDATE_NORM_TOLERANCE = 0.01;
const SUBSET_FILES = Object.freeze({
  'scifact-mini/corpus.jsonl': 'corpus.jsonl',
  'scifact-mini/queries.jsonl': 'queries.jsonl',
  'scifact-mini/qrels/test.tsv': 'qrels/test.tsv',
  'scifact-mini/qrels/train.tsv': 'qrels/train.tsv',
});

function update(ft: Float64Array, raw: Float64Array): { delta: Float64Array; norm: number } {
  const delta = ft.map((x, i) => x - raw[i]);
  return { delta, norm: Math.sqrt(delta.reduce((s, x) => s + x * x, 0)) };
}

/** The loss curve of the page's last retriever training, from its stored checkpoint (IndexedDB 'expandr', store 'artifacts'). */
const pageLossCurve = () =>
  new Promise<number[][]>((resolve, reject) => {
    const open = indexedDB.open('expandr');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const req = open.result.transaction('artifacts').objectStore('artifacts').getAll();
      req.onerror = () => reject(req.error);
      req.onsuccess = () => {
        const rows = (req.result as { key: string; value: { value?: { lossCurve?: { loss: number }[] }; lossCurve?: { loss: number }[] } }[]).filter((r) => r.key.startsWith('retriever-train/'));
        resolve(rows.map((r) => (r.value.value ?? r.value).lossCurve?.map((p) => p.loss) ?? []));
        open.result.close();
      };
    };
  });

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
    await page.getByLabel('steps', { exact: true }).fill(String(TRAIN.steps));
    await page.getByLabel('batch', { exact: true }).fill(String(TRAIN.batchSize));
    await page.getByLabel('lr', { exact: true }).fill(String(TRAIN.lr));
    await raw.getByTestId('train').click();
    // The same in Node meanwhile (wasm; a few seconds).
    const node = denseTrainInNode(join(work, 'scifact-mini'), SUBSET_FILES, { dir: TINY_BERT, name: 'tiny-bert' }, { eval: 'test', train: 'train' }, TRAIN);
    node.catch(() => undefined); // awaited below
    const ft = page.getByTestId('encoder-row').filter({ hasText: '(FT)' });
    await ft.waitFor({ timeout: STEP_TIMEOUT_MS });
    expect(await page.locator('.chart canvas').count()).toBeGreaterThan(0);

    await ft.getByTestId('evaluate-dense').click();
    const ftCell = page.locator('[data-testid="results-table"] tr[data-setting="FT"] [data-metric="ndcg@10"]');
    await ftCell.waitFor({ timeout: STEP_TIMEOUT_MS });
    const ftNdcg = Number(await ftCell.textContent());
    const mirror = await node;
    const curves = await page.evaluate(pageLossCurve);
    console.log(`[browser] tiny BERT on a SciFact subset (WebGPU): Raw nDCG@10 ${rawNdcg}, FT ${ftNdcg}; Node (wasm): Raw ${mirror.rawNdcg.toFixed(4)}, FT ${mirror.ftNdcg.toFixed(4)}`);
    console.log(`[browser] loss per step: page ${JSON.stringify(curves)}, Node ${JSON.stringify(mirror.lossCurve.map((p) => p.loss))}`);
    await page.screenshot({ path: join(ARTIFACTS, 'dense-webgpu.png'), fullPage: true });

    // Training helped on this subset, in the page and in Node alike.
    expect(ftNdcg).toBeGreaterThan(rawNdcg);
    expect(Math.abs(rawNdcg - mirror.rawNdcg)).toBeLessThanOrEqual(NDCG_TOLERANCE);
    expect(Math.abs(ftNdcg - mirror.ftNdcg)).toBeLessThanOrEqual(NDCG_TOLERANCE);
    // The page trained on the same batches with the same settings: its loss per step is Node's.
    expect(curves).toHaveLength(1);
    expect(curves[0]).toHaveLength(TRAIN.steps);
    curves[0].forEach((loss, i) => expect(Math.abs(loss - mirror.lossCurve[i].loss), `step ${i + 1}`).toBeLessThanOrEqual(LOSS_RELATIVE_TOLERANCE * Math.abs(mirror.lossCurve[i].loss)));

    const [download] = await Promise.all([page.waitForEvent('download'), ft.getByTestId('download-encoder').click()]);
    const zip = unzipSync(new Uint8Array(readFileSync((await download.path())!)));
    const names = Object.keys(zip);
    for (const f of ['config.json', 'model.safetensors', 'modules.json', '1_Pooling/config.json', 'tokenizer.json']) {
      expect(names.some((n) => n.endsWith(f)), `${f} in ${names.join(', ')}`).toBe(true);
    }
    // The downloaded weights moved from Raw as Node's did.
    const rawW = flatWeights(mirror.rawWeights);
    const pageUpdate = update(flatWeights(zip[names.find((n) => n.endsWith('/model.safetensors'))!]), rawW);
    const nodeUpdate = update(flatWeights(mirror.ftWeights), rawW);
    const cos = pageUpdate.delta.reduce((s, x, i) => s + x * nodeUpdate.delta[i], 0) / (pageUpdate.norm * nodeUpdate.norm);
    console.log(`[browser] weight update FT − Raw: page norm ${pageUpdate.norm.toExponential(4)}, Node ${nodeUpdate.norm.toExponential(4)}, cosine ${cos.toFixed(6)}`);
    expect(nodeUpdate.norm).toBeGreaterThan(0);
    expect(cos).toBeGreaterThanOrEqual(UPDATE_COSINE_MIN);
    expect(Math.abs(pageUpdate.norm - nodeUpdate.norm)).toBeLessThanOrEqual(UPDATE_NORM_TOLERANCE * nodeUpdate.norm);

    // After a reload the dropped and the trained encoder are still in this browser, ready to load again.
    await page.reload();
    const kept = page.getByTestId('cached-model').filter({ hasText: 'tiny-bert (FT)' });
    await kept.waitFor({ timeout: STEP_TIMEOUT_MS });
    await kept.click();
    await page.getByTestId('encoder-row').filter({ hasText: '(FT)' }).waitFor({ timeout: STEP_TIMEOUT_MS });
  });
});
