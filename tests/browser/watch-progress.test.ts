// Watching a run in the page, in Chromium on tiny models (a SciFact subset, tiny-bert, stories260K): the
// running task shows its rate and the time left; the retriever's loss curve is drawn while it trains
// (two points or more before training ends); Cancel stops the run during retriever training and keeps
// the stages finished before it (the stored log of stages lists them, and the stage running ends it);
// "Run all" afterwards resumes: those stages keep their log entries (not run again), the retriever
// continues from its checkpoint (its curve starts after step 1; its log entry counts both runs), and the
// run completes. The log of stages survives a reload.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.ts';
import { loadSubsetAndTinyModels } from './tiny-setup.ts';
import { writeScifactSubset } from './scifact-subset.ts';

const ROOT = join(import.meta.dirname, '../..');
const SCIFACT = join(ROOT, '../shared/data/beir/scifact');
const ARTIFACTS = join(ROOT, 'test-results');
const LOAD_TIMEOUT_MS = 60_000;
const RUN_TIMEOUT_MS = 300_000;
const RETRIEVER_STEPS = 120;

/**
 * The rows that run every kind of stage (expansions, retriever training, candidates, preferences, DPO,
 * evaluation), few queries and tokens; enough retriever steps that the cancel lands while it trains, with
 * a checkpoint every 2 steps to resume from.
 */
const CONFIG = {
  settings: ['BM25', 'Raw', 'ExpandR'],
  trainQueries: 4,
  testQueries: 6,
  expansion: { maxTokens: 12 },
  answer: { maxTokens: 12 },
  candidates: { temperatures: [0.8, 1.1], perTemperature: 1, maxTokens: 12 },
  rewards: { filter: 0 },
  retriever: { steps: RETRIEVER_STEPS, batchSize: 4, hardNegatives: false, checkpointEvery: 2 },
  dpo: { steps: 4, batchSize: 2, checkpointEvery: 1 },
};

let h: Harness;
let subset: string;
beforeAll(async () => {
  subset = mkdtempSync(join(tmpdir(), 'expandr-watch-'));
  writeScifactSubset(SCIFACT, subset, { queries: 8, docs: 80 });
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
  if (subset) rmSync(subset, { recursive: true, force: true });
});

/** The stored log of stages as shown: stage → the row's cells. */
const logRows = (page: Page) =>
  page.locator('[data-testid="pipeline-log-row"]').evaluateAll((trs) => Object.fromEntries(trs.map((tr) => [tr.getAttribute('data-stage'), [...tr.querySelectorAll('td')].map((td) => td.textContent)])));

