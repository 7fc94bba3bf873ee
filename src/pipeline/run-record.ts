// What a run says about itself, for listing and comparing runs: the manifest (run.json in a runner
// folder, an artifact in the page) and the per-setting values read back from its run state. The
// runner (src/cli/run-folder.ts, runs-command.ts) and the page (src/app/run-list.ts) both use these.
import type { ExperimentConfig } from './config.ts';
import type { RunState } from './run-state.ts';
import { runKey, type ModelIdentity, type RunKeyParts } from './run-key.ts';
import { parseStageName, stageName } from './stages.ts';
import type { SettingEval } from './results.ts';
import { combineStoredEvals, seededName, seedsOf } from './seeds.ts';
import type { SettingName } from './types.ts';

export const RUN_MANIFEST_FORMAT = 'expandr-run';
export const RUN_MANIFEST_VERSION = 1;

export type RunStatus = 'running' | 'stopped' | 'complete';

export interface RunManifest {
  format: typeof RUN_MANIFEST_FORMAT;
  version: number;
  /** runKey() of the parts below ('run-<hex>'). */
  key: string;
  /** What the user calls the run (renaming changes nothing else). */
  name: string;
  datasets: RunKeyParts['datasets'];
  models: ModelIdentity[];
  adapters?: Record<string, string>;
  code: string;
  /** The full resolved config (names and paths included, for a reader; the key leaves those out). */
  config: ExperimentConfig;
  /** configSummary(config). */
  configSummary: string;
  /** Settings evaluated so far, in table order. */
  done: string[];
  status: RunStatus;
  /** ISO dates. */
  createdAt: string;
  updatedAt: string;
}

/** A new manifest (status 'running', nothing done) for a run about to start. */
export function newManifest(parts: RunKeyParts & { config: ExperimentConfig; name?: string }, now = new Date()): RunManifest {
  const { key } = runKey(parts);
  const data = parts.datasets.map((d) => d.name).join(' + ');
  const models = parts.models.map((m) => m.name).join(' + ');
  return {
    format: RUN_MANIFEST_FORMAT,
    version: RUN_MANIFEST_VERSION,
    key,
    name: parts.name ?? `${data} · ${models}`,
    datasets: parts.datasets,
    models: [...parts.models],
    ...(parts.adapters ? { adapters: { ...parts.adapters } } : {}),
    code: parts.code,
    config: parts.config,
    configSummary: configSummary(parts.config),
    done: [],
    status: 'running',
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
  };
}

/**
 * The manifest brought up to date with the run state: settings done, complete when every configured one is
 * evaluated at every seed it runs at (allEvaluated), not merely at the first: a run of several seeds
 * whose first seed has all nine rows is still running.
 */
export function updateManifest(m: RunManifest, state: RunState | undefined, now = new Date()): RunManifest {
  return { ...m, done: settingsDone(state), status: statusWith(m.status, allEvaluated(m.config, state)), updatedAt: now.toISOString() };
}

/** A run's status once it is known whether every configured evaluation is stored: a complete run that is not goes back to running. */
export function statusWith(previous: RunStatus, complete: boolean): RunStatus {
  return complete ? 'complete' : previous === 'complete' ? 'running' : previous;
}

/**
 * Whether the state holds the test evaluation of every configured setting at each seed the loop runs it at
 * (loop.ts: the first seed for all, the others for seededSettings). A config stored before seeds existed
 * runs at its one seed.
 */
export function allEvaluated(config: Pick<ExperimentConfig, 'settings' | 'seed'> & Partial<Pick<ExperimentConfig, 'seeds' | 'seededSettings'>>, state: RunState | undefined): boolean {
  const seeds = seedsOf(config);
  const seeded = new Set<string>(config.seededSettings ?? []);
  const stages = state?.stages ?? {};
  return config.settings.every((s) =>
    seeds.every((seed) => (seed !== seeds[0] && !seeded.has(s)) || stageName({ kind: 'eval', setting: s, ...(seed === config.seed ? {} : { seed }) }) in stages),
  );
}

