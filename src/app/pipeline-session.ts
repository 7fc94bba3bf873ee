// The ExpandR loop as the page runs it (src/pipeline/loop.ts): the dataset from the store, the encoder and
// LLM the user loaded, the run state as artifacts of the dataset (IndexedDB, so a closed tab resumes at
// the stage it was in), progress and log lines streamed, and the run's files as downloads.
// The page walks Data → Models → Expand → Train → Evaluate → Export; a step runs the loop for the rows
// it needs (stages already finished are reused), "Run all" for every configured row.
import { ExpandrError, throwIfAborted } from '../errors.ts';
import type { BeirDataset } from '../data/load.ts';
import type { BeirDoc } from '../data/types.ts';
import { loadBertEncoder } from '../encoder/encoder.ts';
import type { ModelFiles } from '../model/sources.ts';
import { experimentConfig, type ExperimentConfig } from '../pipeline/config.ts';
import type { FiguresData } from '../pipeline/figures-data.ts';
import { runExperiment, type LlmSide } from '../pipeline/loop.ts';
import { resultsFromState } from '../pipeline/results-from-state.ts';
import { buildResults, resultsCsv, resultsJson, resultsMarkdown, type SettingEval } from '../pipeline/results.ts';
import { artifactRunStore, configKey, RunStages, type RunState, type RunStore } from '../pipeline/run-state.ts';
import { stageLog, withEarlierWork, type EarlierWork } from '../pipeline/stage-log.ts';
import { SETTING_NAMES, type ExperimentResults, type PreferenceRecord, type SettingName } from '../pipeline/types.ts';
import type { Store } from '../store/store.ts';
import { zipFolder } from '../encoder/st-folder.ts';
import type { WorkOptions } from '../util/progress.ts';
import type { LoadedLlm, LlmSession } from './llm-session.ts';
import { figuresOf } from '../pipeline/figures.ts';
import type { RetrieverSession } from './retriever-session.ts';
import { analyzeStoredRun, type RunAnalysisReport } from './run-analysis.ts';
import { parseStageName, stepOfStage } from '../pipeline/stages.ts';
import { combineStoredEvals } from '../pipeline/seeds.ts';
import { DEFAULT_CHUNK_SIZE, embeddingCacheKey, MemoryChunkStore } from '../retrieval/dense/chunk-store.ts';
import { StoreChunkStore } from '../retrieval/dense/store-chunks.ts';

export { stepOfStage };
import type { BaseEngine, PipelineDownload, PipelineEvent, PipelineFile, PipelineRunArgs, PipelineSnapshot, PipelineStep } from './session-types.ts';
import { exportAdapterAsGguf, ggufExportName, GGUF_MIME } from './export-gguf.ts';
import { openRunFor, pageRunManifest, touchRun } from './run-list.ts';
import { currentRunId, deleteRunArtifacts, LEGACY_RUN_ID, runPrefix } from '../store/run-artifacts.ts';
import { lockManager, type LockManagerLike } from '../util/web-locks.ts';
import { pipelineRunKey, runLockHeld, withRunLock } from './run-lock.ts';

export type { PipelineDownload, PipelineEvent, PipelineFile, PipelineRunArgs, PipelineSnapshot, PipelineStep };


/** The rows each step needs (cumulative): Expand = baselines + the LLM's vanilla expansions; Train = FT and the joint rounds. */
export const STEP_ROWS: Record<PipelineStep, readonly SettingName[]> = {
  expand: ['BM25', 'Raw', 'Raw+expansion'],
  train: ['BM25', 'Raw', 'Raw+expansion', 'FT', 'ExpandR'],
  evaluate: SETTING_NAMES,
  all: SETTING_NAMES,
};






/** Builds the LLM side of the loop for a loaded LLM (tfjs decoder, or WebLLM generation + tfjs training). */
export type LlmSideFactory = (llm: LoadedLlm, config: ExperimentConfig, at: { store: Store; datasetId: string; work: WorkOptions; baseEngine?: BaseEngine }) => LlmSide;

const LOG_LIMIT = 500;
/** Artifact (under the run's prefix) with the time stages ran before a cancel or a failure (stage-log.ts). */
const EARLIER_WORK = 'stage-earlier-work';

