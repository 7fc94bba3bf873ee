// A killed tab during a retriever training step (issue 18, point 3): Chromium (persistent profile, wasm
// backend) is SIGKILLed (the whole process group: no unload, no IndexedDB close) once the page's Train has
// stored a checkpoint, then opened again on the same profile. The dataset and the dropped encoder stored
// before read back unchanged; Train with the same settings resumes at the stored checkpoint's step (the
// worker streams only the steps after it), and the finished run equals an uninterrupted run of the
// worker's code in Node (node-mirror.ts): the loss of every step and the trained weights.
// The DPO step of the pipeline is not killed here: on this machine a page run up to DPO takes minutes;
// DPO's kill-and-resume is shown at the runner level (tests/unit/faults-kill-runner.test.ts).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countRowsInPage, datasetRowsInPage, launchKillable, serveBuiltApp, type KillableBrowser } from './killable-browser.ts';
import { denseTrainInNode } from './node-mirror.ts';
import { writeScifactSubset } from './scifact-subset.ts';
import { readSafetensors } from '../../src/model/safetensors.ts';

const SCIFACT = join(import.meta.dirname, '../../../shared/data/beir/scifact');
const TINY_BERT = join(import.meta.dirname, '../reference/fixtures/tiny-bert');
const LOAD_TIMEOUT_MS = 60_000;
const TRAIN_TIMEOUT_MS = 120_000;
const POLL_MS = 25;
/** Enough steps that the kill falls mid-run (about 0.3 s a step here); a checkpoint after every step. */
const TRAIN = { steps: 16, batchSize: 8, lr: 5e-5, hardNegatives: true, pretrainSteps: 0, checkpointEvery: 1 };
/** The kill comes once a checkpoint of at least this step is stored, so the resumption is not near 0. */
const KILL_AT_STEP = 4;
/**
 * The page's wasm and Node's wasm run the same kernels: measured equal to the bit (2026-12-04), losses and
 * weights. The slack only allows another summation order (SIMD or threads on another machine).
 */
const LOSS_RELATIVE_TOLERANCE = 1e-6;
/** Largest difference of any trained weight, page vs Node, relative to the largest weight update. */
const WEIGHT_TOLERANCE = 1e-4;
const SUBSET_FILES = Object.freeze({
  'scifact-mini/corpus.jsonl': 'corpus.jsonl',
  'scifact-mini/queries.jsonl': 'queries.jsonl',
  'scifact-mini/qrels/test.tsv': 'qrels/test.tsv',
  'scifact-mini/qrels/train.tsv': 'qrels/train.tsv',
});

let app: { url: string; close(): Promise<void> };
let work: string;
let browser: KillableBrowser | undefined;
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'expandr-kill-train-'));
  writeScifactSubset(SCIFACT, join(work, 'scifact-mini'), { queries: 24, docs: 120 });
  app = await serveBuiltApp();
});
afterAll(async () => {
  await browser?.close().catch(() => {});
  await app?.close();
  rmSync(work, { recursive: true, force: true });
});

