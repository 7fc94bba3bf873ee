// The page's side of the agreement check: the real app in Chromium (tests/browser/harness.ts: vite preview
// with the COOP/COEP headers, Debian chromium through playwright), used as a person would. A BEIR folder
// is dropped as loose files, an encoder folder chosen through its picker, the runner's config pasted into
// the page's JSON box (restricted to the settings the page runs itself), Run all pressed, and the run's
// zip exported; expansions made by the runner are imported as a JSONL (src/app/run-import.ts scores
// them as Raw+expansion with the pipeline's encoder) and that run's zip exported too. What the zips hold
// (results.json rows, the TREC runs, the run's dataset checksum and model hashes) is what is compared.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { unzipSync } from 'fflate';
import type { Download, Page } from 'playwright-core';
import { dropFiles } from '../tests/browser/harness.ts';

/** A page export as the agreement check reads it. */
export interface PageExport {
  /** results.json's rows by setting (metrics at full precision; `dev` beside them when the run has dev). */
  rows: Map<string, Record<string, unknown>>;
  /** The TREC run of each setting, as text. */
  trec: Map<string, string>;
  /** config.json's datasets and models (checksums and hashes by content). */
  datasets: { role: string; name: string; checksum: string }[];
  models: { role: string; name: string; hash: string }[];
  /** Wall time of the page's part, seconds. */
  seconds: number;
}

export interface PageRunOptions {
  /** A BEIR folder: corpus.jsonl[.gz], queries.jsonl, qrels/SPLIT.tsv. */
  data: string;
  /** A sentence-transformers folder, chosen through the page's encoder folder picker. */
  encoder: string;
  /** The config JSON pasted into the page (its data/model paths are the runner's; the page uses what was dropped). */
  config: Record<string, unknown>;
  /** How long the page may take for one run or import (the whole corpus is encoded in it). */
  timeoutMs: number;
  /** Called with the page's progress line while it runs (every `progressEveryMs`). */
  onProgress?: (line: string) => void;
  progressEveryMs?: number;
}

const LOAD_TIMEOUT_MS = 600_000;

/** The BEIR files of `dir` as the page's drop zone takes loose files (qrels by their split name). */
function beirFiles(dir: string): { name: string; bytes: Buffer }[] {
  const corpus = ['corpus.jsonl', 'corpus.jsonl.gz'].find((f) => existsSync(join(dir, f)));
  if (!corpus) throw new Error(`${dir}: no corpus.jsonl or corpus.jsonl.gz. Give --config a "data" folder in BEIR layout.`);
  const qrels = readdirSync(join(dir, 'qrels')).filter((f) => f.endsWith('.tsv'));
  return [corpus, 'queries.jsonl', ...qrels.map((f) => `qrels/${f}`)].map((f) => ({ name: f.split('/').pop()!, bytes: readFileSync(join(dir, f)) }));
}

/** Waits for a task of the page to end, saying how far it got meanwhile. */
async function waitWithProgress(page: Page, done: () => Promise<unknown>, opts: Pick<PageRunOptions, 'onProgress' | 'progressEveryMs'>): Promise<void> {
  const every = opts.progressEveryMs ?? 60_000;
  const timer = opts.onProgress
    ? setInterval(() => {
        void page
          .locator('.task[role="status"]')
          .first()
          .innerText({ timeout: 5_000 })
          .then((t) => opts.onProgress!(t.replace(/\s+/g, ' ').replace(/ Cancel /, ' ').trim()))
          .catch(() => undefined);
      }, every)
    : undefined;
  try {
    await done();
  } finally {
    clearInterval(timer);
  }
}

