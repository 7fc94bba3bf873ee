// The ExpandR pipeline part of the page: the LLM the user loaded, the run of the chosen dataset (restored
// from IndexedDB on load, so a closed tab loses nothing finished), one running step at a time with
// progress and cancel, the log, and downloads of what the run made.
import type { RunAnalysisReport } from '../app/run-analysis.ts';
import type { CallHandle, CoreClient } from './core-client.ts';
import type { DroppedFile } from '../app/protocol.ts';
import type { LlmTry } from '../app/llm-session.ts';
import type { BaseEngine, LlmSummary, PipelineDownload, PipelineEvent, PipelineFile, PipelineSnapshot, PipelineStep } from '../app/session-types.ts';
import type { StageLogEntry } from '../pipeline/stage-log.ts';
import { addLivePoint, type LiveCurve } from './live-curves.ts';
// From the stage table itself, not pipeline-session.ts: that one would pull the core (tfjs) into the page's bundle.
import { stepOfStage } from '../pipeline/stages.ts';
import type { Task } from './task.ts';
import { downloadBlob, downloadBytes } from './download.ts';
import { QUICK_CONFIG } from './experiment-form-presets.ts';

export type StepName = 'data' | 'models' | 'expand' | 'train' | 'evaluate' | 'export';
export const STEPS: readonly { id: StepName; title: string }[] = [
  { id: 'data', title: 'Data' },
  { id: 'models', title: 'Models' },
  { id: 'expand', title: 'Expand' },
  { id: 'train', title: 'Train' },
  { id: 'evaluate', title: 'Evaluate' },
  { id: 'export', title: 'Export' },
];

// The form's quick look (experiment-form-presets.ts) is the first configuration; the paper's defaults are one click away.
export { QUICK_CONFIG };
/** How a run refused for the form's refused values begins its error (the form clears it once they are fixed). */
export const REFUSED_PREFIX = 'The experiment form refuses';

/** How often the page re-reads the stored state of a run going on in another tab. */
const FOLLOW_MS = 2000;

export class PipelineState {
  llms = $state<LlmSummary[]>([]);
  llm = $state<string | null>(null);
  /** Where a WebLLM preset's base model generates in the pipeline (PipelineRunArgs.baseEngine): 'tfjs' keeps rows comparable. */
  baseEngine = $state<BaseEngine>('tfjs');
  encoder = $state<string | null>(null);
  datasetId = $state<string | null>(null);
  /** Stored datasets to train on (TrainSourcePicker); []: the test dataset's own train split. */
  trainDatasetIds = $state<string[]>([]);
  configText = $state(JSON.stringify(QUICK_CONFIG, null, 2));
  /** Values the experiment form refused (field: why), set by the form: a run waits until they are fixed. */
  configRefused = $state<string[]>([]);
  snapshot = $state<PipelineSnapshot | null>(null);
  task = $state<(Task & { step: PipelineStep | 'llm' | 'export' }) | null>(null);
  liveLog = $state<string[]>([]);
  liveFinished = $state<string[]>([]);
  /** The running run's curves as they are streamed (training steps, rewards); kept after it ends until the next run. */
  liveCurves = $state<LiveCurve[]>([]);
  /** The running run's log of finished stages (start, end, duration, key figure), as stored after each stage. */
  liveStageLog = $state<StageLogEntry[]>([]);
  /** The stage running now and when it started (null between stages and when no run goes on). */
  liveStage = $state<{ stage: string; at: number } | null>(null);
  error = $state<string | null>(null);
  /** The last LLM load or try that failed, shown in the LLM panel. */
  llmError = $state<string | null>(null);
  /** The last tuned-model GGUF export that failed, shown in the Export step. */
  exportError = $state<string | null>(null);
  /** The LLM panel's last "Try the Q2D prompt" result. */
  llmTry = $state<(LlmTry & { query: string; llm: string }) | null>(null);