/** The artifact prefix of the dataset's open run (runs are kept side by side by content key: run-list.ts). */
async function openPrefix(store: Store, datasetId: string): Promise<string> {
  return runPrefix((await currentRunId(store, datasetId)) ?? LEGACY_RUN_ID);
}

interface StoredSnapshot {
  configKey: string;
  config: ExperimentConfig;
  results: ExperimentResults | null;
  figures: FiguresData | null;
  preferences: Record<string, PreferenceRecord[]>;
  log: string[];
  complete: boolean;
}

export class PipelineSession {
  /** Datasets this session is running the loop on now (their run lock is this tab's). */
  #running = new Set<string>();

  constructor(
    private readonly store: () => Promise<Store>,
    private readonly retrievers: RetrieverSession,
    private readonly llms: LlmSession,
    private readonly llmSide: LlmSideFactory,
    /** Web Locks: one run per dataset across tabs (run-lock.ts); tests pass a fake. */
    private readonly locks: LockManagerLike | undefined = lockManager(),
  ) {}

  /** The config a run with these arguments uses (the key of its stored state); `trainNames`: the datasets of args.trainDatasetIds. */
  config(args: Pick<PipelineRunArgs, 'encoder' | 'llm' | 'config'>, datasetName: string, trainNames: string[] = []): ExperimentConfig {
    const enc = this.retrievers.source(args.encoder).summary;
    const llm = args.llm ? this.llms.get(args.llm).summary : null;
    const over = args.config as Record<string, Record<string, unknown>>;
    const c = experimentConfig({
      ...args.config,
      data: datasetName,
      trainData: trainNames,
      encoder: { ...over.encoder, model: enc.name },
      llm: { chat: llm?.chat ?? false, ...over.llm, model: llm?.name ?? '' },
    });
    if (!llm) c.settings = c.settings.filter((s) => ['BM25', 'Raw', 'FT'].includes(s));
    return c;
  }

  /** Runs the loop holding the dataset's run lock: a run going on in another tab is refused, never restarted. */
  async run(args: PipelineRunArgs, work: WorkOptions & { onEvent?: (e: PipelineEvent) => void }): Promise<PipelineSnapshot> {
    return withRunLock(pipelineRunKey(args.datasetId), 'The ExpandR run on this dataset', this.locks, async () => {
      this.#running.add(args.datasetId);
      try {
        return await this.#run(args, work);
      } finally {
        this.#running.delete(args.datasetId);
      }
    });
  }

