// Bring and take in the page, in Chromium: one SciFact subset, tiny-bert, the page's BM25 run; then
// - bad files (empty, a query id the dataset lacks) are refused naming the file, line and fix;
// - a TREC run made from BM25 of the same dataset outside the page (the project's BM25 in Node) is
//   imported, listed as a run, and compares with the page's BM25 run at p = 1 with zero difference;
// - "duplicate and edit" puts the run's config back into the page's config;
// - "export zip" downloads one zip, read back here: config, results (json/md/csv), TREC run, README,
//   figures as SVG and PNG, no checkpoints unless ticked;
// - the Hugging Face token is kept in this browser across a reload, is in no export, and "forget" clears it;
// - a gated Hub model (a stand-in Hub routed by the browser: tiny-bert, 401 without the token) loads only
//   with the token, through the page's worker, and is pinned to the commit the Hub names.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { unzipSync } from 'fflate';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBeir } from '../../src/data/load.ts';
import { ENCODER_PRESETS } from '../../src/encoder/presets.ts';
import { splitQueries } from '../../src/data/qrels.ts';
import { fromBytes } from '../../src/data/source.ts';
import { writeTrecRun } from '../../src/eval/trec-run.ts';
import { BM25_DEFAULTS, buildIndex } from '../../src/retrieval/bm25/evaluate.ts';
import { searchBm25 } from '../../src/retrieval/bm25/index.ts';
import { dropFiles, startHarness, type Harness } from './harness.ts';
import { writeScifactSubset } from './scifact-subset.ts';

const ROOT = join(import.meta.dirname, '../..');
const SCIFACT = join(ROOT, '../shared/data/beir/scifact');
const TINY_BERT = join(ROOT, 'tests/reference/fixtures/tiny-bert');
const FILES = ['corpus.jsonl', 'queries.jsonl', 'qrels/test.tsv', 'qrels/train.tsv'];
const STEP_TIMEOUT_MS = 120_000;
const LOAD_TIMEOUT_MS = 60_000;
const TOKEN = 'hf_browserTestToken42';

let h: Harness;
let subset: string;
beforeAll(async () => {
  subset = mkdtempSync(join(tmpdir(), 'expandr-run-import-'));
  writeScifactSubset(SCIFACT, subset, { queries: 6, docs: 40 });
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
  if (subset) rmSync(subset, { recursive: true, force: true });
});

/** BM25 of the subset's test queries with the project's code in Node, as a TREC run file. */
async function nodeBm25Run(): Promise<string> {
  const data = await loadBeir(FILES.map((f) => fromBytes(`scifact-mini/${f}`, readFileSync(join(subset, f)))));
  const { index } = await buildIndex(data.docs, data.docs.length, BM25_DEFAULTS);
  const qrels = data.qrels.get('test')!;
  return writeTrecRun(await searchBm25(index, splitQueries([...data.queries.values()], qrels), BM25_DEFAULTS), 'node-bm25');
}

/** The page's config JSON (every config textarea binds the same text). */
async function setConfig(page: Page, config: object): Promise<void> {
  await page.evaluate(() => document.querySelectorAll<HTMLDetailsElement>('details[data-testid="pipeline-config-details"]').forEach((d) => (d.open = true)));
  await page.getByTestId('pipeline-config').first().fill(JSON.stringify(config));
}

async function zipEntries(page: Page, click: () => Promise<void>): Promise<Record<string, Uint8Array>> {
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: LOAD_TIMEOUT_MS }), click()]);
  expect(download.suggestedFilename()).toMatch(/^expandr-[\w.-]+-[0-9a-z]+\.zip$/);
  return unzipSync(new Uint8Array(readFileSync((await download.path())!)));
}

