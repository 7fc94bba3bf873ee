// The whole ExpandR pipeline in the page, in Chromium: drop a SciFact subset, a tiny encoder folder
// (tests/reference/fixtures/tiny-bert) and a tiny LLM folder (stories260K, llama2.c), "Run all" with a
// tiny config, and check what the page shows against the same run of the worker's code in this Node
// process (node-mirror.ts, started alongside): the Tables 2–3 view has a row for every setting with
// exactly the mirror's numbers and significance marks, trained rows differ from their untrained
// counterparts, and the case view shows the mirror's non-empty expansions. Then the run's analysis, the figures, the trained
// encoder's checkpoint zip, the results after a reload, and a screenshot in test-results/.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropFiles, startHarness, type Harness } from './harness.ts';
import { writeScifactSubset } from './scifact-subset.ts';
import { marksOf, TESTED_METRICS } from '../../src/pipeline/results.ts';
import { differenceRowCells, intervalsAgainstFt, plainRowCells } from '../../src/pipeline/results-sections.ts';
import { SETTING_NAMES, type SettingName } from '../../src/pipeline/types.ts';
import { LOOSE_BEIR_FILES, runPipelineInNode } from './node-mirror.ts';

const ROOT = join(import.meta.dirname, '../..');
const SCIFACT = join(ROOT, '../shared/data/beir/scifact');
const TINY_BERT = join(ROOT, 'tests/reference/fixtures/tiny-bert');
const STORIES = join(ROOT, '../shared/models/stories260K');
const ARTIFACTS = join(ROOT, 'test-results');
const IMPORT_TIMEOUT_MS = 60_000;
const LOAD_TIMEOUT_MS = 60_000;
/** The page and the Node mirror run at once, sharing the CPU. */
const RUN_TIMEOUT_MS = 300_000;
const METRICS = [...TESTED_METRICS, 'mrr@10', 'map@100'] as const;

/**
 * Few queries, few tokens, few steps: every stage runs, none for long (SwiftShader / wasm). The reward
 * filter is the default 0.6: tiny-bert's cos(d*, e) + cos(y, e) on this subset is 1.3–1.8, so every
 * train query passes it. lr 1e-3 for both trainings: two steps at the paper's 1e-5 / 2e-5 leave
 * tiny-bert's rankings and stories260K's samples as they were, and this test checks that training
 * changed them.
 */
const TINY_CONFIG = {
  trainQueries: 4,
  testQueries: 6,
  expansion: { maxTokens: 12 },
  answer: { maxTokens: 12 },
  candidates: { temperatures: [0.8, 1.1], perTemperature: 1, maxTokens: 12 },
  retriever: { steps: 2, batchSize: 4, hardNegatives: false, lr: 1e-3 },
  dpo: { steps: 2, batchSize: 2, lr: 1e-3 },
};

