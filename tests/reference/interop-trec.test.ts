// Interop: the TREC run file `expandr eval --run FILE --json` writes, evaluated by pytrec_eval as BEIR does
// (tests/reference/gen/check_trec_run.py), gives the metrics the runner printed: ndcg@10, recall@100, map@100
// and mrr@10 (recip_rank on the run cut at 10, src/eval/metrics.ts's definition) within METRIC_TOLERANCE.
// Data: BM25 (the eval command's code path, in process) on BEIR SciFact's test split
// (../shared/data/beir/scifact: 5,183 documents, 300 queries; about 5 s of indexing and search). Python comes
// from tests/reference/helpers/python.ts (skipped with the reason and the fix when none has pytrec_eval).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test, vi } from 'vitest';
import { evalCommand } from '../../src/cli/eval-command.ts';
import { findPython, ROOT, runPythonJson } from './helpers/python.ts';

/** Both sides sum the same doubles; the means differ by rounding at most. */
const METRIC_TOLERANCE = 1e-6;
const TEST_QUERIES = 300;
const PYTHON_TIMEOUT_MS = 60_000;
const SCRIPT = new URL('./gen/check_trec_run.py', import.meta.url).pathname;
const SCIFACT = join(ROOT, '../shared/data/beir/scifact');
const METRICS = ['ndcg@10', 'recall@100', 'mrr@10', 'map@100'] as const;

const haveData = existsSync(join(SCIFACT, 'corpus.jsonl.gz'));
if (!haveData) console.log(`skipping the pytrec_eval run-file check: ${SCIFACT} is missing (../shared/data/beir/scifact)`);
const { python } = haveData ? findPython(['pytrec_eval'], 'the pytrec_eval run-file check') : { python: null };

describe.skipIf(python === null)('the eval run file in pytrec_eval gives the metrics the runner printed', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'expandr-trec-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  test(`BM25 on SciFact test: ${METRICS.join(', ')} within ${METRIC_TOLERANCE}`, async () => {
    const runFile = join(tmp, 'bm25.run');
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    let printed: Record<string, unknown>;
    try {
      await evalCommand(['--data', SCIFACT, '--split', 'test', '--retriever', 'bm25', '--run', runFile, '--json', '--quiet'], new AbortController().signal);
      printed = JSON.parse(String(log.mock.calls.at(-1)?.[0]));
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
    const r = runPythonJson<Record<string, number>>(python!, SCRIPT, [runFile, join(SCIFACT, 'qrels/test.tsv')], PYTHON_TIMEOUT_MS);
    console.log(`runner: ${JSON.stringify(Object.fromEntries(METRICS.map((m) => [m, printed[m]])))} over ${printed.queries} queries`);
    console.log(`check_trec_run.py (${python}): ${JSON.stringify(r.out)}`);
    const deltas = Object.fromEntries(METRICS.map((m) => [m, Math.abs((printed[m] as number) - r.out[m])]));
    console.log(`|Δ| per metric: ${JSON.stringify(deltas)}`);
    expect(r.status).toBe(0);
    expect(r.out.queries).toBe(printed.queries);
    expect(printed.queries).toBe(TEST_QUERIES);
    for (const m of METRICS) {
      expect(printed[m] as number).toBeGreaterThan(0);
      expect(deltas[m]).toBeLessThanOrEqual(METRIC_TOLERANCE);
    }
  }, 60_000);
});