/** One line of what sets this config apart (the fields a reader compares runs by). */
export function configSummary(c: ExperimentConfig): string {
  const q = (n: number) => (n === 0 ? 'all' : String(n));
  return [
    `${c.split} (${q(c.testQueries)} q)`,
    `train ${c.trainSplit} (${q(c.trainQueries)} q)`,
    `rounds ${c.rounds}`,
    `seed ${c.seed}`,
    `Eq.8 ${c.encoder.expansionNorm}`,
    `expansion T${c.expansion.temperature} ${c.expansion.maxTokens} tok`,
    `rows ${c.settings.length === 9 ? 'all 9' : c.settings.join(', ')}`,
  ].join(' · ');
}

/** Settings with a finished evaluation (at any seed), in the order they first finished. */
export function settingsDone(state: RunState | undefined): string[] {
  const names = Object.keys(state?.stages ?? {}).flatMap((k) => {
    const id = parseStageName(k);
    return id?.kind === 'eval' && id.round === undefined ? [id.setting] : [];
  });
  return [...new Set(names)];
}

/**
 * What a comparison may name of a run (settingValues reads each): every setting evaluated (the mean over its
 * seeds), ExpandR after each earlier round (ExpandR@roundT), then each seed of a row run at several seeds
 * (SETTING@seedS, the config's seed included), in the order the run evaluated them; on dev also the variants
 * of round 1 (ExpandR@round1@variant-…). A retriever trained on expanded queries, on the plain queries, is
 * plain:NAME (plain:round-1; stages plainEval:NAME[@seedS]:test|dev).
 */
export function comparableSettings(state: RunState | undefined, config: ValuesConfig = {}, on: 'test' | 'dev' = 'test'): string[] {
  const configSeed = config.seed ?? 42;
  const kind = on === 'dev' ? 'devEval' : 'eval';
  const evals = Object.keys(state?.stages ?? {}).flatMap((k) => {
    const id = parseStageName(k);
    if (id?.kind === 'plainEval' && id.queries === on) {
      const { retriever, seed } = retrieverSeed(id.encoder);
      return [{ name: `plain:${retriever}`, seed: seed ?? configSeed }];
    }
    if (id?.kind !== kind) return [];
    const name = `${id.round === undefined ? id.setting : `${id.setting}@round${id.round}`}${id.variant ? `@${id.variant}` : ''}`;
    return [{ name, seed: id.seed ?? configSeed }];
  });
  const names = [...new Set(evals.map((e) => e.name))];
  const seeded = new Set(evals.filter((e) => e.seed !== configSeed).map((e) => e.name));
  return [...names, ...new Set(evals.filter((e) => seeded.has(e.name)).map((e) => `${e.name}@seed${e.seed}`))];
}

/**
 * The LLM whose test expansions a setting was evaluated with (the stage `expansions:LLM:test`), as the
 * loop (loop.ts) wires them: base for Raw+expansion and w/o LLM training, the last round's adapter for
 * ExpandR, the ablation's own adapter otherwise. null for settings without expansions.
 */
export function expansionLlmOf(setting: string, rounds: number): string | null {
  switch (setting as SettingName) {
    case 'Raw+expansion':
    case 'w/o LLM training':
      return 'base';
    case 'ExpandR':
      return rounds > 0 ? `round-${rounds}` : 'base';
    case 'w/o retriever training':
      return 'wo-retriever-training';
    case 'w/o self-reward':
      return 'wo-self-reward';
    case 'w/o retriever reward':
      return 'wo-retriever-reward';
    default:
      return null;
  }
}

export interface SettingValues {
  setting: string;
  /** Means over the judged queries. */
  metrics: Record<string, number>;
  /** qid → metric → value. */
  perQuery: Map<string, Record<string, number>>;
  /** qid → the expansion the setting's query vectors were built from, when it has one. */
  expansions?: Map<string, string>;
}

/** What settingValues needs of the run's config (defaults: one round, seed 42, no extra seeds). */
export type ValuesConfig = Partial<Pick<ExperimentConfig, 'rounds' | 'seed' | 'seeds'>>;

/**
 * A setting's stored evaluation (and expansions) from the run state; undefined when it was not evaluated.
 * A setting run at several seeds comes back as the results table reads it: each query's mean over the
 * seeds (seeds.ts combineStoredEvals), with the config seed's expansions; 'SETTING@seedS' is that seed's
 * evaluation alone, with its own expansions; 'ExpandR@round1@variant-…' a variant of round 1 (on dev).
 */
