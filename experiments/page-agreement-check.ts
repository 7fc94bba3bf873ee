// Does the page give the runner's numbers for the same run? One check, used by experiments/page-agreement.ts
// and tests/browser/page-agreement.test.ts: the runner's rows (page-agreement-runner.ts), the same config
// run in the real app (page-agreement-page.ts), and both side by side (page-agreement-compare.ts).
//
// Which settings the page can reproduce, and how:
//  - BM25, Raw, FT: the page runs them itself (Run all on the config restricted to them; no LLM needed).
//  - Raw+expansion: the runner's own test expansions (DIR/expansions/base-test/expansions.jsonl) imported
//    into the page, which scores them with the pipeline's encoder (Eq. 8). The page's own generation
//    (wllama) draws its tokens with the page's sampler from llama.cpp's probabilities and the runner's
//    llama.cpp samples itself: the texts differ, so the page's own Raw+expansion is not the runner's.
//  - the others: their expansions come from trained LLMs the page would train and sample itself: not compared.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { EXPERIMENT_DEFAULTS } from '../src/pipeline/config.ts';
import { agreementOf, AGREEMENT_TOLERANCE, perQueryDiff, readBeirQrels, type SettingAgreement } from './page-agreement-compare.ts';
import { importExpansionsInPage, loadDataAndEncoder, runAllInPage, type PageExport } from './page-agreement-page.ts';
import { readRunnerSide } from './page-agreement-runner.ts';

const ROOT = resolve(import.meta.dirname, '..');
/** Settings the page evaluates itself without an LLM (its run reproduces the runner's). */
export const PAGE_RUN_SETTINGS = ['BM25', 'Raw', 'FT'] as const;
/** Settings the page scores from the runner's expansions, imported (run-import.ts), and the expansions' file set. */
export const IMPORTED_SETTINGS: Record<string, string> = { 'Raw+expansion': 'expansions/base-test/expansions.jsonl' };

export interface AgreementOptions {
  configFile: string;
  runDir: string;
  settings: string[];
  /** A page of a started harness, and the app's URL. */
  page: Page;
  url: string;
  timeoutMs: number;
  tolerance?: number;
  onProgress?: (line: string) => void;
  progressEveryMs?: number;
}

export interface SameInput {
  role: string;
  runner: string | null;
  page: string | null;
  same: boolean;
}

export interface AgreementReport {
  config: string;
  run: string;
  configKey: string;
  runnerFinished: boolean;
  tolerance: number;
  /** The config pasted into the page: the file's, with "settings" restricted to these. */
  pageConfigSettings: string[];
  /** The dataset and encoder both sides used, by content (checksum, model hash). */
  inputs: SameInput[];
  settings: SettingAgreement[];
  pageSeconds: Record<string, number>;
  loadAverage: { start: number; end: number };
  agrees: boolean;
}

const fromRoot = (p: string) => (isAbsolute(p) ? p : join(ROOT, p));

/** Why `setting` cannot be compared here, or null when it can. */
export function whyNotComparable(setting: string, config: { encoder: { expansionNorm: string } }): string | null {
  if ((PAGE_RUN_SETTINGS as readonly string[]).includes(setting)) return null;
  if (setting in IMPORTED_SETTINGS) {
    const norm = EXPERIMENT_DEFAULTS.encoder.expansionNorm;
    return config.encoder.expansionNorm === norm ? null : `the page scores imported expansions with the ${norm} Eq. 8 normalisation; this config uses ${config.encoder.expansionNorm}`;
  }
  return 'its expansions come from an LLM the page would train and sample itself (wllama), not the runner\'s: the texts, hence the numbers, differ';
}

