// The page's runs, kept side by side per dataset in IndexedDB (src/store/run-artifacts.ts) and keyed by
// content (src/pipeline/run-key.ts): the pipeline opens the run its inputs make (same encoder bytes, LLM,
// dataset and config: the same run, resumed; anything else: a new one beside it), and the run list shows,
// opens, renames, deletes and compares them. The comparison is the runner's (src/eval/compare-runs.ts).
import { ExpandrError, NotFoundError } from '../errors.ts';
import { pickGoldDoc } from '../data/qrels.ts';
import { flatText } from '../data/types.ts';
import { caseRows, compareSides, type CompareSide } from '../eval/compare-runs.ts';
import { EXPERIMENT_DEFAULTS, type ExperimentConfig } from '../pipeline/config.ts';
import { codeVersion, hubOrigin, shortKey, type ModelIdentity } from '../pipeline/run-key.ts';
import { comparableSettings, configSummary, newManifest, settingsDone, settingValues, updateManifest, type RunManifest } from '../pipeline/run-record.ts';
import type { RunState } from '../pipeline/run-state.ts';
import { stageName } from '../pipeline/stages.ts';
import {
  currentRunId,
  deleteRunArtifacts,
  getRunManifest,
  LEGACY_RUN_ID,
  listRunIds,
  putRunManifest,
  runPrefix,
  setCurrentRun,
} from '../store/run-artifacts.ts';
import type { Store } from '../store/store.ts';
import type { DatasetInfo } from '../store/types.ts';
import type { RunCompareResult, RunListEntry, RunSettingRef } from './run-types.ts';
import type { EncoderSummary, LlmSummary } from './session-types.ts';
import type { ImportedManifest } from './run-import.ts';

export type { RunCompareResult, RunListEntry, RunSettingRef };

// Set by Vite's `define` at build time (vite.config.ts): package version + git commit.
declare const __EXPANDR_CODE_VERSION__: string | undefined;

/** The page's code version (run keys): the build's, or 'dev+unknown' where none was defined (Node tests). */
export function pageCodeVersion(): string {
  return typeof __EXPANDR_CODE_VERSION__ === 'string' ? __EXPANDR_CODE_VERSION__ : codeVersion('dev', null);
}

/** The models of a page run by content: the encoder's modelHash, a kept LLM's 'local:sha256:…' key, a WebLLM preset's id. */
export function pageModels(encoder: EncoderSummary, llm: LlmSummary | null): ModelIdentity[] {
  // A Hub model is pinned to the commit its files came from; without one (an old cache) it is recorded as
  // unpinned at 'main', and its bytes still identify it.
  const hub = encoder.cacheKey.startsWith('hf:') ? { hub: hubOrigin(encoder.cacheKey.slice(3), encoder.hubCommit ?? 'main') } : {};
  const models: ModelIdentity[] = [{ role: 'encoder', name: encoder.name, hash: encoder.modelHash, ...hub }];
  if (llm) {
    const key = llm.cacheKey ?? `unkept:${llm.name}`;
    const hash = key.startsWith('local:') ? key.slice('local:'.length) : key;
    models.push({ role: 'llm', name: llm.name, hash, ...(llm.engine === 'webllm' ? { hub: hubOrigin(llm.name) } : {}) });
  }
  return models;
}

/** The manifest of the run these inputs make (not stored); `train`: the datasets trained on (config.trainData's), if any. */
export function pageRunManifest(info: DatasetInfo, encoder: EncoderSummary, llm: LlmSummary | null, config: ExperimentConfig, train: readonly DatasetInfo[] = []): RunManifest {
  const datasets = [info, ...train].map((d, i) => ({ role: i === 0 ? 'data' : `train:${i - 1}`, name: d.name, checksum: d.checksum }));
  return newManifest({ models: pageModels(encoder, llm), datasets, config, code: pageCodeVersion() });
}

/** Opens the run of `manifest` (stored the first time it is seen) as the dataset's current run; returns its id. */
export async function openRunFor(store: Store, datasetId: string, manifest: RunManifest): Promise<string> {
  const id = manifest.key;
  if (!(await getRunManifest(store, datasetId, id))) await putRunManifest(store, datasetId, id, manifest);
  await setCurrentRun(store, datasetId, id);
  return id;
}

/** Brings a run's manifest up to date with its state (settings done, status, date). */
export async function touchRun(store: Store, datasetId: string, id: string): Promise<void> {
  const m = await getRunManifest<RunManifest>(store, datasetId, id);
  if (!m) return;
  const state = await store.getArtifact<RunState>(datasetId, `${runPrefix(id)}/state`);
  await putRunManifest(store, datasetId, id, updateManifest(m, state));
}