describe('watching a run in the page', () => {
  it('shows rate and ETA, draws the loss while training, cancels, and resumes on Run all', async () => {
    const page = await h.newPage();
    page.on('console', (m) => m.type() === 'error' && console.error('[console]', m.text()));
    await page.goto(h.url);
    await page.getByTestId('capability-report').waitFor();
    await loadSubsetAndTinyModels(page, subset);
    await page.getByTestId('pipeline-config-details').locator('summary').click();
    await page.getByTestId('pipeline-config').fill(JSON.stringify(CONFIG));

    await page.getByTestId('run-all').click();
    const pipeline = page.getByTestId('pipeline');
    await page.locator('[data-testid="pipeline"][data-state="running"]').waitFor();
    // The time left, once the rate is measured (never from the first sample), as a person reads it.
    // Read together (a new stage starts measuring afresh, and the ETA goes until its rate is known).
    const shown = await page.waitForFunction(
      () => {
        const text = (id: string) => document.querySelector(`[data-testid="pipeline"] [data-testid="${id}"]`)?.textContent ?? null;
        const [eta, rate] = [text('progress-eta'), text('progress-rate')];
        return eta && rate ? { eta, rate } : null;
      },
      null,
      { timeout: RUN_TIMEOUT_MS },
    );
    const { eta, rate } = (await shown.jsonValue())!;
    expect(eta).toMatch(/^about \d+ (s|min|h \d\d min) left$/);
    expect(rate).toMatch(/^\d+(\.\d+)? \w+\/(s|min)$/);

    // The retriever's loss, drawn while it trains: two points or more while the task still runs; cancel then.
    const curve = page.locator('[data-testid="live-curve"][data-series="retriever:round-1"]');
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="live-curve"][data-series="retriever:round-1"]')?.getAttribute('data-points') ?? 0) >= 2, null, { timeout: RUN_TIMEOUT_MS });
    expect(await pipeline.getAttribute('data-state')).toBe('running');
    expect(await pipeline.getByTestId('progress-stage').textContent()).toBe('train:retriever');
    // The log of stages ends with the one running now.
    expect(await page.getByTestId('pipeline-log-running').getAttribute('data-stage')).toBe('retriever:round-1');
    await page.getByTestId('live-curves').locator('canvas').first().waitFor();
    await page.getByTestId('pipeline-watch').screenshot({ path: join(ARTIFACTS, 'watch-progress-running.png') });
    await pipeline.getByTestId('task-cancel').click();
    await page.locator('[data-testid="pipeline"]:not([data-state="running"])').waitFor({ timeout: RUN_TIMEOUT_MS });
    expect(await page.getByTestId('pipeline-error').textContent()).toMatch(/^Cancelled/);
    const pointsAtCancel = Number(await curve.getAttribute('data-points'));
    expect(pointsAtCancel).toBeLessThan(RETRIEVER_STEPS);

    // What ran before the cancel is in the stored log; the retriever (cancelled) is not.
    const before = await logRows(page);
    expect(Object.keys(before)).toEqual(expect.arrayContaining(['eval:BM25', 'eval:Raw', 'expansions:base:train']));
    expect(before['retriever:round-1']).toBeUndefined();
    expect(before['eval:BM25'][5]).toMatch(/^nDCG@10 \d\.\d{4}$/);

    // Run all resumes: the retriever continues from its last checkpoint, the finished stages are not run again.
    await page.getByTestId('run-all').click();
    await page.locator('[data-testid="pipeline"][data-state="running"]').waitFor();
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="live-curve"][data-series="retriever:round-1"]')?.getAttribute('data-points') ?? 0) >= 1, null, { timeout: RUN_TIMEOUT_MS });
    const firstStep = Number(await curve.getAttribute('data-first-step'));
    expect(firstStep).toBeGreaterThan(1);
    expect(firstStep).toBeLessThanOrEqual(pointsAtCancel + 1);
    await page.locator('[data-testid="pipeline"]:not([data-state="running"])').waitFor({ timeout: RUN_TIMEOUT_MS });
    const error = page.getByTestId('pipeline-error');
    if (await error.count()) throw new Error(`pipeline failed: ${await error.textContent()}`);
    expect(await pipeline.getAttribute('data-state')).toBe('complete');
    const after = await logRows(page);
    for (const [stage, cells] of Object.entries(before)) expect(after[stage], stage).toEqual(cells);
    expect(after['retriever:round-1'][4]).toMatch(/ \(resumed\)$/); // its time counts the part before the cancel
    expect(after['retriever:round-1'][5]).toMatch(new RegExp(`^final loss \\d+\\.\\d{4} \\(${RETRIEVER_STEPS} steps\\)$`));
    expect(after['dpo:round-1'][5]).toMatch(/^final loss \d+\.\d{4} \(4 steps, \d+ pairs\)$/);
    expect(Object.keys(after)).toEqual(expect.arrayContaining(['eval:ExpandR']));
    await page.getByTestId('pipeline-watch').screenshot({ path: join(ARTIFACTS, 'watch-progress-done.png') });

    // The log of stages is part of the stored run: it comes back after a reload.
    await page.reload();
    await page.getByTestId('pipeline-log').waitFor({ timeout: LOAD_TIMEOUT_MS });
    expect(await logRows(page)).toEqual(after);
  });
});