/** SHA-256 of every document row and every stored model file, keyed, straight from IndexedDB. */
function storedDigests(page: Page, datasetId: string): Promise<{ docs: string; models: Record<string, string> }> {
  return page.evaluate(async (id) => {
    const db = await new Promise<IDBDatabase>((res, rej) => {
      const r = indexedDB.open('expandr');
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    const all = <T,>(store: string, q?: IDBKeyRange) =>
      new Promise<T[]>((res, rej) => {
        const r = db.transaction(store).objectStore(store).getAll(q);
        r.onsuccess = () => res(r.result as T[]);
        r.onerror = () => rej(r.error);
      });
    const hex = async (b: BufferSource) => [...new Uint8Array(await crypto.subtle.digest('SHA-256', b))].map((x) => x.toString(16).padStart(2, '0')).join('');
    const docs = await all<{ id: string; title: string; text: string }>('docs', IDBKeyRange.bound([id], [id, []]));
    const files = await all<{ source: string; revision: string; file: string; bytes: Uint8Array }>('modelFiles');
    const models: Record<string, string> = {};
    for (const f of files) models[`${f.source}|${f.revision}|${f.file}`] = await hex(f.bytes as Uint8Array<ArrayBuffer>);
    db.close();
    return { docs: await hex(new TextEncoder().encode(JSON.stringify(docs.map((d) => [d.id, d.title, d.text])))), models };
  }, datasetId);
}

/** The retriever-training checkpoint of the dataset (step and loss curve), or null: read in the page. */
function storedCheckpoint(page: Page, datasetId: string): Promise<{ step: number; losses: number[] } | null> {
  return page.evaluate(async (id) => {
    const db = await new Promise<IDBDatabase>((res, rej) => {
      const r = indexedDB.open('expandr');
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    const rows = await new Promise<{ key: string; value: { value?: { step: number; lossCurve: { loss: number }[] } } & { step?: number; lossCurve?: { loss: number }[] } }[]>((res, rej) => {
      const r = db.transaction('artifacts').objectStore('artifacts').getAll(IDBKeyRange.bound([id], [id, []]));
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    db.close();
    const row = rows.find((r) => r.key.startsWith('retriever-train/'));
    if (!row) return null;
    const c = (row.value.value ?? row.value) as { step: number; lossCurve: { loss: number }[] };
    return { step: c.step, losses: c.lossCurve.map((p) => p.loss) };
  }, datasetId);
}

/** Records the loss points the core worker streams to the page ('step' messages), for the test to read. */
async function watchSteps(page: Page): Promise<() => Promise<number[]>> {
  const worker = page.workers().find((w) => w.url().includes('core'));
  if (!worker) throw new Error(`no core worker among ${page.workers().map((w) => w.url()).join(', ')}`);
  await worker.evaluate(() => {
    const g = self as unknown as { postMessage: (m: unknown) => void; __steps?: number[] };
    const post = g.postMessage.bind(self);
    g.__steps = [];
    g.postMessage = (m: unknown) => {
      const msg = m as { type?: string; point?: { step: number } };
      if (msg.type === 'step' && msg.point) g.__steps!.push(msg.point.step);
      post(m);
    };
  });
  return () => worker.evaluate(() => (self as unknown as { __steps: number[] }).__steps);
}

async function startTraining(page: Page): Promise<void> {
  await page.locator('details summary', { hasText: 'Training settings' }).click();
  await page.getByLabel('steps', { exact: true }).fill(String(TRAIN.steps));
  await page.getByLabel('batch', { exact: true }).fill(String(TRAIN.batchSize));
  await page.getByLabel('lr', { exact: true }).fill(String(TRAIN.lr));
  await page.getByLabel('checkpoint every', { exact: true }).fill(String(TRAIN.checkpointEvery));
  await page.getByTestId('encoder-row').first().getByTestId('train').click();
}

/** All weights of a safetensors file as one vector (tensors in name order). */
function flatWeights(bytes: Uint8Array): Float64Array {
  const st = readSafetensors(bytes);
  const parts = [...st.tensors.keys()].sort().map((n) => st.getFloat32(n));
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, (o += p.length) - p.length);
  return out;
}

describe('the browser killed during a retriever training step', () => {
  it('keeps what was stored, resumes from the stored checkpoint and ends as an uninterrupted run', async () => {
    const profile = join(work, 'profile');
    browser = await launchKillable(profile, { webgpu: false });
    let page = await browser.newPage();
    await page.goto(app.url);
    await page.getByTestId('folder-input').setInputFiles(join(work, 'scifact-mini'));
    await page.getByTestId('dataset-row').filter({ hasText: 'scifact-mini' }).waitFor({ timeout: LOAD_TIMEOUT_MS });
    const [dataset] = await datasetRowsInPage(page);
    await page.getByTestId('encoder-folder-input').setInputFiles(TINY_BERT);
    await page.getByTestId('encoder-row').first().waitFor({ timeout: LOAD_TIMEOUT_MS });
    const keptRows = await countRowsInPage(page, dataset.id);
    const kept = await storedDigests(page, dataset.id);
    expect(Object.keys(kept.models).length).toBeGreaterThan(0);

    // The uninterrupted run, in Node meanwhile (the worker's code on wasm).
    const node = denseTrainInNode(join(work, 'scifact-mini'), SUBSET_FILES, { dir: TINY_BERT, name: 'tiny-bert' }, { eval: 'test', train: 'train' }, TRAIN);
    node.catch(() => undefined); // awaited below

    const t0 = Date.now();
    await startTraining(page);
    let stored: { step: number; losses: number[] } | null = null;
    while (!(stored && stored.step >= KILL_AT_STEP) && Date.now() - t0 < TRAIN_TIMEOUT_MS) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      stored = await storedCheckpoint(page, dataset.id);
    }
    if (!stored || stored.step < KILL_AT_STEP) throw new Error(`no checkpoint of step ${KILL_AT_STEP} or later was stored in ${TRAIN_TIMEOUT_MS / 1000} s (last: ${stored?.step})`);
    if (stored.step >= TRAIN.steps) throw new Error('the training finished before the kill: use more steps');
    await browser.kill();
    console.log(`[faults-kill-training] killed chromium ${((Date.now() - t0) / 1000).toFixed(1)} s into the training, checkpoint at step ${stored.step} of ${TRAIN.steps}`);

    browser = await launchKillable(profile, { webgpu: false });
    page = await browser.newPage();
    await page.goto(app.url);
    // The dropped encoder comes back from IndexedDB; the dataset and the model files are as they were.
    await page.getByTestId('encoder-row').filter({ hasText: 'tiny-bert' }).first().waitFor({ timeout: LOAD_TIMEOUT_MS });
    expect((await datasetRowsInPage(page)).map((d) => [d.id, d.status])).toEqual([[dataset.id, 'ready']]);
    const after = await storedDigests(page, dataset.id);
    expect(after).toEqual(kept);
    const left = await storedCheckpoint(page, dataset.id);
    expect(left, 'the checkpoint stored before the kill').not.toBeNull();
    expect(left!.step).toBeGreaterThanOrEqual(stored.step);
    expect(left!.step).toBeLessThan(TRAIN.steps);
    expect(left!.losses).toHaveLength(left!.step);
    // The artifacts of the dataset: the checkpoint is the only one added (no half-written other rows).
    expect(await countRowsInPage(page, dataset.id)).toEqual({ ...keptRows, artifacts: keptRows.artifacts + 1 });

    const steps = await watchSteps(page);
    await startTraining(page);
    const ft = page.getByTestId('encoder-row').filter({ hasText: '(FT)' });
    await ft.waitFor({ timeout: TRAIN_TIMEOUT_MS });
    const ran = await steps();
    console.log(`[faults-kill-training] resumed at step ${left!.step}: ran steps ${ran.join(',')}`);
    // Only the steps after the checkpoint were run.
    expect(ran).toEqual(Array.from({ length: TRAIN.steps - left!.step }, (_, i) => left!.step + 1 + i));

    const mirror = await node;
    const final = await storedCheckpoint(page, dataset.id);
    const nodeLosses = mirror.lossCurve.map((p) => p.loss);
    console.log(`[faults-kill-training] loss per step: page ${JSON.stringify(final!.losses)}, Node ${JSON.stringify(nodeLosses)}`);
    expect(final!.step).toBe(TRAIN.steps);
    expect(final!.losses).toHaveLength(TRAIN.steps);
    final!.losses.forEach((loss, i) => expect(Math.abs(loss - nodeLosses[i]), `step ${i + 1}`).toBeLessThanOrEqual(LOSS_RELATIVE_TOLERANCE * Math.abs(nodeLosses[i])));

    // The trained weights, as the page downloads them, are Node's.
    const [download] = await Promise.all([page.waitForEvent('download'), ft.getByTestId('download-encoder').click()]);
    const zip = unzipSync(new Uint8Array(readFileSync((await download.path())!)));
    const pageW = flatWeights(zip[Object.keys(zip).find((n) => n.endsWith('/model.safetensors'))!]);
    const nodeW = flatWeights(mirror.ftWeights);
    const rawW = flatWeights(mirror.rawWeights);
    expect(pageW.length).toBe(nodeW.length);
    let maxDiff = 0;
    let maxUpdate = 0;
    for (let i = 0; i < nodeW.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(pageW[i] - nodeW[i]));
      maxUpdate = Math.max(maxUpdate, Math.abs(nodeW[i] - rawW[i]));
    }
    console.log(`[faults-kill-training] weights page vs Node: max |diff| ${maxDiff.toExponential(3)}, largest update ${maxUpdate.toExponential(3)}`);
    expect(maxUpdate).toBeGreaterThan(0);
    expect(maxDiff).toBeLessThanOrEqual(WEIGHT_TOLERANCE * maxUpdate);
  });
});