  constructor(private readonly client: CoreClient) {}

  /** Finished loop stages of one page step (live while running). */
  stagesOf(step: 'expand' | 'train' | 'evaluate'): string[] {
    const done = this.task ? this.liveFinished : (this.snapshot?.finished ?? []);
    return done.filter((s) => stepOfStage(s) === step);
  }

  async loadLlmFiles(files: DroppedFile[]) {
    if (files.length === 0) return;
    // A .gguf is checksummed and stored in chunks after loading (bytes in the progress bar).
    const gguf = files.find((f) => f.path.toLowerCase().endsWith('.gguf'));
    const label = gguf ? `Loading ${gguf.path.split('/').pop()} and keeping it in this browser` : 'Loading the dropped LLM';
    await this.#run('llm', label, this.client.call('llm:load', { source: { kind: 'files', files } }, this.#progress), (s) => this.#addLlm(s));
    this.llmError = this.error;
  }

  /** A greedy Q2D expansion of `query` on the selected LLM (tfjs decoders), shown in the LLM panel. */
  async tryLlm(query: string, maxTokens: number) {
    const handle = this.llm;
    if (!handle || !query.trim()) return;
    const call = this.client.call('llm:try', { handle, query: query.trim(), maxTokens }, this.#progress);
    await this.#run('llm', 'Trying the Q2D prompt', call, (r) => (this.llmTry = { ...r, query: query.trim(), llm: handle }));
    this.llmError = this.error;
  }

  async loadWebLlm(preset: string) {
    await this.#run('llm', `Selecting ${preset}`, this.client.call('llm:load', { source: { kind: 'webllm', preset } }, this.#progress), (s) => this.#addLlm(s));
  }

  /**
   * The LLM loaded last (on this or an earlier page) loaded again from IndexedDB, so a stored run continues
   * without dropping its folder again; once per page (run() waits for it).
   */
  restoreLlm(): Promise<void> {
    return (this.#llmRestore ??= (async () => {
      const handle = this.client.call('llm:restore', {}, this.#progress);
      // Shown as a task unless one runs already (a folder dropped meanwhile keeps its own).
      let mine: typeof this.task = null;
      if (!this.task) {
        this.task = { step: 'llm', label: 'Loading the LLM kept from the last session', progress: null, startedAt: performance.now(), cancel: handle.cancel };
        mine = this.task; // the state proxy, which is what this.task reads back
      }
      try {
        const s = await handle.promise;
        if (s && !this.llms.some((l) => l.handle === s.handle)) this.#addLlm(s);
      } catch (e) {
        const err = e as Error;
        if (err.name !== 'CancelledError') this.error = this.llmError = `The LLM of the last session could not be loaded again: ${err.message}`;
      } finally {
        if (mine && this.task === mine) this.task = null;
      }
    })());
  }
  #llmRestore: Promise<void> | undefined;

