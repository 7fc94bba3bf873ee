// Run folders as `expandr runs` finds and reads them: a folder with run.json (the manifest the
// experiment writes), or an older one with only run-state.json and/or results.json (its config then
// comes from a sibling DIR.json, as experiments/NAME.json sits beside experiments/NAME/). Per-query
// values come from the run state (every metric) or, without one, from per-query.json (nDCG@10 only).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.ts';
import type { CompareSide } from '../eval/compare-runs.ts';
import { experimentConfig, type ExperimentConfig } from '../pipeline/config.ts';
import { allEvaluated, comparableSettings, configSummary, expansionLlmOf, settingsDone, settingValues, statusWith } from '../pipeline/run-record.ts';
import { shortKey } from '../pipeline/run-key.ts';
import type { RunState } from '../pipeline/run-state.ts';
import { liveStatus, readManifest, RUN_MANIFEST_FILE, RUN_STATE_FILE, type FolderManifest } from './run-folder.ts';

const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where `runs` looks without --root: the committed experiments and the runner's scratch runs. */
export const DEFAULT_RUN_ROOTS = [join(PROJECT_ROOT, 'experiments'), join(PROJECT_ROOT, '.cache', 'runs')];
/** Folders below a root searched for runs (root/NAME and root/GROUP/NAME). */
const SEARCH_DEPTH = 2;

export interface FoundRun {
  dir: string;
  manifest?: FolderManifest;
  state?: RunState;
  config?: ExperimentConfig;
  /** 'run-<hex>', or null for a folder made before run keys. */
  key: string | null;
  /** Settings with stored per-query values, in the order they finished (or results.json's order). */
  settings: string[];
  status: string;
  /** ISO date of the last change. */
  date: string;
}

const readJson = <T>(p: string): T | undefined => (existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as T) : undefined);

/** A run folder, or undefined when `dir` holds none of run.json, run-state.json, results.json. */
export function readRunFolder(dir: string): FoundRun | undefined {
  const files = [RUN_MANIFEST_FILE, RUN_STATE_FILE, 'results.json'].map((f) => join(dir, f));
  if (!files.some((f) => existsSync(f))) return undefined;
  const manifest = readManifest(dir);
  const state = readJson<RunState>(join(dir, RUN_STATE_FILE));
  let config = manifest?.config;
  if (!config && existsSync(`${dir}.json`)) {
    try {
      config = experimentConfig(readJson<Record<string, unknown>>(`${dir}.json`), `${dir}.json`);
    } catch {
      config = undefined; // a sibling JSON that is not a config: the listing shows less, nothing fails
    }
  }
  const results = readJson<{ rows: { setting: string }[] }>(join(dir, 'results.json'));
  const settings = state ? settingsDone(state) : (results?.rows.map((r) => r.setting) ?? []);
  const complete = config ? (state ? allEvaluated(config, state) : config.settings.every((s) => settings.includes(s))) : !state && !!results;
  // The manifest's status as the stages stand (one written by an older version may say complete too early).
  const status = manifest ? liveStatus(state ? { ...manifest, status: statusWith(manifest.status, complete) } : manifest) : complete ? 'complete' : state ? 'stopped' : 'unknown';
  const mtime = Math.max(...files.filter((f) => existsSync(f)).map((f) => statSync(f).mtimeMs));
  return { dir, manifest, state, config, key: manifest?.key ?? null, settings, status, date: manifest?.updatedAt ?? new Date(mtime).toISOString() };
}

/** Run folders under `roots` (each root itself, and folders up to SEARCH_DEPTH below it), newest first. */
export function findRuns(roots: readonly string[]): FoundRun[] {
  const out: FoundRun[] = [];
  const seen = new Set<string>();
  const visit = (dir: string, depth: number) => {
    if (seen.has(dir)) return;
    seen.add(dir);
    const run = readRunFolder(dir);
    if (run) {
      out.push(run);
      return; // a run's own sub-folders (encoders/, runs/) are not runs
    }
    if (depth >= SEARCH_DEPTH) return;
    for (const name of readdirSync(dir).sort()) {
      const sub = join(dir, name);
      if (!name.startsWith('.') && statSync(sub).isDirectory()) visit(sub, depth + 1);
    }
  };
  for (const r of roots) if (existsSync(r) && statSync(r).isDirectory()) visit(resolve(r), 0);
  return out.sort((a, b) => b.date.localeCompare(a.date));
}

