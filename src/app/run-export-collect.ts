// The parts of a run's zip that live in the store (run-export.ts builds the zip's file list from them):
// its manifest as config.json, its results in three formats, its analysis, its file sets (checkpoints only when asked)
// and its figures data for the page to draw. Works for any run in the list, not only the open one.
import { NotFoundError } from '../errors.ts';
import type { ExperimentConfig } from '../pipeline/config.ts';
import type { FiguresData } from '../pipeline/figures-data.ts';
import { buildResults, resultsCsv, resultsJson, resultsMarkdown, type SettingEval } from '../pipeline/results.ts';
import type { RunManifest } from '../pipeline/run-record.ts';
import type { RunState } from '../pipeline/run-state.ts';
import { combineStoredEvals } from '../pipeline/seeds.ts';
import { parseStageName } from '../pipeline/stages.ts';
import type { ExperimentResults, ResultRow } from '../pipeline/types.ts';
import { getRunManifest, listRunIds, runPrefix } from '../store/run-artifacts.ts';
import type { Store } from '../store/store.ts';
import { CHECKPOINT_SETS, type RunExportParts } from './run-export.ts';
import { analyzeStoredRun } from './run-analysis.ts';
import type { ImportedManifest } from './run-import.ts';

/** What the pipeline keeps beside a run's state (pipeline-session.ts); only these fields are read. */
interface SnapshotParts {
  config?: ExperimentConfig;
  results?: ExperimentResults | null;
  figures?: FiguresData | null;
}

/** Reads run `id` of the dataset for its zip; `code`: the exporting page's code version. */
export async function collectRunExport(store: Store, datasetId: string, id: string, opts: { checkpoints: boolean; code: string }): Promise<RunExportParts> {
  const info = await store.getDataset(datasetId);
  if (!info) throw new NotFoundError('The dataset of this run is no longer stored: the run cannot be exported.');
  if (!(await listRunIds(store, datasetId)).includes(id)) throw new NotFoundError(`Run ${id} is no longer stored (deleted in another tab?): reload the run list.`);
  const prefix = runPrefix(id);
  const manifest = await getRunManifest<RunManifest & Partial<Pick<ImportedManifest, 'imported'>>>(store, datasetId, id);
  const snap = await store.getArtifact<SnapshotParts>(datasetId, `${prefix}/snapshot`);
  const state = await store.getArtifact<RunState>(datasetId, `${prefix}/state`);
  const config = manifest?.config ?? snap?.config ?? null;

  const results = resultsOf(info.name, config, snap?.results ?? null, state, !!manifest?.imported);
  const FILES = `${prefix}/files/`;
  const names = (await store.listArtifacts(datasetId)).filter((k) => k.startsWith(FILES)).map((k) => k.slice(FILES.length)).sort();
  const fileSets: RunExportParts['fileSets'] = [];
  for (const name of names) {
    if (!opts.checkpoints && CHECKPOINT_SETS.some((p) => name.startsWith(p))) continue;
    const files = await store.getArtifact<Record<string, Uint8Array>>(datasetId, `${FILES}${name}`);
    if (files) fileSets.push({ name, files });
  }
  // The analysis of a run the pipeline made (an imported run has only its one evaluation to show).
  const analysis = state && Object.keys(state.stages).length && !manifest?.imported ? (await analyzeStoredRun(store, datasetId, prefix, config)).markdown : undefined;
  const record = manifest
    ? { name: manifest.name, key: manifest.key, datasets: manifest.datasets, models: manifest.models, ...(manifest.adapters ? { adapters: manifest.adapters } : {}), code: manifest.code, configSummary: manifest.configSummary, done: manifest.done, createdAt: manifest.createdAt, updatedAt: manifest.updatedAt, ...(manifest.imported ? { imported: manifest.imported } : {}), config: manifest.config }
    : { name: 'Run stored before run keys', key: id, datasets: [{ role: 'data', name: info.name, checksum: info.checksum }], config };
  return {
    name: manifest?.name ?? 'run',
    key: id,
    dataset: info.name,
    config: record,
    results: results && {
      json: JSON.stringify(resultsJson(results), null, 2) + '\n',
      md: resultsMarkdown(results, manifest?.imported ? {} : { config: config ?? undefined }),
      csv: resultsCsv(results),
    },
    fileSets,
    checkpoints: opts.checkpoints,
    code: opts.code,
    ...(manifest ? { runCode: manifest.code } : {}),
    figures: snap?.figures ?? null,
    ...(analysis ? { analysis } : {}),
  };
}

/** The snapshot's results, or the rows stored since (as the pipeline shows them); an import's own setting as one row. */
function resultsOf(dataset: string, config: ExperimentConfig | null, stored: ExperimentResults | null, state: RunState | undefined, imported: boolean): ExperimentResults | null {
  const evals = Object.entries(state?.stages ?? {}).flatMap(([k, v]) => {
    const id = parseStageName(k);
    return id?.kind === 'eval' && id.round === undefined ? [{ seed: id.seed, eval: v.output as SettingEval }] : [];
  });
  const split = config?.split ?? 'test';
  if (imported) {
    // Not a row of the paper's table (buildResults keeps only those): the metrics as they are.
    const rows = evals.map(({ eval: e }) => ({ setting: e.setting, ...e.metrics, perQuery: Object.fromEntries(Object.entries(e.perQuery).map(([q, m]) => [q, m['ndcg@10']])) }) as unknown as ResultRow);
    return rows.length ? { dataset, split, rows } : null;
  }
  const combined = combineStoredEvals(evals, config?.seed ?? 0, config?.seeds);
  if (combined.length > (stored?.rows.length ?? 0)) return buildResults(dataset, split, combined, { seed: config?.seed });
  return stored;
}