describe('bring and take in the page', () => {
  it('imports a BM25 TREC run (p = 1 against the page BM25), refuses bad files, duplicates a run, exports a zip, keeps the token local', async () => {
    const page = await h.newPage();
    page.on('dialog', (d) => void d.accept());
    await page.goto(h.url);
    await dropFiles(page, '[data-testid="dropzone"]', FILES.map((f) => ({ name: f.split('/').pop()!, bytes: readFileSync(join(subset, f)) })));
    await page.getByTestId('dataset-row').first().waitFor({ timeout: LOAD_TIMEOUT_MS });
    await page.getByTestId('encoder-folder-input').setInputFiles(TINY_BERT);
    await page.getByTestId('encoder-row').first().waitFor({ timeout: LOAD_TIMEOUT_MS });

    await setConfig(page, { testQueries: 0, seed: 7, settings: ['BM25', 'Raw'] });
    await page.getByTestId('run-all').click();
    await page.locator('[data-testid="pipeline"]:not([data-state="running"])').waitFor({ timeout: STEP_TIMEOUT_MS });
    if (await page.getByTestId('pipeline-error').count()) throw new Error(`pipeline failed: ${await page.getByTestId('pipeline-error').textContent()}`);
    await expect.poll(() => page.getByTestId('run-row').count(), { timeout: LOAD_TIMEOUT_MS }).toBe(1);

    // Bad files: the error names the file, the line and the fix.
    const input = page.getByTestId('import-run-file');
    await input.setInputFiles({ name: 'empty.trec', mimeType: 'text/plain', buffer: Buffer.from('') });
    await expect.poll(() => page.getByTestId('import-error').textContent(), { timeout: LOAD_TIMEOUT_MS }).toMatch(/^empty\.trec: the file is empty\. Choose a non-empty TREC run file/);
    await input.setInputFiles({ name: 'other.trec', mimeType: 'text/plain', buffer: Buffer.from('nope Q0 d1 1 1.5 x\n') });
    await expect.poll(() => page.getByTestId('import-error').textContent(), { timeout: LOAD_TIMEOUT_MS }).toMatch(/^other\.trec line 1: query id "nope" is not a query of dataset "[^"]+" \(1 of the file.s 1 query ids are unknown.*Import the run file for the dataset it was made for/);
    await input.setInputFiles({ name: 'bad.jsonl', mimeType: 'text/plain', buffer: Buffer.from('{"id": "1"}\n') });
    await expect.poll(() => page.getByTestId('import-error').textContent(), { timeout: LOAD_TIMEOUT_MS }).toMatch(/^bad\.jsonl line 1: no "expansion" or "text" string/);

    // The TREC run made in Node from the same dataset.
    await input.setInputFiles({ name: 'node-bm25.trec', mimeType: 'text/plain', buffer: Buffer.from(await nodeBm25Run()) });
    await expect.poll(() => page.getByTestId('import-result').textContent(), { timeout: LOAD_TIMEOUT_MS }).toMatch(/Imported node-bm25\.trec .*TREC run, scored as ranked in the file/);
    await expect.poll(() => page.getByTestId('run-row').count(), { timeout: LOAD_TIMEOUT_MS }).toBe(2);
    const importedRow = page.getByTestId('run-row').filter({ hasText: 'node-bm25.trec (imported)' });
    expect(await importedRow.getByTestId('run-status').textContent()).toBe('imported');
    const pageRow = page.getByTestId('run-row').filter({ hasNotText: '(imported)' });

    const optionOf = async (select: string, imported: boolean) => {
      const options = await page.getByTestId(select).locator('option').evaluateAll((os) => os.map((o) => ({ value: (o as HTMLOptionElement).value, text: o.textContent ?? '' })));
      return options.find((o) => o.text.includes('(imported)') === imported)!.value;
    };
    await page.getByTestId('compare-a').selectOption(await optionOf('compare-a', false));
    await page.getByTestId('compare-b').selectOption(await optionOf('compare-b', true));
    await page.getByTestId('compare-a-setting').selectOption('BM25');
    await page.getByTestId('compare-b-setting').selectOption('TREC run');
    await page.getByTestId('compare-run').click();
    const summary = (await page.getByTestId('compare-summary').textContent({ timeout: LOAD_TIMEOUT_MS }))?.replace(/\s+/g, ' ');
    expect(summary).toMatch(/on 6 shared queries/);
    expect(summary).toMatch(/B − A ±0\.0000 \(95 % CI \[0\.0000, 0\.0000\]\); paired permutation test .* p = 1\.00: no significant difference\. B higher on 0, lower on 0, equal on 6/);
    const diffs = await page.locator('[data-testid="compare-diffs"] tbody tr td:last-child').allTextContents();
    expect(diffs.length).toBe(6);
    for (const d of diffs) expect(d).toBe('±0.0000');

    // Duplicate and edit: the page run's config comes back into the page's config.
    await setConfig(page, { settings: ['Raw'] });
    await pageRow.getByTestId('run-duplicate').click();
    await expect.poll(async () => JSON.parse(await page.getByTestId('pipeline-config').first().inputValue())).toMatchObject({ seed: 7, settings: ['BM25', 'Raw'] });

    // Export the open run as one zip from the Export area, then the imported one from the run list.
    const entries = await zipEntries(page, () => page.getByTestId('export-run-zip').click());
    const paths = Object.keys(entries);
    for (const p of ['config.json', 'results.json', 'results.md', 'results.csv', 'analysis.md', 'runs/BM25.trec', 'runs/Raw.trec', 'README.txt']) expect(paths).toContain(p);
    expect(paths.some((p) => p.startsWith('checkpoints/'))).toBe(false);
    const svgs = paths.filter((p) => /^figures\/.*\.svg$/.test(p));
    expect(svgs.length).toBeGreaterThan(0); // the t-SNE of Raw's query/document pairs
    for (const svg of svgs) {
      expect(new TextDecoder().decode(entries[svg])).toMatch(/^<svg /);
      expect([...entries[svg.replace(/\.svg$/, '.png')].subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
    }
    const readme = new TextDecoder().decode(entries['README.txt']);
    for (const p of paths) expect(readme).toContain(p);
    expect(readme).toMatch(/Exported by ExpandR Web \d+\.\d+\.\d+\+/);
    expect(JSON.parse(new TextDecoder().decode(entries['results.json'])).rows.map((r: { setting: string }) => r.setting)).toEqual(['BM25', 'Raw']);
    // With the checkbox the README says checkpoints are in (this run trained nothing: none to add).
    await page.getByTestId('export-include-checkpoints').check();
    const withCk = await zipEntries(page, () => page.getByTestId('export-run-zip').click());
    expect(new TextDecoder().decode(withCk['README.txt'])).toContain('Checkpoints (encoders, adapters) are included.');
    expect(Object.keys(withCk).sort()).toEqual([...paths].sort());
    const imported = await zipEntries(page, () => importedRow.getByTestId('run-export-zip').click());
    expect(Object.keys(imported)).toEqual(expect.arrayContaining(['config.json', 'results.json', 'runs/TREC-run.trec', 'README.txt']));

    // The token: kept in this browser, in no export, forgotten on request.
    await page.getByTestId('hf-token').fill(TOKEN);
    await page.getByTestId('hf-token').dispatchEvent('change');
    await page.reload();
    await expect.poll(() => page.getByTestId('hf-token').inputValue(), { timeout: LOAD_TIMEOUT_MS }).toBe(TOKEN);
    expect(await page.getByTestId('hf-token').getAttribute('type')).toBe('password');
    await expect.poll(() => page.getByTestId('run-row').count(), { timeout: LOAD_TIMEOUT_MS }).toBe(2);
    const again = await zipEntries(page, () => page.getByTestId('run-row').filter({ hasNotText: '(imported)' }).getByTestId('run-export-zip').click());
    for (const bytes of Object.values(again)) expect(Buffer.from(bytes).toString('latin1')).not.toContain(TOKEN);
    await page.getByTestId('hf-token-forget').click();
    expect(await page.getByTestId('hf-token').inputValue()).toBe('');
    expect(await page.evaluate(() => Object.values(localStorage).join('\n'))).not.toContain(TOKEN);
  }, 300_000);

  it('loads a gated Hub model only with the token, in the page worker, pinned to its commit', async () => {
    const files = new Map<string, Buffer>();
    const walk = (d: string): void => readdirSync(d).forEach((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : files.set(relative(TINY_BERT, join(d, f)), readFileSync(join(d, f)))));
    walk(TINY_BERT);
    const commit = 'fedcba9876543210fedcba9876543210fedcba98';
    const auth: string[] = [];
    const page = await h.newPage();
    // As the Hub answers a page: CORS open, the Authorization header allowed (preflight), X-Repo-Commit exposed.
    const cors = { 'access-control-allow-origin': '*', 'access-control-allow-headers': 'authorization', 'access-control-expose-headers': 'x-repo-commit, content-length' };
    await page.context().route('https://huggingface.co/**', async (route) => {
      if (route.request().method() === 'OPTIONS') return route.fulfill({ status: 204, headers: cors });
      const header = (await route.request().allHeaders())['authorization'] ?? '';
      auth.push(header);
      if (header !== `Bearer ${TOKEN}`) return route.fulfill({ status: 401, body: 'gated', headers: cors });
      const file = decodeURIComponent(new URL(route.request().url()).pathname.split('/resolve/')[1]?.split('/').slice(1).join('/') ?? '');
      const body = files.get(file);
      return body
        ? route.fulfill({ status: 200, body, headers: { ...cors, 'x-repo-commit': commit, 'content-length': String(body.length) } })
        : route.fulfill({ status: 404, body: 'Entry not found', headers: cors });
    });
    await page.goto(h.url);
    // The models section shows once a dataset is stored (the first test's, or this one).
    if (!(await page.getByTestId('dataset-row').count())) {
      await dropFiles(page, '[data-testid="dropzone"]', FILES.map((f) => ({ name: f.split('/').pop()!, bytes: readFileSync(join(subset, f)) })));
    }
    await page.getByTestId('hf-token').waitFor({ timeout: LOAD_TIMEOUT_MS });
    const load = page.getByRole('button', { name: 'Load from the Hub' });
    await load.click();
    await expect.poll(() => page.getByTestId('encoder-error').textContent(), { timeout: LOAD_TIMEOUT_MS }).toMatch(/private or gated \(HTTP 401 .*put a Hugging Face token under "Hugging Face access"/);
    expect(auth.every((a) => a === '')).toBe(true);

    await page.getByTestId('hf-token').fill(TOKEN);
    await page.getByTestId('hf-token').dispatchEvent('change');
    await load.click();
    // Loaded (a row named after the preset) or refused: then the error says why.
    const preset = ENCODER_PRESETS[0].id; // the panel's default preset
    await page.getByTestId('encoder-row').filter({ hasText: preset }).or(page.getByTestId('encoder-error')).first().waitFor({ timeout: LOAD_TIMEOUT_MS });
    expect(await page.getByTestId('encoder-error').count(), `${await page.getByTestId('encoder-error').textContent().catch(() => '')} ${auth.join(',')}`).toBe(0);
    const row = page.getByTestId('encoder-row').filter({ hasText: `@ ${commit.slice(0, 12)}` });
    expect(await row.count(), (await page.getByTestId('encoder-row').allTextContents()).join(' | ')).toBe(1);
    expect(auth.at(-1)).toBe(`Bearer ${TOKEN}`);
    await page.getByTestId('hf-token-forget').click();
    await page.context().unroute('https://huggingface.co/**');
  }, 300_000);
});