  async #run(args: PipelineRunArgs, work: WorkOptions & { onEvent?: (e: PipelineEvent) => void }): Promise<PipelineSnapshot> {
    const store = await this.store();
    const info = await store.getDataset(args.datasetId);
    if (!info) throw new ExpandrError('The dataset is no longer stored: import it again.');
    const trainInfos = await Promise.all((args.trainDatasetIds ?? []).map((id) => store.getDataset(id)));
    if (trainInfos.some((t) => !t)) throw new ExpandrError('A dataset chosen to train on is no longer stored: import it again, or choose another.');
    const full = this.config(args, info.name, trainInfos.map((t) => t!.name));
    // The run these inputs make (same content: the same run, resumed; else a new one beside the others).
    const manifest = pageRunManifest(info, this.retrievers.source(args.encoder).summary, args.llm ? this.llms.get(args.llm).summary : null, full, trainInfos.map((t) => t!));
    const runId = await openRunFor(store, args.datasetId, manifest);
    if (args.fresh) await deleteRunArtifacts(store, args.datasetId, runId, { keepManifest: true });
    const prefix = runPrefix(runId);
    const stored = artifactRunStore(store, args.datasetId, prefix);
    const earlier = (await store.getArtifact<EarlierWork>(args.datasetId, `${prefix}/${EARLIER_WORK}`)) ?? {};
    let running: { stage: string; at: number } | null = null;
    // Each save of the state ends a stage: the page gets the stages so far with their log as it is stored.
    const runStore: RunStore = {
      ...stored,
      saveState: async (state) => {
        await stored.saveState(state);
        running = null;
        work.onEvent?.({ kind: 'stages', finished: Object.keys(state.stages), stageLog: stageLog(state, earlier) });
      },
    };
    const stages = await RunStages.open(runStore, full);
    stages.onStart = (stage) => {
      running = { stage, at: Date.now() };
      work.onEvent?.({ kind: 'stageStart', stage, at: running.at });
    };
    const old = await store.getArtifact<StoredSnapshot>(args.datasetId, `${prefix}/snapshot`);
    const log = old?.configKey === configKey(full) ? [...old.log] : [];
    const say = (text: string) => {
      log.push(`${new Date().toISOString().slice(11, 19)} ${text}`);
      if (log.length > LOG_LIMIT) log.splice(0, log.length - LOG_LIMIT);
      work.onEvent?.({ kind: 'log', text, at: Date.now() });
      work.onEvent?.({ kind: 'stages', finished: stages.finished });
    };
    // Training steps' figures (and rewards) go to the page as they happen, for its live curves.
    const onEvent = work.onEvent;
    if (onEvent) work = { ...work, onMetrics: (point) => onEvent({ kind: 'metric', point }) };
    // A step runs the loop for its rows only; the state key stays the full config's, so steps add up.
    const config: ExperimentConfig = { ...full, settings: full.settings.filter((s) => STEP_ROWS[args.step].includes(s)) };
    const data = await datasetFromStore(store, args.datasetId, work);
    const trainData = await Promise.all((args.trainDatasetIds ?? []).map((id) => (id === args.datasetId ? data : datasetFromStore(store, id, work))));
    const base = this.retrievers.source(args.encoder);
    const llm = args.llm ? this.llms.get(args.llm) : null;
    // A stage stopped by a cancel or a failure: the time it ran is kept, and added when a later run finishes it.
    const keepEarlierWork = async () => {
      if (running) await store.putArtifact(args.datasetId, `${prefix}/${EARLIER_WORK}`, withEarlierWork(earlier, running.stage, running.at, Date.now()));
    };
    const outcome = await runExperiment(
      {
        config,
        data,
        trainData,
        store: runStore,
        stages,
        encoders: { baseFiles: base.files, load: (files) => loadEncoderFor(files, base) },
        work,
        log: say,
        corpus: new Map(),
        // The base encoder's embeddings of this dataset are the ones the page's dense evaluation and run
        // import store (same key as theirs, as the CLI shares `eval`'s): a corpus encoded there is not encoded again.
        corpusSink: (name, corpus) =>
          name === 'base' && corpus.checksum === data.checksum
            ? new StoreChunkStore(store, args.datasetId, embeddingCacheKey({ modelHash: base.summary.modelHash, corpusChecksum: corpus.checksum, settings: base.summary.settings, chunkSize: DEFAULT_CHUNK_SIZE }))
            : new MemoryChunkStore(),
      },
      llm ? this.llmSide(llm, config, { store, datasetId: args.datasetId, work, baseEngine: args.baseEngine }) : null,
    ).catch(async (e: unknown) => {
      await keepEarlierWork();
      throw e;
    });
    say(`done: ${outcome.results.rows.length} rows${outcome.reusedStages.length ? ` (${outcome.reusedStages.length} stages reused)` : ''}`);
    const complete = full.settings.every((s) => outcome.results.rows.some((r) => r.setting === s));
    const snap: StoredSnapshot = {
      configKey: configKey(full),
      config: full,
      results: outcome.results,
      figures: figuresOf(outcome, data, full.split, full.seed),
      preferences: outcome.preferences,
      log,
      complete,
    };
    await store.putArtifact(args.datasetId, `${prefix}/snapshot`, snap);
    await touchRun(store, args.datasetId, runId);
    return this.#snapshot(store, args.datasetId, snap, prefix);
  }

  /** What is stored of the dataset's run (after a reload or a closed tab): the last snapshot, or the rows evaluated so far. */
  async state(datasetId: string): Promise<PipelineSnapshot | null> {
    const store = await this.store();
    const prefix = await openPrefix(store, datasetId);
    const snap = await store.getArtifact<StoredSnapshot>(datasetId, `${prefix}/snapshot`);
    const state = await store.getArtifact<RunState>(datasetId, `${prefix}/state`);
    const elsewhere = !this.#running.has(datasetId) && (await runLockHeld(pipelineRunKey(datasetId), this.locks));
    if (!snap && !state && !elsewhere) return null;
    return { ...(await this.#snapshot(store, datasetId, snap ?? null, prefix)), runningElsewhere: elsewhere };
  }

  /** The open run's analysis (run-analysis.ts): the runner's `expandr analyze` report of what is stored so far. */
  async analysis(datasetId: string): Promise<RunAnalysisReport> {
    const store = await this.store();
    const prefix = await openPrefix(store, datasetId);
    const snap = await store.getArtifact<StoredSnapshot>(datasetId, `${prefix}/snapshot`);
    return analyzeStoredRun(store, datasetId, prefix, snap?.config ?? null);
  }

  /** Forgets what the dataset's open run made (it starts afresh; other runs stay); refused while a run on it goes on (here or in another tab). */
  async reset(datasetId: string): Promise<void> {
    await withRunLock(pipelineRunKey(datasetId), 'The ExpandR run on this dataset', this.locks, () => this.#reset(datasetId));
  }

  async #reset(datasetId: string): Promise<void> {
    const store = await this.store();
    const id = await currentRunId(store, datasetId);
    if (id) await deleteRunArtifacts(store, datasetId, id, { keepManifest: true });
  }

  /** A file set or the results as bytes; `{ kind: 'gguf' }` as a Blob (export-gguf.ts), with progress and cancel from `work`. */
  download(datasetId: string, what: Exclude<PipelineDownload, { kind: 'gguf' }>): Promise<PipelineFile & { bytes: Uint8Array }>;
  download(datasetId: string, what: PipelineDownload, work?: WorkOptions): Promise<PipelineFile>;
  async download(datasetId: string, what: PipelineDownload, work: WorkOptions = {}): Promise<PipelineFile> {
    const store = await this.store();
    const prefix = await openPrefix(store, datasetId);
    if (what.kind === 'gguf') {
      if (!what.name.startsWith('adapters/')) throw new ExpandrError(`"${what.name}" is not a LoRA adapter of the run: only adapters/NAME can be merged into the GGUF.`);
      const files = await artifactRunStore(store, datasetId, prefix).getFiles(what.name);
      if (!files) throw new ExpandrError(`The run has no "${what.name}" (yet): run the Train step first.`);
      const llm = this.llms.get(what.llm);
      const blob = await exportAdapterAsGguf(llm, files, { ...work, label: what.name });
      return { name: ggufExportName(llm.summary.name, what.name), type: GGUF_MIME, blob };
    }
    const info = await store.getDataset(datasetId);
    const stem = `expandr-${(info?.name ?? 'run').replace(/[^\w.-]+/g, '-')}`;
    if (what.kind === 'results') {
      const snap = await this.state(datasetId);
      if (!snap?.results) throw new ExpandrError('No results yet: run the Evaluate step first.');
      const text = what.format === 'json' ? JSON.stringify(resultsJson(snap.results), null, 2) : what.format === 'csv' ? resultsCsv(snap.results) : resultsMarkdown(snap.results, { config: snap.config ?? undefined });
      const type = { json: 'application/json', csv: 'text/csv', md: 'text/markdown' }[what.format];
      return { name: `${stem}-results.${what.format}`, type, bytes: new TextEncoder().encode(text) };
    }
    const files = await artifactRunStore(store, datasetId, prefix).getFiles(what.name);
    if (!files) throw new ExpandrError(`The run has no "${what.name}" (yet).`);
    const root = `${stem}-${what.name.replace(/[^\w.+-]+/g, '-')}`;
    // Expansions go out as their JSONL (what `eval --expansions` reads; generation.json's engine and precision
    // are in the results rows); a single text file (a TREC run) as itself; folders as zips.
    const jsonl = what.name.startsWith('expansions/') ? files.get('expansions.jsonl') : undefined;
    if (jsonl) return { name: `${root}.jsonl`, type: 'text/plain', bytes: jsonl };
    if (files.size === 1 && !what.name.startsWith('encoders/') && !what.name.startsWith('adapters/')) {
      const [[file, bytes]] = [...files];
      return { name: `${root}.${file.split('.').pop()}`, type: 'text/plain', bytes };
    }
    return { name: `${root}.zip`, type: 'application/zip', bytes: zipFolder(files, root) };
  }

  async #snapshot(store: Store, datasetId: string, snap: StoredSnapshot | null, prefix: string): Promise<PipelineSnapshot> {
    const FILES = `${prefix}/files/`;
    const state = await store.getArtifact<RunState>(datasetId, `${prefix}/state`);
    const finished = Object.keys(state?.stages ?? {});
    const timings = Object.fromEntries(Object.entries(state?.stages ?? {}).map(([k, v]) => [k, v.ms]));
    const files = (await store.listArtifacts(datasetId)).filter((k) => k.startsWith(FILES)).map((k) => k.slice(FILES.length)).sort();
    let results = snap?.results ?? null;
    // Rows evaluated since the last snapshot (a run stopped by a closed tab or a cancel): from the stages.
    // Seeded stages (eval:FT@seed7) are combined per setting, as the loop reports them (seeds.ts).
    const stored = Object.entries(state?.stages ?? {}).flatMap(([k, v]) => {
      const id = parseStageName(k);
      return id?.kind === 'eval' && id.round === undefined ? [{ seed: id.seed, eval: v.output as SettingEval }] : [];
    });
    const evals = combineStoredEvals(stored, snap?.config.seed ?? 0, snap?.config.seeds);
    if (evals.length > (results?.rows.length ?? 0)) {
      const info = await store.getDataset(datasetId);
      // With its config, everything the finished run would show of those stages (earlier rounds, variants, plain rows).
      results = snap?.config && state ? resultsFromState(info?.name ?? '', snap.config.split, state, snap.config) : buildResults(info?.name ?? '', snap?.config.split ?? 'test', evals, { seed: snap?.config.seed });
    }
    return {
      configKey: state?.configKey ?? snap?.configKey ?? '',
      config: snap?.config ?? null,
      finished,
      timings,
      results,
      figures: snap?.figures ?? null,
      preferences: snap?.preferences ?? {},
      log: snap?.log ?? [],
      stageLog: stageLog(state, (await store.getArtifact<EarlierWork>(datasetId, `${prefix}/${EARLIER_WORK}`)) ?? {}),
      files,
      complete: (snap?.complete ?? false) && snap?.configKey === state?.configKey,
      runningElsewhere: false,
    };
  }
}

