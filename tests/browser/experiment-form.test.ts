// The experiment form in the page, used as a person would: a JSON pasted in shows in the form, the quick
// look preset, then a few fields typed and a row switched off and on (no JSON typed); a value out of
// range is refused where it is typed, leaves the JSON as it was and holds Run all back; the estimate appears. Then Run all on
// a SciFact subset with tiny models (tiny-bert, stories260K), and the results.json the page downloads
// equals what the runner (`npm run -s expandr -- experiment`) writes for the JSON the form exported, run
// at the same time in Node on the same files and models.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startHarness, type Harness } from './harness.ts';
import { loadSubsetAndTinyModels, STORIES, TINY_BERT } from './tiny-setup.ts';
import { writeScifactSubset } from './scifact-subset.ts';
import { resultsDiff } from './results-diff.ts';
import { QUICK_CONFIG } from '../../src/ui/experiment-form-presets.ts';
import { SETTING_NAMES } from '../../src/pipeline/types.ts';

const ROOT = join(import.meta.dirname, '../..');
const ARTIFACTS = join(ROOT, 'test-results');
const AXE_PATH = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
/** axe-core's rules about the names and labels of controls. */
const NAME_RULES = ['label', 'button-name', 'select-name', 'input-button-name', 'aria-input-field-name', 'summary-name', 'nested-interactive', 'duplicate-id', 'duplicate-id-aria'];
const SCIFACT = join(ROOT, '../shared/data/beir/scifact');
const LOAD_TIMEOUT_MS = 60_000;
/** The page and the runner run at once, sharing the CPU. */
const RUN_TIMEOUT_MS = 300_000;
/**
 * The page runs the loop in its worker on tfjs-wasm (SwiftShader gives no usable WebGPU), the runner on
 * tfjs-wasm in Node: the same kernels on the same inputs. Metrics may still differ in the last bits of a
 * float sum; 1e-9 is far below any difference a setting makes (4 decimals are printed).
 */
const RESULTS_TOLERANCE = 1e-9;

/** What the test types into the form after the quick-look preset: fewer queries, tokens and steps than the preset. */
const TYPED: readonly [path: string, text: string][] = [
  ['trainQueries', '4'],
  ['testQueries', '6'],
  ['expansion.maxTokens', '12'],
  ['answer.maxTokens', '12'],
  ['candidates.perTemperature', '1'],
  ['candidates.maxTokens', '12'],
  ['retriever.steps', '2'],
  // Two steps at the paper's 1e-5 / 2e-5 leave tiny-bert and stories260K as they were.
  ['retriever.lr', '0.001'],
  ['dpo.lr', '0.001'],
];
/** The overrides those edits make of the preset. */
const EXPECTED = {
  ...QUICK_CONFIG,
  trainQueries: 4,
  testQueries: 6,
  expansion: { maxTokens: 12 },
  answer: { maxTokens: 12 },
  candidates: { ...QUICK_CONFIG.candidates, perTemperature: 1, maxTokens: 12 },
  retriever: { ...QUICK_CONFIG.retriever, steps: 2, lr: 0.001 },
  dpo: { ...QUICK_CONFIG.dpo, lr: 0.001 },
};

const configJson = async (page: Page) => JSON.parse(await page.getByTestId('pipeline-config').first().inputValue()) as Record<string, unknown>;

