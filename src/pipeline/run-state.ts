// Persisted state of an experiment run, so that a killed run resumes where it stopped: which stages
// finished and their (JSON) outputs, plus file sets (encoder folders, PEFT adapters, run files) and the
// trainers' own checkpoints. Written against `RunStore`, with two implementations: a folder in the
// runner's --out (src/cli/run-folder.ts) and the dataset's artifacts in the app's Store (below).
import { ExpandrError } from '../errors.ts';
import { fnv1aHex } from '../util/fnv1a.ts';
import type { ArtifactStore } from '../train/checkpoint-sink.ts';
import { storeCheckpointSink, type CheckpointSink } from '../train/checkpoint.ts';
import { storeDpoCheckpointSink, type DpoCheckpointSink } from '../train/dpo-checkpoint.ts';
import { stageName, type StageId, type StageKind, type StageRecord as StageOutput } from './stages.ts';

export const RUN_STATE_FORMAT = 'expandr-run-state';
export const RUN_STATE_VERSION = 1;

export interface StageRecord {
  /** The stage's result as JSON (metrics, expansions, preference records …). */
  output: unknown;
  finishedAt: string;
  ms: number;
}

export interface RunState {
  format: typeof RUN_STATE_FORMAT;
  version: number;
  /** Fingerprint of the config that produced the stages: a run with another config must not reuse them. */
  configKey: string;
  stages: Record<string, StageRecord>;
}

/** Where a run keeps its state, file sets and trainer checkpoints. */
export interface RunStore {
  loadState(): Promise<RunState | undefined>;
  saveState(s: RunState): Promise<void>;
  /** A named set of files (path → bytes): an encoder folder, an adapter, a run file. */
  putFiles(name: string, files: ReadonlyMap<string, Uint8Array>): Promise<void>;
  getFiles(name: string): Promise<Map<string, Uint8Array> | undefined>;
  retrieverCheckpoints(name: string): CheckpointSink;
  dpoCheckpoints(name: string): DpoCheckpointSink;
  /** How the user discards this store's run, in the words of where it lives (a folder, the page). */
  readonly startAfresh: string;
}

/**
 * FNV-1a over the config's JSON (keys in insertion order: the config comes from experimentConfig()), without
 * `variants`: they only add stages of their own, named by their slug and settings (variantStageName) and read by
 * nothing else, so adding one to a running config resumes it.
 */
export function configKey(config: unknown): string {
  const keyed = config && typeof config === 'object' && 'variants' in config ? { ...(config as Record<string, unknown>), variants: undefined } : config;
  return fnv1aHex(JSON.stringify(keyed)).padStart(8, '0');
}

/** Runs each named stage once: a finished stage returns its stored output instead of running again. */
export class RunStages {
  private constructor(
    readonly store: RunStore,
    private state: RunState,
    /** Stages an earlier invocation finished, and which of them this one took over (reported at the end). */
    private readonly earlier = new Set(Object.keys(state.stages)),
    readonly reused: string[] = [],
  ) {}

  /** Told when a stage starts running (not when its output is taken from the state): the page shows what runs now. */
  onStart: ((stage: string) => void) | null = null;

  /** Opens the state for `config`: an earlier state of the same config resumes, another config is refused. */
  static async open(store: RunStore, config: unknown, opts: { fresh?: boolean } = {}): Promise<RunStages> {
    const key = configKey(config);
    const old = opts.fresh ? undefined : await store.loadState();
    if (old && (old.format !== RUN_STATE_FORMAT || old.version !== RUN_STATE_VERSION)) {
      throw new ExpandrError(`The run state in this store is ${String(old.format)} v${String(old.version)}, not ${RUN_STATE_FORMAT} v${RUN_STATE_VERSION}: ${store.startAfresh}.`);
    }
    if (old && old.configKey !== key) {
      throw new ExpandrError(`This run store already holds a run of another config (${old.configKey}, this one ${key}): ${store.startAfresh}.`);
    }
    const state: RunState = old ?? { format: RUN_STATE_FORMAT, version: RUN_STATE_VERSION, configKey: key, stages: {} };
    if (!old) await store.saveState(state);
    return new RunStages(store, state);
  }

