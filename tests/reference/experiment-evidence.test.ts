// The evidence committed beside each experiment (experiments/NAME/results.json, written by `expandr evidence`)
// recomputes with pytrec_eval: every row's run file (and each seed's, for rows with several seeds; the
// earlier rounds' and the plain-query rows' too) gives the metrics the row reports, within METRIC_TOLERANCE. The qrels are the BEIR
// dataset's (../shared/data/beir/DATASET/qrels/SPLIT.tsv). Python: tests/reference/helpers/python.ts.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findPython, ROOT, runPythonJson } from './helpers/python.ts';

/** The runs keep the top 100, which every metric of the table reads within: only float printing differs. */
const METRIC_TOLERANCE = 1e-6;
const PYTHON_TIMEOUT_MS = 120_000;
const SCRIPT = new URL('./gen/check_trec_run.py', import.meta.url).pathname;
const METRICS = ['ndcg@10', 'recall@100', 'mrr@10', 'map@100'] as const;

interface Row {
  setting: string;
  round?: number;
  run?: string;
  runsBySeed?: Record<string, string>;
  seeds?: number[];
  perSeed?: Record<string, number[]>;
  [metric: string]: unknown;
}
interface Results {
  dataset: string;
  split?: string;
  rows: Row[];
  roundRows?: Row[];
  plainRows?: (Row & { retriever: string })[];
  sources?: { test?: { split?: string } };
}

const EXPERIMENTS = join(ROOT, 'experiments');
const folders = readdirSync(EXPERIMENTS)
  .map((n) => join(EXPERIMENTS, n))
  .filter((d) => existsSync(join(d, 'results.json')))
  .filter((d) => (JSON.parse(readFileSync(join(d, 'results.json'), 'utf8')) as Results).rows.some((r) => r.run));
const { python } = folders.length ? findPython(['pytrec_eval'], 'the experiment-evidence check') : { python: null };

describe.skipIf(python === null)('experiments/*/results.json recompute from their run files with pytrec_eval', () => {
  it('finds the published experiments', () => expect(folders.length).toBeGreaterThan(0));
  for (const dir of folders) {
    const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Results;
    const split = results.sources?.test?.split ?? results.split ?? 'test';
    const qrels = join(ROOT, '../shared/data/beir', results.dataset, 'qrels', `${split}.tsv`);
    const plain: Row[] = (results.plainRows ?? []).map((r) => ({ ...r, setting: `${r.retriever} on plain queries` }));
    for (const row of [...results.rows, ...(results.roundRows ?? []), ...plain]) {
      if (!row.run) continue;
      const name = `${dir.slice(EXPERIMENTS.length + 1)}: ${row.setting}${row.round ? ` after round ${row.round}` : ''}`;
      it(name, () => {
        // A row with several seeds: each seed's run gives that seed's values; else the run gives the row's.
        const runs: [string, Record<string, number>][] = row.runsBySeed
          ? Object.entries(row.runsBySeed).map(([seed, file]) => {
              const i = row.seeds!.indexOf(Number(seed));
              return [file, Object.fromEntries(METRICS.map((m) => [m, row.perSeed![m][i]]))];
            })
          : [[row.run!, Object.fromEntries(METRICS.map((m) => [m, row[m] as number]))]];
        for (const [file, want] of runs) {
          const r = runPythonJson<Record<string, number>>(python!, SCRIPT, [join(dir, file), qrels], PYTHON_TIMEOUT_MS);
          expect(r.status, file).toBe(0);
          for (const m of METRICS) expect(Math.abs(r.out[m] - want[m]), `${file} ${m}: pytrec_eval ${r.out[m]}, results.json ${want[m]}`).toBeLessThanOrEqual(METRIC_TOLERANCE);
        }
      });
    }
  }
});
