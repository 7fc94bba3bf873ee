// The runner and the page agree on the same run (issue 16, point 5): the config the runner ran, run again in
// the real app in Debian chromium, and the rows compared metric by metric (experiments/page-agreement-check.ts).
//   npx tsx experiments/page-agreement.ts --config experiments/scifact-smollm2-minilm.json \
//     --run .cache/runs/scifact-smollm2-minilm --settings Raw,Raw+expansion
// The page runs the config with "settings" restricted to those it evaluates itself (BM25, Raw, FT);
// Raw+expansion is scored by the page from the runner's test expansions, imported. Prints the figures, writes
// them as JSON (--out; default experiments/CONFIG-NAME/page-agreement.json) and exits 1 when a setting's
// |Δ| passes the tolerance or the inputs differ. The page encodes the whole corpus: on SciFact with MiniLM
// on a busy 2-core machine, expect 15-40 minutes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startHarness } from '../tests/browser/harness.ts';
import { checkPageAgreement, type AgreementReport } from './page-agreement-check.ts';

const ROOT = resolve(import.meta.dirname, '..');
/** The page's longest task (one Run all or one import): the whole corpus encoded on a shared CPU. */
const PAGE_TIMEOUT_MS = 4 * 3600_000;
const PROGRESS_EVERY_MS = 60_000;

const { values: argv } = parseArgs({
  options: {
    config: { type: 'string' },
    run: { type: 'string' },
    settings: { type: 'string', default: 'Raw' },
    out: { type: 'string' },
  },
});
if (!argv.config || !argv.run) {
  console.error('usage: npx tsx experiments/page-agreement.ts --config CONFIG.json --run RUN_DIR [--settings Raw[,Raw+expansion]] [--out FILE.json]');
  process.exit(2);
}
const configFile = resolve(ROOT, argv.config);
const out = resolve(ROOT, argv.out ?? join('experiments', basename(configFile).replace(/\.json$/, ''), 'page-agreement.json'));
const settings = argv.settings!.split(',').map((s) => s.trim()).filter(Boolean);
const stamp = () => new Date().toISOString().slice(11, 19);

function print(r: AgreementReport): void {
  console.log(`\nRunner (${r.runnerFinished ? 'results.json' : 'run-state.json, run not finished'}) vs page, config key ${r.configKey}; tolerance ${r.tolerance}`);
  console.log(`The page ran the config with "settings": ${JSON.stringify(r.pageConfigSettings)}`);
  for (const i of r.inputs) console.log(`  ${i.role}: runner ${i.runner} · page ${i.page} · ${i.same ? 'same' : 'DIFFERENT'}`);
  for (const s of r.settings) {
    console.log(`\n${s.setting} (page: ${s.pageHow}; runner: ${s.runnerFrom}) — ${s.agrees ? 'agrees' : 'DISAGREES'}, max |Δ| ${s.maxAbsDiff.toExponential(2)}`);
    for (const [split, diffs] of [['test', s.test], ['dev', s.dev]] as const) {
      for (const d of diffs ?? []) console.log(`  ${split.padEnd(4)} ${d.metric.padEnd(10)} runner ${d.runner.toFixed(10)}  page ${d.page.toFixed(10)}  |Δ| ${d.absDiff.toExponential(2)}`);
    }
    if (s.perQuery) console.log(`  per query (nDCG@10 of both TREC runs): ${s.perQuery.queries} queries, ${s.perQuery.differing} differ by more than ${r.tolerance}, max |Δ| ${s.perQuery.maxAbsDiff.toExponential(2)}${s.perQuery.onlyInOne ? `, ${s.perQuery.onlyInOne} in one run only` : ''}`);
  }
  for (const [what, sec] of Object.entries(r.pageSeconds)) console.log(`page: ${what} took ${(sec / 60).toFixed(1)} min`);
  console.log(`load average (1 min): ${r.loadAverage.start.toFixed(2)} → ${r.loadAverage.end.toFixed(2)}`);
  console.log(r.agrees ? 'AGREE' : 'DISAGREE');
}

console.log(`${stamp()} building the app and starting chromium…`);
const h = await startHarness();
let code = 1;
try {
  const page = await h.newPage();
  page.on('console', (m) => m.type() === 'error' && console.error(`[page console] ${m.text().slice(0, 400)}`));
  const report = await checkPageAgreement({
    configFile,
    runDir: resolve(ROOT, argv.run),
    settings,
    page,
    url: h.url,
    timeoutMs: PAGE_TIMEOUT_MS,
    progressEveryMs: PROGRESS_EVERY_MS,
    onProgress: (line) => console.log(`${stamp()} page: ${line}`),
  });
  print(report);
  mkdirSync(dirname(out), { recursive: true });
  const rel = (p: string) => p.replace(ROOT + '/', '');
  writeFileSync(out, JSON.stringify({ ...report, config: rel(report.config), run: rel(report.run), finishedAt: new Date().toISOString() }, null, 2) + '\n');
  console.log(`wrote ${rel(out)}`);
  code = report.agrees ? 0 : 1;
} catch (e) {
  console.error(`page-agreement: ${(e as Error).message}`);
} finally {
  await h.close().catch((e: Error) => console.error(`closing the browser: ${e.message.split('\n')[0]}`));
}
process.exit(code);