/**
 * What a config sets apart from the paper's defaults (EXPERIMENT_DEFAULTS), as the page's config JSON
 * takes it: top-level keys whose value differs, nested objects cut to their differing keys. What the page
 * fills in from its own choices is left out: the dataset path ('data') and the models' names and chat
 * template (pipeline-session.ts sets them from the loaded encoder and LLM).
 */
export function configOverrides(config: ExperimentConfig): Record<string, unknown> {
  const base = EXPERIMENT_DEFAULTS as unknown as Record<string, unknown>;
  const pageSets: Record<string, string[]> = { encoder: ['model'], llm: ['model', 'chat'] };
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config as unknown as Record<string, unknown>)) {
    if (k === 'data' || same(v, base[k])) continue;
    const b = base[k];
    if (v && b && typeof v === 'object' && typeof b === 'object' && !Array.isArray(v)) {
      const diff = Object.entries(v).filter(([kk, vv]) => !pageSets[k]?.includes(kk) && !same(vv, (b as Record<string, unknown>)[kk]));
      if (diff.length) out[k] = Object.fromEntries(diff);
    } else out[k] = v;
  }
  return out;
}

/** The snapshot the pipeline keeps beside a run's state (only its config is read here). */
interface SnapshotConfig {
  config: ExperimentConfig | null;
}

/** Runs `fn` only while no pipeline run is going on for the dataset (the host passes the run lock, run-lock.ts). */
export type RunGuard = <T>(datasetId: string, fn: () => Promise<T>) => Promise<T>;

export class RunList {
  constructor(
    private readonly store: () => Promise<Store>,
    /** Opening or deleting a run while the loop writes to the dataset's runs is refused through it. */
    private readonly guard: RunGuard = (_d, fn) => fn(),
  ) {}