export async function checkPageAgreement(o: AgreementOptions): Promise<AgreementReport> {
  const tolerance = o.tolerance ?? AGREEMENT_TOLERANCE;
  const load0 = loadavg()[0];
  const raw = JSON.parse(readFileSync(o.configFile, 'utf8')) as Record<string, unknown>;
  const runner = readRunnerSide(o.configFile, o.runDir, o.settings);
  for (const s of o.settings) {
    const why = whyNotComparable(s, runner.config);
    if (why) throw new Error(`--settings ${s}: not comparable, ${why}. Compare ${[...PAGE_RUN_SETTINGS, ...Object.keys(IMPORTED_SETTINGS)].join(', ')}.`);
    const row = runner.rows.get(s);
    if (!row) throw new Error(`${o.runDir}: the runner has not evaluated ${s} yet (no eval:${s} in run-state.json). Wait for it, or leave ${s} out.`);
    if (row.failedExpansions) throw new Error(`${s}: the runner scored ${row.failedExpansions} test queries without an expansion; an import leaves them out, so the means cannot agree.`);
  }
  const data = fromRoot(runner.config.data);
  const encoder = fromRoot(runner.config.encoder.model);
  const opts = { data, encoder, timeoutMs: o.timeoutMs, onProgress: o.onProgress, progressEveryMs: o.progressEveryMs };
  await loadDataAndEncoder(o.page, o.url, opts);

  const pageRows = new Map<string, { row: Record<string, unknown>; trec?: string; how: string }>();
  const pageSeconds: Record<string, number> = {};
  const exports: PageExport[] = [];
  const own = o.settings.filter((s) => (PAGE_RUN_SETTINGS as readonly string[]).includes(s));
  if (own.length) {
    const e = await runAllInPage(o.page, { ...opts, config: { ...raw, settings: own } });
    exports.push(e);
    pageSeconds[`Run all (${own.join(', ')})`] = e.seconds;
    for (const s of own) {
      const row = e.rows.get(s);
      if (!row) throw new Error(`The page's results.json has no ${s} row (it has ${[...e.rows.keys()].join(', ')}).`);
      pageRows.set(s, { row, trec: e.trec.get(s), how: 'Run all in the page' });
    }
  }
  for (const s of o.settings.filter((x) => x in IMPORTED_SETTINGS)) {
    const file = join(o.runDir, IMPORTED_SETTINGS[s]);
    const e = await importExpansionsInPage(o.page, { name: 'expansions.jsonl', bytes: readFileSync(file) }, runner.config.split, opts);
    exports.push(e);
    pageSeconds[`import of the runner's expansions (${s})`] = e.seconds;
    const [row] = [...e.rows.values()];
    pageRows.set(s, { row, trec: [...e.trec.values()][0], how: `the runner's ${IMPORTED_SETTINGS[s]} imported, scored by the page` });
  }

  const qrels = readBeirQrels(data, runner.config.split);
  const settings = o.settings.map((s) => {
    const r = runner.rows.get(s)!;
    const p = pageRows.get(s)!;
    const perQuery = r.trecFile && p.trec ? perQueryDiff(qrels, readFileSync(r.trecFile, 'utf8'), p.trec, tolerance) : undefined;
    return agreementOf(r, p.row, p.how, { tolerance, perQuery });
  });

  // Same inputs by content: the dataset's checksum and the encoder's hash on both sides.
  const inputs: SameInput[] = (['data', 'encoder'] as const).map((role) => {
    const pick = (xs: { role: string; checksum?: string; hash?: string }[]) => {
      const x = xs.find((y) => y.role === role);
      return x ? (x.checksum ?? x.hash ?? null) : null;
    };
    const r = pick(role === 'data' ? runner.datasets : runner.models);
    const pages = exports.map((e) => pick(role === 'data' ? e.datasets : e.models)).filter((x): x is string => !!x);
    const p = pages[0] ?? null;
    return { role, runner: r, page: p, same: r !== null && p !== null && pages.every((x) => x === r) };
  });
  return {
    config: o.configFile,
    run: o.runDir,
    configKey: runner.configKey,
    runnerFinished: runner.finished,
    tolerance,
    pageConfigSettings: own,
    inputs,
    settings,
    pageSeconds,
    loadAverage: { start: load0, end: loadavg()[0] },
    agrees: settings.every((s) => s.agrees) && inputs.every((i) => i.same),
  };
}
