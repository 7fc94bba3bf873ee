// The evidence a published experiment keeps beside its config (experiments/NAME/): results.json whose rows
// name their TREC run files, and those runs cut to the top `depth` documents per query, so that anyone can
// recompute every number with trec_eval. A row trained with several seeds names each seed's run (runsBySeed,
// in the order of its perSeed values) and, as `run`, the first seed's; ExpandR after earlier rounds
// (roundRows) names its runs the same way.
import { runFolder } from './stages-retriever.ts';
import type { ExperimentResults, ResultRow } from './types.ts';

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

/** Per row (and round row): the run folders to copy and the fields results.json gets. */
export function evidencePlan(results: Pick<ExperimentResults, 'rows' | 'roundRows'>, configSeed: number): { row: ResultRow; folders: string[]; fields: EvidenceRow }[] {
  const plan = (row: ResultRow, round?: number) => {
    const seeds = row.seeds?.length ? row.seeds : [undefined];
    const folders = seeds.map((s) => runFolderOf(row.setting, s, configSeed, round));
    const fields: EvidenceRow = { run: evidenceRunPath(folders[0]) };
    if (row.seeds && row.seeds.length > 1) fields.runsBySeed = Object.fromEntries(row.seeds.map((s, i) => [String(s), evidenceRunPath(folders[i])]));
    return { row, folders, fields };
  };
  return [...results.rows.map((r) => plan(r)), ...(results.roundRows ?? []).map((r) => plan(r, r.round))];
}