  /** Every run of one dataset, or of all, newest first. */
  async list(datasetId?: string): Promise<RunListEntry[]> {
    const store = await this.store();
    const datasets = (await store.listDatasets()).filter((d) => datasetId === undefined || d.id === datasetId);
    const out: RunListEntry[] = [];
    for (const d of datasets) {
      const current = await currentRunId(store, d.id);
      for (const id of await listRunIds(store, d.id)) out.push(await this.#entry(store, d, id, id === current));
    }
    return out.sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
  }

  async open(datasetId: string, id: string): Promise<void> {
    const store = await this.store();
    await this.guard(datasetId, async () => setCurrentRun(store, datasetId, await this.#need(store, datasetId, id)));
  }

  async rename(datasetId: string, id: string, name: string): Promise<void> {
    const store = await this.store();
    const m = await getRunManifest<RunManifest>(store, datasetId, await this.#need(store, datasetId, id));
    if (!m) throw new ExpandrError('This run was stored before runs had names: run it again (it then gets a key and a name), or delete it.');
    if (!name.trim()) throw new ExpandrError('A run needs a name: type one.');
    await putRunManifest(store, datasetId, id, { ...m, name: name.trim() });
  }

  async remove(datasetId: string, id: string): Promise<void> {
    const store = await this.store();
    await this.guard(datasetId, async () => deleteRunArtifacts(store, datasetId, await this.#need(store, datasetId, id)));
  }

  /** Setting B against setting A, paired on the queries both evaluated; `top` diff rows (0: all) and `cases` case rows. */
  async compare(a: RunSettingRef, b: RunSettingRef, metric: string, top: number, cases: number): Promise<RunCompareResult> {
    const store = await this.store();
    const [sa, sb] = [await this.#side(store, a), await this.#side(store, b)];
    const c = compareSides(sa.side, sb.side, metric);
    const ndcg = (side: CompareSide, qid: string) => side.perQuery.get(qid)?.['ndcg@10'];
    const rows = caseRows(c, sa.side, sb.side, cases).map((r) => ({ ...r, ndcg: { a: ndcg(sa.side, r.qid), b: ndcg(sb.side, r.qid) } }));
    const queries = new Map((await store.getQueries(a.datasetId)).map((q) => [q.id, q.text]));
    const qrels = await store.getQrels(a.datasetId, sa.split).catch(() => undefined);
    for (const r of rows) {
      r.query = queries.get(r.qid);
      const judged = [...(qrels?.get(r.qid) ?? [])];
      const docs = await store.getDocs(a.datasetId, judged.map(([id]) => id));
      const byId = new Map(docs.filter((x) => x !== undefined).map((x) => [x.id, x]));
      const gold = pickGoldDoc(judged, (id) => byId.has(id));
      if (gold) r.gold = { docId: gold, text: flatText(byId.get(gold)!) };
    }
    const notes: string[] = [];
    if (a.datasetId !== b.datasetId) notes.push(`The runs are on different datasets (${sa.dataset}, ${sb.dataset}): paired on the ${c.shared} query ids both have; texts and gold passages are A's.`);
    else if (sa.checksum && sb.checksum && sa.checksum !== sb.checksum) notes.push('The runs saw different content of this dataset: only queries with the same id are paired.');
    return { comparison: { ...c, diffs: top ? c.diffs.slice(0, top) : c.diffs }, cases: rows, notes };
  }

  async #need(store: Store, datasetId: string, id: string): Promise<string> {
    if (!(await listRunIds(store, datasetId)).includes(id)) throw new NotFoundError(`Run ${shortKey(id)} is no longer stored for this dataset (deleted in another tab?): reload the run list.`);
    return id;
  }

  async #config(store: Store, datasetId: string, id: string): Promise<{ manifest?: RunManifest; config: ExperimentConfig | null }> {
    const manifest = await getRunManifest<RunManifest>(store, datasetId, id);
    if (manifest) return { manifest, config: manifest.config };
    const snap = await store.getArtifact<SnapshotConfig>(datasetId, `${runPrefix(id)}/snapshot`);
    return { config: snap?.config ?? null };
  }

  async #side(store: Store, ref: RunSettingRef): Promise<{ side: CompareSide; split: string; dataset: string; checksum?: string }> {
    const info = await store.getDataset(ref.datasetId);
    if (!info) throw new NotFoundError('The dataset of this run is no longer stored.');
    await this.#need(store, ref.datasetId, ref.run);
    const { manifest, config } = await this.#config(store, ref.datasetId, ref.run);
    const state = await store.getArtifact<RunState>(ref.datasetId, `${runPrefix(ref.run)}/state`);
    const v = settingValues(state, ref.setting, config ?? undefined);
    const name = manifest?.name ?? 'the earlier run';
    if (!v) throw new ExpandrError(`${name} has no evaluation of "${ref.setting}" (it has: ${settingsDone(state).join(', ') || 'none'}).`);
    // An imported run keeps its expansions under the base LLM's stage whatever its setting is called.
    const imported = (manifest as Partial<ImportedManifest> | undefined)?.imported;
    const stored = imported ? state?.stages[stageName({ kind: 'expansions', llm: 'base', queries: 'test' })]?.output : undefined;
    const expansions = v.expansions ?? (stored ? new Map(Object.entries(stored as Record<string, string>)) : undefined);
    return {
      side: { label: `${name}:${ref.setting}`, perQuery: v.perQuery, expansions },
      split: config?.split ?? 'test',
      dataset: info.name,
      checksum: manifest?.datasets[0]?.checksum,
    };
  }

  async #entry(store: Store, d: DatasetInfo, id: string, current: boolean): Promise<RunListEntry> {
    const { manifest, config } = await this.#config(store, d.id, id);
    const state = await store.getArtifact<RunState>(d.id, `${runPrefix(id)}/state`);
    const done = settingsDone(state);
    const settings = config?.settings ?? [];
    // The manifest's date, or a stage finished since (a run stopped before its manifest was touched).
    const at = (iso: string | undefined) => [iso ?? '', ...Object.values(state?.stages ?? {}).map((s) => s.finishedAt)].sort().pop() ?? '';
    const models = manifest
      ? manifest.models.map((m) => `${m.role} ${m.name}${m.hub ? (m.hub.pinned ? ` @ ${m.hub.revision.slice(0, 12)}` : ` (unpinned: ${m.hub.revision})`) : ''}`).join(', ') || 'none'
      : config
        ? `encoder ${config.encoder.model}${config.llm.model ? `, llm ${config.llm.model}` : ''} (not hashed)`
        : '—';
    const imported = (manifest as Partial<ImportedManifest> | undefined)?.imported;
    return {
      datasetId: d.id,
      datasetName: d.name,
      trainDatasets: (manifest?.datasets ?? []).filter((x) => x.role.startsWith('train')).map((x) => x.name),
      id,
      short: id === LEGACY_RUN_ID ? '' : shortKey(id),
      name: manifest?.name ?? 'Run stored before run keys',
      models,
      configSummary: manifest?.configSummary ?? (config ? configSummary(config) : '—'),
      done,
      comparable: comparableSettings(state, config ?? undefined),
      settings,
      status: imported ? 'imported' : settings.length > 0 && settings.every((s) => done.includes(s)) ? 'complete' : 'stopped',
      ...(imported ? { imported: `${imported.file}: ${imported.kind === 'trec' ? 'TREC run' : 'expansions'} scored ${imported.scoredAs}` } : {}),
      overrides: config && !imported ? configOverrides(config) : null,
      createdAt: manifest?.createdAt ?? at(undefined),
      updatedAt: at(manifest?.updatedAt),
      current,
    };
  }
}