  async restore(datasetId: string) {
    this.datasetId = datasetId;
    clearTimeout(this.#follow);
    try {
      this.snapshot = await this.client.call('pipeline:state', { datasetId }).promise;
    } catch (e) {
      this.error = (e as Error).message;
    }
    // A run in another tab: follow what it stores until it ends (its lock goes when it ends or the tab closes).
    if (this.snapshot?.runningElsewhere && !this.task) this.#follow = setTimeout(() => this.datasetId === datasetId && void this.restore(datasetId), FOLLOW_MS);
  }
  #follow: ReturnType<typeof setTimeout> | undefined;

  async run(step: PipelineStep, opts: { fresh?: boolean } = {}) {
    if (this.#llmRestore && !this.llm) await this.#llmRestore;
    if (!this.datasetId || !this.encoder) {
      this.error = 'Pick a dataset and load an encoder first (steps Data and Models).';
      return;
    }
    if (this.configRefused.length) {
      this.error = `${REFUSED_PREFIX} ${this.configRefused.join('; ')}. Fix or clear these fields first (the JSON keeps the last accepted values).`;
      return;
    }
    let config: Record<string, unknown>;
    try {
      config = JSON.parse(this.configText || '{}');
    } catch (e) {
      this.error = `The configuration is not valid JSON: ${(e as Error).message}`;
      return;
    }
    this.liveLog = [];
    this.liveFinished = this.snapshot?.finished ?? [];
    this.liveCurves = [];
    this.liveStageLog = this.snapshot?.stageLog ?? [];
    this.liveStage = null;
    const args = { datasetId: this.datasetId, trainDatasetIds: [...this.trainDatasetIds], encoder: this.encoder, llm: this.llm, config, step, fresh: opts.fresh, baseEngine: this.baseEngine };
    const handle = this.client.call('pipeline:run', args, this.#progress, undefined, (e) => this.onEvent(e));
    const label = step === 'all' ? 'Run all' : `Step ${step}`;
    await this.#run(step, label, handle, (s) => (this.snapshot = s));
    // Cancelled or failed: show what is stored (the finished stages survive).
    if (this.datasetId && !this.task) await this.restore(this.datasetId);
  }

  /** What a running run streams: log lines, finished stages and their log, curve points. */
  onEvent(e: PipelineEvent) {
    if (e.kind === 'log') this.liveLog = [...this.liveLog.slice(-199), e.text];
    else if (e.kind === 'metric') addLivePoint(this.liveCurves, e.point);
    else if (e.kind === 'stageStart') this.liveStage = { stage: e.stage, at: e.at };
    else {
      this.liveFinished = e.finished;
      if (e.stageLog) this.liveStageLog = e.stageLog;
      if (this.liveStage && e.finished.includes(this.liveStage.stage)) this.liveStage = null;
    }
  }

  async reset() {
    if (!this.datasetId) return;
    await this.client.call('pipeline:reset', { datasetId: this.datasetId }).promise;
    this.snapshot = null;
  }

  /** The open run's analysis (the report `expandr analyze` writes); throws with the worker's message. */
  async analysis(): Promise<RunAnalysisReport> {
    if (!this.datasetId) throw new Error('Choose a dataset first.');
    return this.client.call('pipeline:analysis', { datasetId: this.datasetId }).promise;
  }

  async download(what: PipelineDownload) {
    if (!this.datasetId) return;
    const save = (f: PipelineFile) => ('blob' in f ? downloadBlob(f.blob, f.name) : downloadBytes(f.bytes, f.name, f.type));
    if (what.kind === 'gguf') {
      // Writing a model takes a while (the whole base file is read): a task with progress and cancel.
      const call = this.client.call('pipeline:download', { datasetId: this.datasetId, what }, this.#progress);
      await this.#run('export', `Writing ${what.name.replace(/^adapters\//, '')} merged into the model as GGUF`, call, save);
      if (this.error?.startsWith('Cancelled')) this.error = 'Export cancelled: nothing was downloaded.'; // #run's text is about run steps
      this.exportError = this.error;
      return;
    }
    try {
      save(await this.client.call('pipeline:download', { datasetId: this.datasetId, what }).promise);
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  #addLlm(s: LlmSummary) {
    this.llms = [...this.llms, s];
    this.llm = s.handle;
  }

  #progress = (p: Task['progress']) => {
    if (this.task) this.task.progress = p;
  };

  async #run<T>(step: PipelineStep | 'llm' | 'export', label: string, handle: CallHandle<T>, done: (r: T) => void) {
    this.error = null;
    this.task = { step, label, progress: null, startedAt: performance.now(), cancel: handle.cancel };
    try {
      done(await handle.promise);
    } catch (e) {
      const err = e as Error;
      this.error = err.name === 'CancelledError' ? 'Cancelled: the finished stages are kept; run again to resume.' : err.message;
    } finally {
      this.task = null;
    }
  }
}
