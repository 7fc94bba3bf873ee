// The agreement check of experiments/page-agreement.ts on tiny inputs: the runner (`expandr experiment`)
// runs a config on a SciFact subset with tiny-bert and stories260K (BM25, Raw, Raw+expansion), then the
// same check the script makes drives the real app in Chromium on that config and run folder, and must find
// every metric within the tolerance, the same dataset and encoder by content, and no query moved. The
// verdict itself is checked to fail: a runner row moved by twice the tolerance, a run folder of another
// config, and a setting the page cannot reproduce are refused.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.ts';
import { writeScifactSubset } from './scifact-subset.ts';
import { STORIES, TINY_BERT } from './tiny-setup.ts';
import { checkPageAgreement, whyNotComparable } from '../../experiments/page-agreement-check.ts';
import { agreementOf, AGREEMENT_TOLERANCE } from '../../experiments/page-agreement-compare.ts';
import { readRunnerSide, type Metrics } from '../../experiments/page-agreement-runner.ts';

const ROOT = join(import.meta.dirname, '../..');
const SCIFACT = join(ROOT, '../shared/data/beir/scifact');
const SETTINGS = ['BM25', 'Raw', 'Raw+expansion'];
/** The page's run and import on 30 documents: seconds; the machine may be shared. */
const PAGE_TIMEOUT_MS = 120_000;
const TEST_TIMEOUT_MS = 240_000;

let h: Harness;
let dir: string;
let configFile: string;
let runDir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'expandr-page-agreement-'));
  // Few documents: tiny-bert then ranks some gold documents in the top 10 (nDCG@10 above 0 to agree on).
  writeScifactSubset(SCIFACT, join(dir, 'subset'), { queries: 8, docs: 30 });
  configFile = join(dir, 'config.json');
  runDir = join(dir, 'run');
  writeFileSync(
    configFile,
    JSON.stringify({
      $comment: 'a comment key, as the committed configs have: dropped by experimentConfig on both sides',
      data: join(dir, 'subset'),
      testQueries: 6,
      dev: { fraction: 0.25, seed: 42, queries: 0 },
      settings: SETTINGS,
      encoder: { model: TINY_BERT, expansionNorm: 'contriever', batchSize: 16 },
      llm: { model: STORIES, chat: false },
      expansion: { temperature: 1.0, topP: 0.9, maxTokens: 16, seed: 42 },
    }),
  );
  const [, harness] = await Promise.all([
    promisify(execFile)('npm', ['run', '-s', 'expandr', '--', 'experiment', '--config', configFile, '--out', runDir, '--quiet'], { cwd: ROOT, maxBuffer: 1 << 26 }),
    startHarness(),
  ]);
  h = harness;
}, TEST_TIMEOUT_MS);
afterAll(async () => {
  await h?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the page and the runner on the same run', () => {
  it('agree on BM25, Raw (run in the page) and Raw+expansion (the runner’s expansions imported), on the same inputs', async () => {
    const page = await h.newPage();
    page.on('console', (m) => m.type() === 'error' && console.error('[console]', m.text()));
    const report = await checkPageAgreement({ configFile, runDir, settings: SETTINGS, page, url: h.url, timeoutMs: PAGE_TIMEOUT_MS });
    expect(report.pageConfigSettings).toEqual(['BM25', 'Raw']);
    expect(report.inputs.map((i) => [i.role, i.same])).toEqual([['data', true], ['encoder', true]]);
    for (const s of report.settings) {
      expect(s.agrees, `${s.setting}: ${JSON.stringify(s.test)}`).toBe(true);
      expect(s.perQuery).toMatchObject({ queries: 6, differing: 0, onlyInOne: 0 });
    }
    const ndcg = (setting: string) => report.settings.find((s) => s.setting === setting)!.test.find((d) => d.metric === 'ndcg@10')!;
    expect(ndcg('Raw').runner).toBeGreaterThan(0);
    expect(ndcg('Raw+expansion').runner).not.toBe(ndcg('Raw').runner); // the expansions were scored, not ignored
    expect(report.settings.find((s) => s.setting === 'Raw')!.dev).toHaveLength(4);
    expect(report.agrees).toBe(true);

    // The verdict follows the tolerance: a runner row moved by half of it agrees, by twice of it does not.
    const raw = report.settings.find((s) => s.setting === 'Raw')!;
    const runnerMoved = (by: number) => ({ setting: 'Raw', from: 'test', metrics: Object.fromEntries(raw.test.map((d) => [d.metric, d.runner + (d.metric === 'ndcg@10' ? by : 0)])) as Metrics });
    const pageRow = Object.fromEntries(raw.test.map((d) => [d.metric, d.page]));
    expect(agreementOf(runnerMoved(AGREEMENT_TOLERANCE / 2), pageRow, 'test').agrees).toBe(true);
    const off = agreementOf(runnerMoved(2 * AGREEMENT_TOLERANCE), pageRow, 'test');
    expect(off.agrees).toBe(false);
    expect(off.maxAbsDiff).toBeCloseTo(2 * AGREEMENT_TOLERANCE, 12);
  }, TEST_TIMEOUT_MS);

  it('refuses a run folder of another config and a setting the page cannot reproduce', () => {
    const other = join(dir, 'other.json');
    writeFileSync(other, JSON.stringify({ ...JSON.parse(readFileSync(configFile, 'utf8')), seed: 7 }));
    expect(() => readRunnerSide(other, runDir, ['Raw'])).toThrow(/made from another config/);
    const config = readRunnerSide(configFile, runDir, ['Raw']).config;
    expect(whyNotComparable('ExpandR', config)).toMatch(/not the runner's/);
    expect(whyNotComparable('Raw+expansion', { encoder: { expansionNorm: 'none' } })).toMatch(/normalisation/);
    expect(whyNotComparable('Raw+expansion', config)).toBeNull();
  });
});