/** The base encoder with the settings it was loaded with; an exported folder with its own sentence-transformers settings. */
function loadEncoderFor(files: ModelFiles, base: ReturnType<RetrieverSession['source']>) {
  return loadBertEncoder(files, files === base.files ? { settings: base.summary.settings } : {});
}

/** The stored dataset as the loop reads it (docs in store order, every split's qrels); progress in docs read. */
export async function datasetFromStore(store: Store, datasetId: string, work: WorkOptions = {}): Promise<BeirDataset> {
  const info = await store.getDataset(datasetId);
  if (!info) throw new ExpandrError('The dataset is no longer stored: import it again.');
  const docs: BeirDoc[] = [];
  const report = (text?: string) => work.onProgress?.({ stage: 'pipeline:data', done: docs.length, total: info.counts.docs, unit: 'docs', text });
  report(`reading ${info.name}`);
  for await (const batch of store.iterateDocs(datasetId, 2000)) {
    docs.push(...batch);
    report(`reading ${info.name}`);
    throwIfAborted(work.signal, 'Reading the dataset');
  }
  const queries = new Map((await store.getQueries(datasetId)).map((q) => [q.id, q]));
  const qrels = new Map(await Promise.all(Object.keys(info.splits).map(async (s) => [s, await store.getQrels(datasetId, s)] as const)));
  return { name: info.name, docs, queries, qrels, splits: info.splits, warnings: [], checksum: info.checksum, fileSha256: info.fileSha256 };
}