/** Controls of the form without a name a screen reader can say (axe-core, scoped to the form). */
async function unnamedControls(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE_PATH });
  return page.evaluate(async (rules) => {
    type Axe = { run(ctx: Element, opts: object): Promise<{ violations: { id: string; nodes: { target: unknown[] }[] }[] }> };
    const axe = (window as unknown as { axe: Axe }).axe;
    const r = await axe.run(document.querySelector('[data-testid="experiment-form"]')!, { runOnly: { type: 'rule', values: rules }, resultTypes: ['violations'] });
    return r.violations.flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(' ')}`));
  }, NAME_RULES);
}

/** Types `text` into a field key by key (a number box is "" while "0." is half typed), then leaves it. */
async function type(page: Page, path: string, text: string) {
  const input = page.getByTestId(`cfg-${path}`);
  await input.fill('');
  await input.pressSequentially(text);
  await input.press('Tab');
}

let h: Harness;
let subset: string;
let out: string;
beforeAll(async () => {
  subset = mkdtempSync(join(tmpdir(), 'expandr-form-scifact-'));
  out = mkdtempSync(join(tmpdir(), 'expandr-form-runner-'));
  writeScifactSubset(SCIFACT, subset, { queries: 8, docs: 80 });
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
  for (const d of [subset, out]) if (d) rmSync(d, { recursive: true, force: true });
});

describe('the experiment form', () => {
  it('sets up a run with its controls only, refuses bad values where typed, and the page gives the runner’s results.json', async () => {
    const page = await h.newPage();
    await page.setViewportSize({ width: 1280, height: 800 });
    page.on('console', (m) => m.type() === 'error' && console.error('[console]', m.text()));
    await page.goto(h.url);
    await page.getByTestId('capability-report').waitFor();
    await loadSubsetAndTinyModels(page, subset);

    const form = page.getByTestId('experiment-form');
    // JSON in → the form follows (an import, or a run duplicated for editing).
    const details = form.getByTestId('pipeline-config-details');
    await details.locator('summary').click();
    await form.getByTestId('pipeline-config').fill('{"rounds": 2, "seeds": [1, 2], "llm": {"chat": false}}');
    await expect.poll(() => form.getByTestId('cfg-rounds').inputValue()).toBe('2');
    expect(await form.getByTestId('cfg-seeds').inputValue()).toBe('1, 2');
    expect(await form.getByTestId('cfg-llm.chat').inputValue()).toBe('false');
    await details.locator('summary').click();

    // The paper recipe is the defaults: nothing overridden.
    await form.getByTestId('preset-paper').click();
    expect(await configJson(page)).toEqual({});
    expect(await form.getByTestId('cfg-rounds').inputValue()).toBe('1');
    expect(await form.getByTestId('cfg-dpo.beta').inputValue()).toBe('0.1');
    expect(await form.getByTestId('cfg-candidates.temperatures').inputValue()).toBe('0.8, 0.9, 1, 1.1');

    // The quick look, then fields typed as a person would.
    await form.getByTestId('preset-quick').click();
    expect(await configJson(page)).toEqual(QUICK_CONFIG);
    for (const [path, text] of TYPED) await type(page, path, text);
    expect(await configJson(page)).toEqual(EXPECTED);

    // Refused where typed: the message names the field, the JSON keeps the last accepted value.
    await type(page, 'dpo.beta', '-1');
    await form.getByTestId('cfg-error-dpo.beta').waitFor();
    expect(await form.getByTestId('cfg-error-dpo.beta').textContent()).toMatch(/DPO β: must be a number > 0/);
    expect(await form.getByTestId('cfg-dpo.beta').getAttribute('aria-invalid')).toBe('true');
    expect(await configJson(page)).toEqual(EXPECTED);
    // Run all waits while a value is refused, and says which.
    await page.getByTestId('run-all').click();
    await expect.poll(() => page.getByTestId('pipeline-error').textContent()).toMatch(/refuses DPO β \(dpo\.beta\): must be a number > 0/);
    expect(await page.getByTestId('pipeline').getAttribute('data-state')).toBe('idle');
    await type(page, 'trainQueries', '2.5');
    expect(await form.getByTestId('cfg-error-trainQueries').textContent()).toMatch(/whole number/);
    await type(page, 'dpo.beta', '0.1');
    await type(page, 'trainQueries', '4');
    expect(await form.getByTestId('cfg-error-dpo.beta').count()).toBe(0);
    expect(await page.getByTestId('pipeline-error').count()).toBe(0); // the refusal went with the values
    expect(await configJson(page)).toEqual(EXPECTED);

    // A row switched off is written as the list of the others; on again, the list is gone (the default).
    const row = form.locator('[data-testid="cfg-settings"] input[data-setting="w/o self-reward"]');
    await row.uncheck();
    expect((await configJson(page)).settings).toEqual(SETTING_NAMES.filter((s) => s !== 'w/o self-reward'));
    await row.check();
    expect(await configJson(page)).toEqual(EXPECTED);

    // The estimate, from the work this config implies on this dataset and these models.
    const total = page.getByTestId('estimate-total');
    await total.waitFor();
    expect(Number(await total.getAttribute('data-seconds'))).toBeGreaterThanOrEqual(0);
    expect(Number(await total.getAttribute('data-bytes'))).toBeGreaterThan(0);
    expect(await page.getByTestId('experiment-estimate').textContent()).toMatch(/6 test, 2 dev, 4 train queries/);

    // Usable at 1280 × 800: no sideways scrolling, every control named.
    const widths = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, view: document.documentElement.clientWidth }));
    expect(widths.scroll).toBeLessThanOrEqual(widths.view);
    expect(await unnamedControls(page)).toEqual([]);
    await form.screenshot({ path: join(ARTIFACTS, 'experiment-form.png') });
    const estimated = Number(await total.getAttribute('data-seconds'));

    // The JSON the form exports, for the runner (paths of the same files and models added).
    const exported = await configJson(page);
    const configFile = join(out, 'experiment.json');
    writeFileSync(configFile, JSON.stringify({ ...exported, data: subset, encoder: { model: TINY_BERT }, llm: { model: STORIES, chat: false } }));

    const t0 = Date.now();
    await page.getByTestId('run-all').click();
    const runner = promisify(execFile)('npm', ['run', '-s', 'expandr', '--', 'experiment', '--config', configFile, '--out', join(out, 'run'), '--quiet'], { cwd: ROOT, maxBuffer: 1 << 26 });
    runner.catch(() => undefined); // awaited below
    await page.locator('[data-testid="pipeline"][data-state="running"]').waitFor();
    await page.locator('[data-testid="pipeline"]:not([data-state="running"])').waitFor({ timeout: RUN_TIMEOUT_MS });
    const error = page.getByTestId('pipeline-error');
    if (await error.count()) throw new Error(`pipeline failed: ${await error.textContent()}`);
    expect(await page.getByTestId('pipeline').getAttribute('data-state')).toBe('complete');
    console.log(`[browser] form run: page done ${((Date.now() - t0) / 1000).toFixed(1)} s after Run all (estimated ${estimated} s; the runner shares the CPU)`);

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'json', exact: true }).click()]);
    const pageResults = JSON.parse(readFileSync((await download.path())!, 'utf8'));
    await runner;
    console.log(`[browser] form run: runner done ${((Date.now() - t0) / 1000).toFixed(1)} s after Run all`);
    const runnerResults = JSON.parse(readFileSync(join(out, 'run', 'results.json'), 'utf8'));
    expect(pageResults.rows.map((r: { setting: string }) => r.setting)).toEqual([...SETTING_NAMES]);
    // Dataset names are labels (the page's dropped files are "dataset"); checksums, splits and every number are compared.
    const label = (p: string) => p === '.dataset' || /^\.sources\.(test|train\[\d+\])\.dataset$/.test(p);
    console.log(`[browser] form run: ${resultsDiff(pageResults, runnerResults, 0, label).length} numbers of results.json not bit-equal to the runner's`);
    expect(resultsDiff(pageResults, runnerResults, RESULTS_TOLERANCE, label)).toEqual([]);
  });
});
