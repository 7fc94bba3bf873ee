// A killed tab during a retriever training step (issue 18, point 3): Chromium (persistent profile, wasm
// backend) is SIGKILLed (the whole process group: no unload, no IndexedDB close) once the page's Train has
// stored a checkpoint, then opened again on the same profile. The dataset and the dropped encoder stored
// before read back unchanged; Train with the same settings resumes at the stored checkpoint's step (the
// worker streams only the steps after it), and the finished run equals an uninterrupted run of the
// worker's code in Node (node-mirror.ts): the loss of every step and the trained weights.
// Then killed during a DPO step of the pipeline (stories260K + tiny-bert, one DPO-trained row): once the
// DPO checkpoint is stored. Run all again resumes: the stages finished before the kill are not redone (their
// records are unchanged), DPO continues after its stored step, and the results equal an uninterrupted run
// of the worker's code in Node.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countRowsInPage, datasetRowsInPage, launchKillable, serveBuiltApp, type KillableBrowser } from './killable-browser.ts';
import { denseTrainInNode, LOOSE_BEIR_FILES, runPipelineInNode } from './node-mirror.ts';
import { dropFiles } from './harness.ts';
import { writeScifactSubset } from './scifact-subset.ts';
import { flatWeights } from './flat-weights.ts';

const SCIFACT = join(import.meta.dirname, '../../../shared/data/beir/scifact');
const TINY_BERT = join(import.meta.dirname, '../reference/fixtures/tiny-bert');
const LOAD_TIMEOUT_MS = 60_000;
const TRAIN_TIMEOUT_MS = 120_000;
const POLL_MS = 25;
/** Enough steps that the kill falls mid-run (the worker is frozen after KILL_AT_STEP); a checkpoint after every step. */
const TRAIN = { steps: 16, batchSize: 8, lr: 5e-5, hardNegatives: true, pretrainSteps: 0, checkpointEvery: 1 };
/** The kill comes once this step's checkpoint is stored (the worker stops before the next), so the resumption is not near 0. */
const KILL_AT_STEP = 4;
/**
 * The page's wasm and Node's wasm run the same kernels: measured equal to the bit (2026-12-04), losses and
 * weights. The slack only allows another summation order (SIMD or threads on another machine).
 */
const LOSS_RELATIVE_TOLERANCE = 1e-6;
/** Largest difference of any trained weight, page vs Node, relative to the largest weight update. */
const WEIGHT_TOLERANCE = 1e-4;
const STORIES = join(import.meta.dirname, '../../../shared/models/stories260K');
const RUN_TIMEOUT_MS = 180_000;
/** DPO is killed once a checkpoint of at least this step is stored. */
const DPO_KILL_AT_STEP = 3;
/** As expandr-e2e's tiny config, one DPO-trained row only, and DPO long enough to be killed mid-way. */
const DPO_CONFIG = {
  trainQueries: 4,
  testQueries: 6,
  expansion: { maxTokens: 12 },
  answer: { maxTokens: 12 },
  candidates: { temperatures: [0.8, 1.1], perTemperature: 1, maxTokens: 12 },
  retriever: { steps: 2, batchSize: 4, hardNegatives: false, lr: 1e-3 },
  dpo: { steps: 10, batchSize: 2, lr: 1e-3, checkpointEvery: 1 },
  settings: ['Raw', 'w/o retriever training'],
};
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
  writeScifactSubset(SCIFACT, join(work, 'scifact-dpo'), { queries: 8, docs: 80 });
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

/**
 * Stops the core worker for good (a busy loop until the kill) when it reports step `atStep` of the kind
 * given: the training loop stores step atStep - 1's checkpoint before it runs the next step, so that
 * checkpoint is stored by then and the run cannot finish before the kill, however slow the machine or the
 * polling is (CI once saw all 16 steps pass between two polls).
 */
async function freezeWorkerAt(page: Page, kind: 'step' | 'train:llm', atStep: number): Promise<void> {
  const worker = page.workers().find((w) => w.url().includes('core'));
  if (!worker) throw new Error(`no core worker among ${page.workers().map((w) => w.url()).join(', ')}`);
  await worker.evaluate(
    ([k, at]) => {
      const g = self as unknown as { postMessage: (m: unknown) => void };
      const post = g.postMessage.bind(self);
      g.postMessage = (m: unknown) => {
        const msg = m as { type?: string; point?: { step: number }; stage?: string; done?: number };
        const step = k === 'step' ? (msg.type === 'step' ? msg.point?.step : undefined) : msg.type === 'progress' && msg.stage === k ? msg.done : undefined;
        if (step !== undefined && step >= at) for (;;); // frozen until the browser is killed
        post(m);
      };
    },
    [kind, atStep] as const,
  );
}