async function zipOf(page: Page, click: () => Promise<void>): Promise<Record<string, Uint8Array>> {
  const [download]: [Download, void] = await Promise.all([page.waitForEvent('download', { timeout: LOAD_TIMEOUT_MS }), click()]);
  return unzipSync(new Uint8Array(readFileSync((await download.path())!)));
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** results.json, config.json and the TREC runs of an exported run zip. */
function readExport(entries: Record<string, Uint8Array>, seconds: number): PageExport {
  const need = (p: string) => {
    if (!entries[p]) throw new Error(`The page's run zip has no ${p} (it has ${Object.keys(entries).join(', ')}).`);
    return JSON.parse(text(entries[p]));
  };
  const results = need('results.json') as { rows: Record<string, unknown>[] };
  const config = need('config.json') as Pick<PageExport, 'datasets' | 'models'>;
  const rows = new Map(results.rows.map((r) => [String(r.setting), r]));
  // runs/SLUG.trec, SLUG the setting with other characters than [A-Za-z0-9+.-] as '-' (run-export.ts).
  const trec = new Map<string, string>();
  for (const setting of rows.keys()) {
    const slug = setting.replace(/[^A-Za-z0-9+.-]+/g, '-');
    const file = Object.keys(entries).find((p) => p === `runs/${slug}.trec`);
    if (file) trec.set(setting, text(entries[file]));
  }
  return { rows, trec, datasets: config.datasets ?? [], models: config.models ?? [], seconds };
}

/** Documents in a BEIR corpus file (non-blank lines). */
function docCount(file: { name: string; bytes: Buffer }): number {
  const body = file.name.endsWith('.gz') ? gunzipSync(file.bytes) : file.bytes;
  return body.toString('utf8').split('\n').filter((l) => l.trim() !== '').length;
}

/** Opens the app, drops the dataset (waits until its row counts every document) and chooses the encoder. */
export async function loadDataAndEncoder(page: Page, url: string, opts: Pick<PageRunOptions, 'data' | 'encoder'>): Promise<void> {
  await page.goto(url);
  await page.getByTestId('capability-report').waitFor({ timeout: LOAD_TIMEOUT_MS });
  const files = beirFiles(opts.data);
  await dropFiles(page, '[data-testid="dropzone"]', files);
  const row = page.getByTestId('dataset-row').first();
  await row.waitFor({ timeout: LOAD_TIMEOUT_MS });
  const docs = docCount(files[0]).toLocaleString('en-US');
  await row.filter({ hasText: docs }).waitFor({ timeout: LOAD_TIMEOUT_MS });
  await page.getByTestId('encoder-folder-input').setInputFiles(opts.encoder);
  await page.getByTestId('encoder-row').first().waitFor({ timeout: LOAD_TIMEOUT_MS });
  const err = page.getByTestId('encoder-error');
  if (await err.count()) throw new Error(`The page refused the encoder ${opts.encoder}: ${await err.textContent()}`);
}

/** Pastes `opts.config` into the page's JSON box, presses Run all and exports the run when it is done. */
export async function runAllInPage(page: Page, opts: PageRunOptions): Promise<PageExport> {
  await page.evaluate(() => document.querySelectorAll<HTMLDetailsElement>('details[data-testid="pipeline-config-details"]').forEach((d) => (d.open = true)));
  await page.getByTestId('pipeline-config').first().fill(JSON.stringify(opts.config, null, 1));
  const problem = page.getByTestId('config-json-problem');
  if (await problem.count()) throw new Error(`The page refuses the pasted config: ${await problem.first().textContent()}`);
  const t0 = Date.now();
  await page.getByTestId('run-all').click();
  await page.locator('[data-testid="pipeline"][data-state="running"]').or(page.getByTestId('pipeline-error')).first().waitFor({ timeout: LOAD_TIMEOUT_MS });
  await waitWithProgress(page, () => page.locator('[data-testid="pipeline"]:not([data-state="running"])').waitFor({ timeout: opts.timeoutMs }), opts);
  const error = page.getByTestId('pipeline-error');
  if (await error.count()) throw new Error(`The page's run failed: ${await error.textContent()}`);
  const seconds = (Date.now() - t0) / 1000;
  return readExport(await zipOf(page, () => page.getByTestId('export-run-zip').click()), seconds);
}

/**
 * Imports an expansions JSONL for `split`, scored as Raw+expansion with the pipeline's encoder, and exports
 * the imported run (its results.json has the one row).
 */
export async function importExpansionsInPage(page: Page, file: { name: string; bytes: Buffer }, split: string, opts: Omit<PageRunOptions, 'config'>): Promise<PageExport> {
  await page.getByTestId('import-split').selectOption(split);
  await page.getByTestId('import-scoring').selectOption('dense');
  const t0 = Date.now();
  await page.getByTestId('import-run-file').setInputFiles({ name: file.name, mimeType: 'text/plain', buffer: file.bytes });
  const outcome = page.getByTestId('import-result').or(page.getByTestId('import-error')).first();
  await waitWithProgress(page, () => outcome.waitFor({ timeout: opts.timeoutMs }), opts);
  const error = page.getByTestId('import-error');
  if (await error.count()) throw new Error(`The page refused the expansions ${file.name}: ${await error.textContent()}`);
  const seconds = (Date.now() - t0) / 1000;
  const row = page.getByTestId('run-row').filter({ hasText: `${file.name} (imported)` });
  await row.waitFor({ timeout: LOAD_TIMEOUT_MS });
  return readExport(await zipOf(page, () => row.getByTestId('run-export-zip').click()), seconds);
}
