// The evidence a published experiment keeps beside its config (experiments/NAME/): results.json whose rows
// name their TREC run files, and those runs cut to the top `depth` documents per query, so that anyone can
// recompute every number with trec_eval. A row trained with several seeds names each seed's run (runsBySeed,
// in the order of its perSeed values) and, as `run`, the first seed's; ExpandR after earlier rounds
// (roundRows) and the trained retrievers on plain queries (plainRows) name their runs the same way.
import { seededName } from './seeds.ts';
import { plainRunFolder, runFolder } from './stages-retriever.ts';
import type { ExperimentResults, PlainRow, ResultRow } from './types.ts';

/** The folder, under a run's output, of a setting's test run for one seed and round (the config's seed has no tag). */
export function runFolderOf(setting: string, seed: number | undefined, configSeed: number, round?: number): string {
  return runFolder(setting, { round, seed: seed === configSeed ? undefined : seed });
}

/** Where the evidence keeps that run: runs/SLUG[@roundT][@seedS].trec.gz (relative to results.json). */
export const evidenceRunPath = (runFolder: string) => `${runFolder}.trec.gz`;

export interface EvidenceRow {
  /** The first (or only) seed's run, relative to results.json. */
  run: string;
  /** Seed → run, for a row with several seeds. */
  runsBySeed?: Record<string, string>;
}

/** One row's entry of the plan: what it is called in messages, its seeds, its run folders and its results.json fields. */
export interface EvidenceEntry {
  row: ResultRow | PlainRow;
  name: string;
  seeds?: number[];
  folders: string[];
  fields: EvidenceRow;
}

/** Per row (round row, plain row): the run folders to copy and the fields results.json gets. */
export function evidencePlan(results: Pick<ExperimentResults, 'rows' | 'roundRows' | 'plainRows'>, configSeed: number): EvidenceEntry[] {
  const plan = (row: ResultRow | PlainRow, name: string, folderOf: (seed: number | undefined) => string): EvidenceEntry => {
    const seeds = row.seeds?.length ? row.seeds : [undefined];
    const folders = seeds.map(folderOf);
    const fields: EvidenceRow = { run: evidenceRunPath(folders[0]) };
    if (row.seeds && row.seeds.length > 1) fields.runsBySeed = Object.fromEntries(row.seeds.map((s, i) => [String(s), evidenceRunPath(folders[i])]));
    return { row, name, ...(row.seeds ? { seeds: row.seeds } : {}), folders, fields };
  };
  return [
    ...results.rows.map((r) => plan(r, r.setting, (s) => runFolderOf(r.setting, s, configSeed))),
    ...(results.roundRows ?? []).map((r) => plan(r, `ExpandR after round ${r.round}`, (s) => runFolderOf(r.setting, s, configSeed, r.round))),
    ...(results.plainRows ?? []).map((r) => plan(r, `${r.retriever} on plain queries`, (s) => plainRunFolder(seededName(r.retriever, s ?? configSeed, configSeed)))),
  ];
}
