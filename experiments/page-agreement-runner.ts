// The runner's side of the agreement check: what `expandr experiment --out DIR` wrote for a config. Rows
// come from DIR/results.json when the run has finished, else from run-state.json's eval:SETTING (and
// devEval:SETTING) stages, which the runner writes as each setting is evaluated; the TREC run of a setting
// is DIR/runs/SETTING/run.trec. The folder is only read (a run may still be writing it).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { experimentConfig, type ExperimentConfig } from '../src/pipeline/config.ts';
import { configKey } from '../src/pipeline/run-state.ts';
import { STANDARD_METRICS } from '../src/eval/metrics.ts';

export type Metrics = Record<(typeof STANDARD_METRICS)[number], number>;

export interface RunnerRow {
  setting: string;
  metrics: Metrics;
  dev?: Metrics;
  /** Where the row was read: 'results.json' or 'run-state.json'. */
  from: string;
  /** The setting's TREC run (absent when the runner did not keep one). */
  trecFile?: string;
  /** Test queries whose expansion failed (scored plain by the runner). */
  failedExpansions?: number;
}

export interface RunnerSide {
  config: ExperimentConfig;
  configKey: string;
  /** run.json's datasets and models (checksums and hashes by content). */
  datasets: { role: string; name: string; checksum: string }[];
  models: { role: string; name: string; hash: string }[];
  finished: boolean;
  rows: Map<string, RunnerRow>;
}

const readJson = (file: string): Record<string, unknown> => JSON.parse(readFileSync(file, 'utf8'));

function metricsOf(o: Record<string, unknown> | undefined, where: string): Metrics | undefined {
  if (!o) return undefined;
  const out = {} as Metrics;
  for (const m of STANDARD_METRICS) {
    if (typeof o[m] !== 'number') throw new Error(`${where}: no number for ${m}. Is this an expandr run folder of this version?`);
    out[m] = o[m] as number;
  }
  return out;
}

/** The runner's rows for `settings`, checked to come from `configFile`'s config (same config key). */
export function readRunnerSide(configFile: string, runDir: string, settings: readonly string[]): RunnerSide {
  const config = experimentConfig(readJson(configFile));
  const stateFile = join(runDir, 'run-state.json');
  if (!existsSync(stateFile)) throw new Error(`${stateFile} does not exist: run \`npm run -s expandr -- experiment --config ${configFile} --out ${runDir}\` first.`);
  const state = readJson(stateFile) as { configKey: string; stages: Record<string, { output?: Record<string, unknown> }> };
  const key = configKey(config);
  if (state.configKey !== key) {
    throw new Error(`${stateFile}: made from another config (key ${state.configKey}; ${configFile} has ${key}). Give --run the folder this config's run wrote.`);
  }
  const manifest = existsSync(join(runDir, 'run.json')) ? (readJson(join(runDir, 'run.json')) as Pick<RunnerSide, 'datasets' | 'models'>) : { datasets: [], models: [] };
  const resultsFile = join(runDir, 'results.json');
  const results = existsSync(resultsFile) ? (readJson(resultsFile) as { rows: Record<string, unknown>[] }) : null;
  const rows = new Map<string, RunnerRow>();
  for (const setting of settings) {
    const trec = join(runDir, 'runs', setting, 'run.trec');
    const trecFile = existsSync(trec) ? trec : undefined;
    const row = results?.rows.find((r) => r.setting === setting);
    if (row) {
      const failed = row.failedExpansions as number | undefined;
      rows.set(setting, { setting, metrics: metricsOf(row, `${resultsFile} row ${setting}`)!, dev: metricsOf(row.dev as Record<string, unknown> | undefined, `${resultsFile} row ${setting}.dev`), from: 'results.json', trecFile, failedExpansions: failed });
      continue;
    }
    const stage = state.stages[`eval:${setting}`]?.output;
    if (!stage) continue;
    const dev = state.stages[`devEval:${setting}`]?.output;
    rows.set(setting, {
      setting,
      metrics: metricsOf(stage.metrics as Record<string, unknown>, `${stateFile} eval:${setting}`)!,
      dev: metricsOf(dev?.metrics as Record<string, unknown> | undefined, `${stateFile} devEval:${setting}`),
      from: 'run-state.json',
      trecFile,
      failedExpansions: stage.failedExpansions as number | undefined,
    });
  }
  return { config, configKey: key, datasets: manifest.datasets ?? [], models: manifest.models ?? [], finished: !!results, rows };
}