/** Each setting with a trained model and the row of the same pipeline without that training. */
const TRAINED_VS_UNTRAINED: readonly [SettingName, SettingName][] = [
  ['FT', 'Raw'], // the retriever trained on the train split
  ['w/o LLM training', 'Raw+expansion'], // the same base expansions, the round-1 retriever
  ['w/o retriever training', 'Raw+expansion'], // the base retriever, a DPO-trained LLM
  ['ExpandR', 'Raw+expansion'],
  ['w/o self-reward', 'Raw+expansion'],
  ['w/o retriever reward', 'Raw+expansion'],
];

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
    // The same run of the worker's code in Node, on the same files, models and config.
    const mirror = runPipelineInNode(subset, LOOSE_BEIR_FILES, { encoderDir: TINY_BERT, encoderName: 'tiny-bert', llmDir: STORIES, llmName: 'stories260K' }, TINY_CONFIG);
    mirror.catch(() => undefined); // awaited below; do not let a failure go unhandled meanwhile
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
        values: Object.fromEntries([...tr.querySelectorAll('[data-metric]')].map((c) => [c.getAttribute('data-metric'), c.textContent])),
        marks: [...tr.querySelectorAll('sup.marks')].map((c) => c.textContent ?? ''),
      })),
    );
    console.log('[browser] results', JSON.stringify(rows));
    const node = await mirror;
    console.log(`[browser] the Node mirror finished ${((Date.now() - t0) / 1000).toFixed(1)} s after Run all`);
    expect(rows.map((r) => r.setting)).toEqual([...SETTING_NAMES]);
    expect(rows).toEqual(
      node.results!.rows.map((r) => ({
        setting: r.setting,
        values: Object.fromEntries(METRICS.map((m) => [m, r[m].toFixed(4)])),
        marks: TESTED_METRICS.map((m) => marksOf(r, m)),
      })),
    );
    // Under it, each row's difference from Raw and FT with its bootstrap interval, cell for cell the mirror's,
    // and their interval plot.
    const differences = await page.getByTestId('expandr-differences').locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...(tr as HTMLTableRowElement).cells].map((c) => c.textContent)));
    expect(differences).toEqual(differenceRowCells(node.results!));
    expect(await page.locator('[data-testid="differences-figure"] circle').count()).toBe(intervalsAgainstFt(node.results!).length);
    // The round-1 retriever on plain queries, against ExpandR and FT: the mirror's cells.
    const plain = await page.getByTestId('expandr-plain').locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...(tr as HTMLTableRowElement).cells].map((c) => c.textContent)));
    expect(plain).toEqual(plainRowCells(node.results!.plainRows));
    expect(plain.map((cells) => cells[0])).toEqual(['round-1']);
    const values = new Map(rows.map((r) => [r.setting, r.values]));
    for (const [trained, untrained] of TRAINED_VS_UNTRAINED) expect(values.get(trained), `${trained} vs ${untrained}`).not.toEqual(values.get(untrained));

    // Figures: one t-SNE panel per dense setting, curves for every trained stage, the case view; SVG and PNG out.
    await page.getByTestId('figures').waitFor();
    expect(await page.locator('[data-testid="tsne-figure"] g[data-panel]').count()).toBe(SETTING_NAMES.length - 1);
    expect(await page.getByTestId('curve').count()).toBeGreaterThanOrEqual(3);
    await page.getByTestId('case-view').waitFor();

    // The case view (first test query): each expanded setting's expansion, non-empty, as the mirror has it;
    // the DPO-trained LLM writes another expansion than the base one.
    const shown = await page.locator('[data-testid="case-view"] tbody tr').evaluateAll((trs) => trs.map((tr) => [(tr as HTMLTableRowElement).cells[0].textContent, (tr as HTMLTableRowElement).cells[1].textContent]));
    const nodeCase = node.figures!.cases[0];
    expect(shown).toEqual(nodeCase.expansions.map((e) => [e.setting, e.text]));
    expect(shown.map(([s]) => s)).toEqual(SETTING_NAMES.filter((s) => !['BM25', 'Raw', 'FT'].includes(s)));
    for (const [, text] of shown) expect(text!.trim()).not.toBe('');
    const expansion = new Map(shown.map(([s, t]) => [s, t]));
    expect(expansion.get('ExpandR')).not.toBe(expansion.get('Raw+expansion'));

    // The analysis (`expandr analyze`'s report), computed in the worker from the stored run: its seven sections,
    // section 1 (words per expansion of each LLM) as the mirror has it, the markdown as a download.
    await page.getByTestId('analysis-run').click();
    const report = page.getByTestId('analysis-report');
    await report.waitFor({ timeout: LOAD_TIMEOUT_MS });
    await page.getByTestId('run-analysis').screenshot({ path: join(ARTIFACTS, 'expandr-analysis.png') });
    const headings = await report.locator('h2').allTextContents();
    expect(headings).toEqual([...node.analysis.markdown.matchAll(/^## (.*)$/gm)].map((m) => m[1]));
    expect(headings).toHaveLength(7);
    const section1 = await report.locator('table').first().locator('tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('th, td')].map((c) => c.textContent?.trim())));
    const nodeSection1 = node.analysis.markdown.split('## 2.')[0].split('\n').filter((l) => l.startsWith('|') && !/^\|[\s|:-]+\|$/.test(l)).map((l) => l.slice(1, -1).split('|').map((c) => c.trim()));
    expect(section1).toEqual(nodeSection1);
    expect(await report.locator('script, [onerror], [onload]').count()).toBe(0);
    const [md] = await Promise.all([page.waitForEvent('download'), page.getByTestId('analysis-md').click()]);
    expect(md.suggestedFilename()).toMatch(/-analysis\.md$/);
    const section1Md = (text: string) => text.split('## 1.')[1].split('## 2.')[0];
    expect(section1Md(readFileSync((await md.path())!, 'utf8'))).toBe(section1Md(node.analysis.markdown));

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