  done(stage: StageId): boolean {
    return stageName(stage as StageId) in this.state.stages;
  }

  output<K extends StageKind>(stage: StageId<K>): StageOutput<K> | undefined {
    return this.state.stages[stageName(stage as StageId)]?.output as StageOutput<K> | undefined;
  }

  get finished(): string[] {
    return Object.keys(this.state.stages);
  }

  /** `fn`'s output, run now or taken from the state; the state is saved right after the stage ends. */
  async once<K extends StageKind>(stage: StageId<K>, fn: () => Promise<StageOutput<K>>): Promise<StageOutput<K>> {
    const name = stageName(stage as StageId);
    const rec = this.state.stages[name];
    if (rec) {
      if (this.earlier.has(name) && !this.reused.includes(name)) this.reused.push(name);
      return rec.output as StageOutput<K>;
    }
    this.onStart?.(name);
    const t0 = performance.now();
    const output = await fn();
    this.state.stages[name] = { output, finishedAt: new Date().toISOString(), ms: Math.round(performance.now() - t0) };
    await this.store.saveState(this.state);
    return output;
  }

  /** Milliseconds each finished stage took (the run that finished it). */
  timings(): Record<string, number> {
    return Object.fromEntries(Object.entries(this.state.stages).map(([k, v]) => [k, v.ms]));
  }
}

/** A run in memory (tests; a page that does not persist). `state` survives as long as the object. */
export function memoryRunStore(): RunStore & { files: Map<string, Map<string, Uint8Array>> } {
  let state: RunState | undefined;
  const files = new Map<string, Map<string, Uint8Array>>();
  const rc = new Map<string, CheckpointSink>();
  const dc = new Map<string, DpoCheckpointSink>();
  const mem = <C>() => {
    const saved: C[] = [];
    return { save: async (c: C) => void saved.push(c), latest: async () => saved[saved.length - 1] };
  };
  return {
    files,
    startAfresh: 'make a new memory run store',
    loadState: async () => (state ? structuredClone(state) : undefined),
    saveState: async (s) => void (state = structuredClone(s)),
    putFiles: async (name, f) => void files.set(name, new Map(f)),
    getFiles: async (name) => (files.has(name) ? new Map(files.get(name)!) : undefined),
    retrieverCheckpoints: (name) => rc.get(name) ?? (rc.set(name, mem()), rc.get(name)!),
    dpoCheckpoints: (name) => dc.get(name) ?? (dc.set(name, mem()), dc.get(name)!),
  };
}

/** The app's run store: everything as artifacts of the dataset under `prefix` (IndexedDB, structured clone). */
export function artifactRunStore(store: ArtifactStore, datasetId: string, prefix = 'experiment'): RunStore {
  return {
    startAfresh: 'press "Start afresh" to discard the stored run of this dataset',
    loadState: () => store.getArtifact<RunState>(datasetId, `${prefix}/state`),
    saveState: (s) => store.putArtifact(datasetId, `${prefix}/state`, s),
    putFiles: (name, files) => store.putArtifact(datasetId, `${prefix}/files/${name}`, Object.fromEntries(files)),
    getFiles: async (name) => {
      const o = await store.getArtifact<Record<string, Uint8Array>>(datasetId, `${prefix}/files/${name}`);
      return o ? new Map(Object.entries(o)) : undefined;
    },
    retrieverCheckpoints: (name) => storeCheckpointSink(store, datasetId, `${prefix}/checkpoints/${name}`),
    dpoCheckpoints: (name) => storeDpoCheckpointSink(store, datasetId, `${prefix}/checkpoints/${name}`),
  };
}
