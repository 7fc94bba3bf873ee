// The results of a run rebuilt from its stored stages alone (run-state.ts), as the loop (loop.ts) reports them
// when it finishes: the table's rows with their dev values, ExpandR after each earlier round, the variants of
// round 1 and the trained retrievers on plain queries, each combined over its seeds. What reads a run that
// stopped midway (a closed tab, a killed runner) shows what it has so far, made the same way.
import { variantStageName, type ExperimentConfig } from './config.ts';
import { buildResults, devMetricsOf, type SettingEval } from './results.ts';
import { buildPlainRows, combinePlain, type PlainOfSeed, type PlainSeedRun } from './results-plain.ts';
import { buildRoundRows, type RoundEvals } from './results-rounds.ts';
import { buildVariantRows, type VariantEval } from './results-variants.ts';
import type { RunState } from './run-state.ts';
import { combineStoredEvals, seedsOf } from './seeds.ts';
import { parseStageName, type EvalKey } from './stages.ts';
import type { ExperimentResults } from './types.ts';

/** What of the run's config it reads; a config stored before seeds, rounds or variants existed lacks them. */
export type StateResultsConfig = Pick<ExperimentConfig, 'seed'> & Partial<Pick<ExperimentConfig, 'seeds' | 'rounds' | 'variants'>>;

interface StoredEval {
  on: 'test' | 'dev';
  key: EvalKey;
  seed: number;
  eval: SettingEval;
}

export function resultsFromState(dataset: string, split: string, state: RunState, given: StateResultsConfig): ExperimentResults {
  const config = { seeds: [], rounds: 1, variants: [], ...given } as Required<StateResultsConfig>;
  const seeds = seedsOf(config);
  const stored: StoredEval[] = [];
  const plainStages: { encoder: string; on: 'test' | 'dev'; eval: SettingEval }[] = [];
  for (const [name, rec] of Object.entries(state.stages)) {
    const id = parseStageName(name);
    if (id?.kind === 'eval' || id?.kind === 'devEval') stored.push({ on: id.kind === 'eval' ? 'test' : 'dev', key: id, seed: id.seed ?? config.seed, eval: rec.output as SettingEval });
    if (id?.kind === 'plainEval') plainStages.push({ encoder: id.encoder, on: id.queries, eval: rec.output as SettingEval });
  }
  const pick = (on: 'test' | 'dev', round?: number, variant?: string) => stored.filter((s) => s.on === on && s.key.round === round && s.key.variant === variant);
  const combined = (xs: StoredEval[]) => combineStoredEvals(xs.map((s) => ({ seed: s.seed, eval: s.eval })), config.seed, seeds);

  const results = buildResults(dataset, split, combined(pick('test')), { seed: config.seed });
  const dev = new Map(combined(pick('dev')).map((e) => [e.setting, e]));
  for (const row of results.rows) {
    const d = dev.get(row.setting);
    if (d) row.dev = devMetricsOf(d);
  }

  const table = combined(pick('test'));
  const rounds: RoundEvals[] = [];
  for (let t = 1; t < config.rounds; t++) {
    const [test] = combined(pick('test', t));
    const [d] = combined(pick('dev', t));
    if (test) rounds.push({ round: t, test, ...(d ? { dev: d } : {}) });
  }
  if (rounds.length) results.roundRows = buildRoundRows(table, rounds, { seed: config.seed });

  // Variants: the first seed's, against that seed's ExpandR after round 1 on dev.
  const first = seeds[0];
  const variants: VariantEval[] = config.variants.flatMap((v) => {
    const llm = variantStageName(v);
    const d = pick('dev', 1, llm).find((s) => s.seed === first);
    const dpo = state.stages[`dpo:${llm}`]?.output as { pairs?: number } | undefined;
    return d ? [{ variant: v, llm, seed: d.seed, ...(dpo?.pairs === undefined ? {} : { pairs: dpo.pairs }), dev: d.eval }] : [];
  });
  if (variants.length) {
    const round1 = pick('dev', config.rounds > 1 ? 1 : undefined).find((s) => s.key.setting === 'ExpandR' && s.seed === first);
    results.variants = buildVariantRows(variants, round1?.eval ?? null);
  }

  const plainRows = buildPlainRows(combinePlain(seeds.map((seed) => plainSeedRun(seed, stored, plainStages, config))));
  if (plainRows.length) results.plainRows = plainRows;
  return results;
}

/** One seed's rows and its retrievers' plain evaluations, each read against its expanded row as the loop pairs them. */
function plainSeedRun(seed: number, stored: readonly StoredEval[], plainStages: readonly { encoder: string; on: 'test' | 'dev'; eval: SettingEval }[], config: Required<StateResultsConfig>): PlainSeedRun {
  const mine = stored.filter((s) => s.seed === seed && s.key.variant === undefined);
  const find = (on: 'test' | 'dev', setting: string, round?: number) => mine.find((s) => s.on === on && s.key.setting === setting && s.key.round === round)?.eval;
  const suffix = seed === config.seed ? '' : `@seed${seed}`;
  const plain = new Map<string, PlainOfSeed>();
  for (let t = 1; t <= config.rounds; t++) {
    const test = plainStages.find((p) => p.on === 'test' && p.encoder === `round-${t}${suffix}`)?.eval;
    if (!test) continue;
    // The first expanded row with this retriever (loop.ts evalDense): ExpandR after its round, else w/o LLM training.
    const candidates: [string, string, number | undefined][] = [
      [t < config.rounds ? `ExpandR after round ${t}` : 'ExpandR', 'ExpandR', t < config.rounds ? t : undefined],
      ...(t === 1 ? ([['w/o LLM training', 'w/o LLM training', undefined]] as [string, string, undefined][]) : []),
    ];
    const found = candidates.find(([, setting, round]) => find('test', setting, round));
    if (!found) continue;
    const [versus, setting, round] = found;
    const dev = plainStages.find((p) => p.on === 'dev' && p.encoder === `round-${t}${suffix}`)?.eval;
    plain.set(`round-${t}`, { versus, test, ...(dev ? { dev } : {}), expandedTest: find('test', setting, round)!, expandedDev: find('dev', setting, round) });
  }
  return { seed, evals: mine.filter((s) => s.on === 'test' && s.key.round === undefined).map((s) => s.eval), devEvals: mine.filter((s) => s.on === 'dev' && s.key.round === undefined).map((s) => s.eval), plain };
}