export function settingValues(state: RunState | undefined, setting: string, config: ValuesConfig = {}, on: 'test' | 'dev' = 'test'): SettingValues | undefined {
  const kind = on === 'dev' ? 'devEval' : 'eval';
  const configSeed = config.seed ?? 42;
  if (setting.startsWith('plain:')) return plainValues(state, setting, config, on);
  // 'ExpandR@round1@variant-…': a variant of round 1 (dev only); without it, variants are never mixed in.
  const byVariant = /^(.*)@(variant-[A-Za-z0-9-]+)$/.exec(setting);
  const [unvaried, variant] = byVariant ? [byVariant[1], byVariant[2]] : [setting, undefined];
  // 'NAME@seedS': one seed's evaluation; stages of the config's seed carry no suffix (seeds.ts seededName).
  const bySeed = /^(.*)@seed(\d+)$/.exec(unvaried);
  const [rest, onlySeed] = bySeed ? [bySeed[1], Number(bySeed[2])] : [unvaried, undefined];
  // 'ExpandR@roundT': ExpandR after round T of the loop, before the last (its stages eval:ExpandR@roundT[@seedS]).
  const asked = /^(.*)@round(\d+)$/.exec(rest);
  const [name, round] = asked ? [asked[1], Number(asked[2])] : [rest, undefined];
  const stored = Object.entries(state?.stages ?? {}).flatMap(([k, rec]) => {
    const id = parseStageName(k);
    if (id?.kind !== kind || id.round !== round || id.setting !== name || id.variant !== variant) return [];
    return onlySeed === undefined || (id.seed ?? configSeed) === onlySeed ? [{ seed: id.seed, eval: rec.output as SettingEval }] : [];
  });
  if (stored.length === 0) return undefined;
  const [e] = combineStoredEvals(stored, configSeed, onlySeed !== undefined ? [onlySeed] : seedsOf({ seed: configSeed, seeds: config.seeds }));
  const llmName = round === undefined ? expansionLlmOf(rest, config.rounds ?? 1) : `round-${round}`;
  const llm = variant ?? (llmName && onlySeed !== undefined ? seededName(llmName, onlySeed, configSeed) : llmName);
  const exp = llm ? state?.stages[stageName({ kind: 'expansions', llm, queries: on })] : undefined;
  return {
    setting,
    metrics: e.metrics,
    perQuery: new Map(Object.entries(e.perQuery)),
    ...(exp ? { expansions: new Map(Object.entries(exp.output as Record<string, string>)) } : {}),
  };
}

/** A retriever's name at the config's seed and the seed its name carries ('round-2@seed43' → round-2, 43). */
function retrieverSeed(encoder: string): { retriever: string; seed?: number } {
  const m = /^(.*?)@seed(\d+)$/.exec(encoder);
  return m ? { retriever: m[1], seed: Number(m[2]) } : { retriever: encoder };
}

/** 'plain:NAME' (over its seeds) or 'plain:NAME@seedS' (that seed): retriever NAME's stored plain evaluation. */
function plainValues(state: RunState | undefined, setting: string, config: ValuesConfig, on: 'test' | 'dev'): SettingValues | undefined {
  const configSeed = config.seed ?? 42;
  const { retriever, seed: onlySeed } = retrieverSeed(setting.slice('plain:'.length));
  const stored = Object.entries(state?.stages ?? {}).flatMap(([k, rec]) => {
    const id = parseStageName(k);
    if (id?.kind !== 'plainEval' || id.queries !== on) return [];
    const { retriever: r, seed } = retrieverSeed(id.encoder);
    if (r !== retriever || (onlySeed !== undefined && (seed ?? configSeed) !== onlySeed)) return [];
    // One name for every seed's stage, so that they combine into one row.
    return [{ seed, eval: { ...(rec.output as SettingEval), setting: setting as SettingName } }];
  });
  if (stored.length === 0) return undefined;
  const [e] = combineStoredEvals(stored, configSeed, onlySeed !== undefined ? [onlySeed] : seedsOf({ seed: configSeed, seeds: config.seeds }));
  return { setting, metrics: e.metrics, perQuery: new Map(Object.entries(e.perQuery)) };
}