/** A run named on the command line: a folder path, a key (or its first hex digits), or a folder name under the roots. */
export function resolveRun(spec: string, roots: readonly string[]): FoundRun {
  if (existsSync(spec) && statSync(spec).isDirectory()) {
    const r = readRunFolder(resolve(spec));
    if (!r) throw new UsageError(`${spec} is not a run folder (no ${RUN_MANIFEST_FILE}, ${RUN_STATE_FILE} or results.json).`);
    return r;
  }
  const all = findRuns(roots);
  const hex = spec.replace(/^run-/, '').toLowerCase();
  const hits = all.filter((r) => (r.key && /^[0-9a-f]{4,}$/.test(hex) && r.key.slice(4).startsWith(hex)) || basename(r.dir) === spec);
  if (hits.length === 1) return hits[0];
  const where = roots.join(', ');
  if (hits.length === 0) throw new UsageError(`No run "${spec}" under ${where}: give a run folder, a key prefix or a folder name from \`expandr runs\`.`);
  throw new UsageError(`"${spec}" names ${hits.length} runs (${hits.map((r) => r.dir).join(', ')}): give more of the key, or the folder.`);
}

/** The settings of a run that can be compared, and one of them as a side of a comparison. */
export function runSide(run: FoundRun, setting: string, on: 'test' | 'dev' = 'test'): CompareSide & { metrics?: Record<string, number> } {
  const label = `${basename(run.dir)}:${setting}${on === 'dev' ? ' (dev)' : ''}`;
  const have = (run.state ? comparableSettings(run.state, run.config, on) : run.settings).join(', ') || 'none';
  if (run.state) {
    const v = settingValues(run.state, setting, run.config, on);
    if (!v) throw new UsageError(`${run.dir} has no ${on === 'dev' ? 'dev ' : ''}evaluation of "${setting}" (it has: ${have}).`);
    return { label, perQuery: v.perQuery, metrics: v.metrics, expansions: v.expansions ?? (on === 'test' ? expansionsFile(run, setting) : undefined) };
  }
  if (on === 'dev') throw new UsageError(`${run.dir} keeps no dev values per query (only a run folder with ${RUN_STATE_FILE} does): compare on test, or give the run's own folder.`);
  const pq = readJson<Record<string, Record<string, number>>>(join(run.dir, 'per-query.json'));
  if (!pq?.[setting]) throw new UsageError(`${run.dir} has no per-query values of "${setting}" (it has: ${have}; per-query.json ${pq ? 'lacks it' : 'is missing'}).`);
  const perQuery = new Map(Object.entries(pq[setting]).map(([q, v]) => [q, { 'ndcg@10': v }]));
  return { label, perQuery, expansions: expansionsFile(run, setting) };
}

/** Expansions of a setting from the folder's files: expansions/LLM-test/expansions.jsonl, or expansions-test.jsonl of an evidence folder. */
function expansionsFile(run: FoundRun, setting: string): Map<string, string> | undefined {
  const llm = expansionLlmOf(setting, run.config?.rounds ?? 1);
  if (!llm) return undefined;
  const candidates = [join(run.dir, 'expansions', `${llm}-test`, 'expansions.jsonl'), ...(llm === 'base' ? [join(run.dir, 'expansions-test.jsonl')] : [])];
  const file = candidates.find((f) => existsSync(f));
  if (!file) return undefined;
  const out = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const o = JSON.parse(line) as { id: string; expansion: string };
    out.set(o.id, o.expansion);
  }
  return out;
}

/** One listing line's fields. */
export function runRow(r: FoundRun): { id: string | null; key: string; dir: string; name: string; dataset: string; models: string; config: string; settings: string; status: string; date: string } {
  const m = r.manifest;
  const modelText = m
    ? m.models.map((x) => `${x.role} ${x.name}${x.hub && !x.hub.pinned ? ` (unpinned: ${x.hub.revision})` : ''}`).join(', ')
    : r.config
      ? `encoder ${basename(r.config.encoder.model)}, llm ${basename(r.config.llm.model)} (not hashed)`
      : '—';
  return {
    id: r.key,
    key: r.key ? shortKey(r.key) : '(no key)',
    dir: r.dir,
    name: m?.name ?? basename(r.dir),
    dataset: m ? m.datasets.map((d) => d.name).join(' + ') : r.config ? basename(r.config.data) : '—',
    models: modelText,
    config: m?.configSummary ?? (r.config ? configSummary(r.config) : '—'),
    settings: r.settings.join(', ') || 'none',
    status: r.status,
    date: r.date,
  };
}