async function startTraining(page: Page): Promise<void> {
  await page.locator('details summary', { hasText: 'Training settings' }).click();
  await page.getByLabel('steps', { exact: true }).fill(String(TRAIN.steps));
  await page.getByLabel('batch', { exact: true }).fill(String(TRAIN.batchSize));
  await page.getByLabel('lr', { exact: true }).fill(String(TRAIN.lr));
  await page.getByLabel('checkpoint every', { exact: true }).fill(String(TRAIN.checkpointEvery));
  await page.getByTestId('encoder-row').first().getByTestId('train').click();
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

    // The uninterrupted run, in Node (the worker's code on wasm), finished before Chromium is driven again: it
    // computes in this process, and would starve the CDP connection's event loop (CI saw a 30 s connect time out).
    const mirror = await denseTrainInNode(join(work, 'scifact-mini'), SUBSET_FILES, { dir: TINY_BERT, name: 'tiny-bert' }, { eval: 'test', train: 'train' }, TRAIN);

    await freezeWorkerAt(page, 'step', KILL_AT_STEP + 1);
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

/** The run's state (stage name → finishedAt) and its DPO checkpoint's step, straight from IndexedDB. */
function runInPage(page: Page, datasetId: string): Promise<{ stages: Record<string, string>; dpoStep: number | null; dpoCurve: number[] | null }> {
  return page.evaluate(async (id) => {
    const db = await new Promise<IDBDatabase>((res, rej) => {
      const r = indexedDB.open('expandr');
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    type Sealed<T> = { value?: T } & T;
    const rows = await new Promise<{ key: string; value: Sealed<Record<string, unknown>> }[]>((res, rej) => {
      const r = db.transaction('artifacts').objectStore('artifacts').getAll(IDBKeyRange.bound([id], [id, []]));
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    db.close();
    const open = <T,>(v: Sealed<T>): T => (v.value ?? v) as T;
    const state = rows.find((r) => r.key.endsWith('/state'));
    const stages = state ? open(state.value as Sealed<{ stages: Record<string, { finishedAt: string }> }>).stages : {};
    const dpo = rows.find((r) => /\/checkpoints\/dpo-/.test(r.key));
    const c = dpo ? open(dpo.value as Sealed<{ step: number; curve: { loss: number }[] }>) : null;
    return {
      stages: Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, v.finishedAt])),
      dpoStep: c ? c.step : null,
      dpoCurve: c ? c.curve.map((p) => p.loss) : null,
    };
  }, datasetId);
}

/** Records the DPO steps the core worker reports (progress of stage 'train:llm'), for the test to read. */
async function watchDpoSteps(page: Page): Promise<() => Promise<number[]>> {
  const worker = page.workers().find((w) => w.url().includes('core'));
  if (!worker) throw new Error(`no core worker among ${page.workers().map((w) => w.url()).join(', ')}`);
  await worker.evaluate(() => {
    const g = self as unknown as { postMessage: (m: unknown) => void; __dpo?: number[] };
    const post = g.postMessage.bind(self);
    g.__dpo = [];
    g.postMessage = (m: unknown) => {
      const msg = m as { type?: string; stage?: string; done?: number };
      if (msg.type === 'progress' && msg.stage === 'train:llm' && msg.done !== undefined) g.__dpo!.push(msg.done);
      post(m);
    };
  });
  return () => worker.evaluate(() => (self as unknown as { __dpo: number[] }).__dpo);
}

async function runAll(page: Page): Promise<void> {
  await page.getByTestId('pipeline-config-details').locator('summary').click();
  await page.getByTestId('pipeline-config').fill(JSON.stringify(DPO_CONFIG));
  await page.getByTestId('run-all').click();
  await page.locator('[data-testid="pipeline"][data-state="running"]').waitFor();
}

describe('the browser killed during a DPO step of the pipeline', () => {
  it('resumes the run: finished stages are not redone, DPO continues from its checkpoint, the results are an uninterrupted run\'s', async () => {
    const profile = join(work, 'profile-dpo');
    await browser?.close();
    browser = await launchKillable(profile, { webgpu: false });
    let page = await browser.newPage();
    await page.goto(app.url);
    const dir = join(work, 'scifact-dpo');
    await dropFiles(page, '[data-testid="dropzone"]', Object.entries(LOOSE_BEIR_FILES).map(([name, path]) => ({ name, bytes: readFileSync(join(dir, path)) })));
    await page.getByTestId('dataset-row').first().waitFor({ timeout: LOAD_TIMEOUT_MS });
    const [dataset] = await datasetRowsInPage(page);
    await page.getByTestId('encoder-folder-input').setInputFiles(TINY_BERT);
    await page.getByTestId('encoder-row').first().waitFor({ timeout: LOAD_TIMEOUT_MS });
    await page.getByTestId('llm-folder-input').setInputFiles(STORIES);
    await page.getByTestId('llm-row').first().waitFor({ timeout: LOAD_TIMEOUT_MS });
    const kept = await storedDigests(page, dataset.id);

    await freezeWorkerAt(page, 'train:llm', DPO_KILL_AT_STEP + 1);
    const t0 = Date.now();
    await runAll(page);
    let before = await runInPage(page, dataset.id);
    while (!(before.dpoStep !== null && before.dpoStep >= DPO_KILL_AT_STEP) && Date.now() - t0 < RUN_TIMEOUT_MS) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      before = await runInPage(page, dataset.id);
    }
    if (before.dpoStep === null || before.dpoStep < DPO_KILL_AT_STEP) throw new Error(`no DPO checkpoint of step ${DPO_KILL_AT_STEP} or later in ${RUN_TIMEOUT_MS / 1000} s (stages: ${Object.keys(before.stages).join(', ')})`);
    if (before.dpoStep >= DPO_CONFIG.dpo.steps) throw new Error('DPO finished before the kill: use more steps');
    await browser.kill();
    console.log(`[faults-kill-training] killed chromium ${((Date.now() - t0) / 1000).toFixed(1)} s into the run, DPO checkpoint at step ${before.dpoStep} of ${DPO_CONFIG.dpo.steps}; stages done: ${Object.keys(before.stages).join(', ')}`);
    // The uninterrupted run, in Node, while no browser is up: it computes in this process (see above).
    const node = await runPipelineInNode(dir, LOOSE_BEIR_FILES, { encoderDir: TINY_BERT, encoderName: 'tiny-bert', llmDir: STORIES, llmName: 'stories260K' }, DPO_CONFIG);

    browser = await launchKillable(profile, { webgpu: false });
    page = await browser.newPage();
    await page.goto(app.url);
    await page.getByTestId('encoder-row').first().waitFor({ timeout: LOAD_TIMEOUT_MS });
    await page.getByTestId('llm-row').first().waitFor({ timeout: LOAD_TIMEOUT_MS });
    expect(await storedDigests(page, dataset.id)).toEqual(kept);
    const left = await runInPage(page, dataset.id);
    // Whatever was recorded at the kill is still there, as it was.
    expect(left.stages).toMatchObject(before.stages);
    expect(left.dpoStep).toBeGreaterThanOrEqual(before.dpoStep);
    expect(left.dpoStep).toBeLessThan(DPO_CONFIG.dpo.steps);

    const dpoSteps = await watchDpoSteps(page);
    await runAll(page);
    await page.locator('[data-testid="pipeline"]:not([data-state="running"])').waitFor({ timeout: RUN_TIMEOUT_MS });
    const error = page.getByTestId('pipeline-error');
    if (await error.count()) throw new Error(`pipeline failed: ${await error.textContent()}`);
    expect(await page.getByTestId('pipeline').getAttribute('data-state')).toBe('complete');
    const ran = await dpoSteps();
    const done = await runInPage(page, dataset.id);
    console.log(`[faults-kill-training] resumed: DPO steps run ${ran.join(',')}; stages ${Object.keys(done.stages).join(', ')}`);
    // The stages finished before the kill were reused (same finishedAt), DPO ran only its remaining steps.
    expect(done.stages).toMatchObject(left.stages);
    expect(ran).toEqual(Array.from({ length: DPO_CONFIG.dpo.steps - left.dpoStep! }, (_, i) => left.dpoStep! + 1 + i));

    const rows = await page.getByTestId('expandr-results').locator('tbody tr').evaluateAll((trs) =>
      trs.map((tr) => ({ setting: tr.getAttribute('data-setting'), values: Object.fromEntries([...tr.querySelectorAll('[data-metric]')].map((c) => [c.getAttribute('data-metric'), c.textContent])) })),
    );
    console.log(`[faults-kill-training] page ${JSON.stringify(rows)}`);
    expect(rows).toEqual(node.results!.rows.map((r) => ({ setting: r.setting, values: Object.fromEntries(Object.keys(rows[0].values).map((m) => [m, (r[m as keyof typeof r] as number).toFixed(4)])) })));
    // The resumed DPO's model writes the uninterrupted one's expansion (the case view, first test query).
    await page.getByTestId('case-view').waitFor({ timeout: LOAD_TIMEOUT_MS });
    const shown = await page.locator('[data-testid="case-view"] tbody tr').evaluateAll((trs) => trs.map((tr) => [(tr as HTMLTableRowElement).cells[0].textContent, (tr as HTMLTableRowElement).cells[1].textContent]));
    console.log(`[faults-kill-training] case view ${JSON.stringify(shown)}`);
    expect(shown).toEqual(node.figures!.cases[0].expansions.map((e) => [e.setting, e.text]));
    expect(shown.length).toBeGreaterThan(0);
    const nodeDpo = node.figures!.curves.find((c) => c.kind === 'dpo')!.points.map((p) => p.loss);
    console.log(`[faults-kill-training] DPO loss per step: page ${JSON.stringify(done.dpoCurve)}, Node ${JSON.stringify(nodeDpo)}`);
    expect(done.dpoCurve).toHaveLength(DPO_CONFIG.dpo.steps);
    done.dpoCurve!.forEach((loss, i) => expect(Math.abs(loss - nodeDpo[i]), `DPO step ${i + 1}`).toBeLessThanOrEqual(LOSS_RELATIVE_TOLERANCE * Math.abs(nodeDpo[i])));
  });
});
