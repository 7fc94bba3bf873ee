// The page's state and actions. Owns the core worker through CoreClient; components read the
// $state fields and call the methods. One long task of each kind at a time, each cancellable.
import { CoreClient, type CallHandle } from './core-client.ts';
import type { DroppedFile } from '../app/protocol.ts';
import type { DatasetInfo } from '../store/types.ts';
import type { StoreNotice } from '../store/store.ts';
import type { Bm25EvalResult } from '../retrieval/bm25/evaluate.ts';
import type { Task } from './task.ts';
import { RetrieverState } from './retriever-state.svelte.ts';
import { PipelineState } from './pipeline-state.svelte.ts';
import { RunsState } from './runs-state.svelte.ts';

export class AppState {
  datasets = $state<DatasetInfo[]>([]);
  importTask = $state<Task | null>(null);
  bm25Task = $state<Task | null>(null);
  results = $state<Bm25EvalResult | null>(null);
  message = $state<{ kind: 'error' | 'info' | 'warning'; text: string; details?: string[] } | null>(null);
  /** The storage connection's state when it is not plain: closed by another tab's upgrade, or an upgrade waiting. */
  storageNotice = $state<StoreNotice | null>(null);
  readonly #client: CoreClient;
  readonly retriever: RetrieverState;
  readonly pipeline: PipelineState;
  readonly runs: RunsState;

  constructor(worker: Worker) {
    this.#client = new CoreClient(worker);
    this.#client.onNotice = (n) => (this.storageNotice = n.kind === 'ready' ? null : n);
    this.retriever = new RetrieverState(this.#client);
    this.pipeline = new PipelineState(this.#client);
    this.runs = new RunsState(this.#client);
  }

  async refresh(): Promise<void> {
    this.datasets = await this.#client.call('list', {}).promise;
  }

  async importFiles(files: DroppedFile[]): Promise<void> {
    if (files.length === 0) return;
    const handle = this.#client.call('import', { files }, (p) => this.importTask && (this.importTask.progress = p));
    this.importTask = this.#task('Importing ' + commonName(files), handle);
    try {
      const { dataset, warnings } = await handle.promise;
      this.message = warnings.length
        ? { kind: 'warning', text: `Imported “${dataset.name}” with ${warnings.length} warning(s).`, details: warnings }
        : { kind: 'info', text: `Imported “${dataset.name}”: ${dataset.counts.docs.toLocaleString('en-US')} documents.` };
      await this.refresh();
    } catch (e) {
      this.#fail(e, 'No part of the dataset was stored.');
    } finally {
      this.importTask = null;
    }
  }

  async rename(dataset: DatasetInfo, name: string): Promise<void> {
    try {
      await this.#client.call('rename', { datasetId: dataset.id, name }).promise;
      await this.refresh();
    } catch (e) {
      this.#fail(e);
    }
  }

  async remove(dataset: DatasetInfo): Promise<void> {
    try {
      await this.#client.call('delete', { datasetId: dataset.id }).promise;
      if (this.results?.datasetId === dataset.id) this.results = null;
      await this.refresh();
    } catch (e) {
      this.#fail(e);
    }
  }

  async runBm25(dataset: DatasetInfo, split: string): Promise<void> {
    const handle = this.#client.call('bm25', { datasetId: dataset.id, split }, (p) => this.bm25Task && (this.bm25Task.progress = p));
    this.bm25Task = this.#task(`BM25 on ${dataset.name} (${split})`, handle);
    this.results = null;
    try {
      const r = await handle.promise;
      this.results = r;
      this.message = null;
      this.retriever.addBm25Row({ setting: 'BM25', model: `k1 ${r.params.k1}, b ${r.params.b}`, dataset: r.datasetName, split, metrics: r.metrics });
    } catch (e) {
      this.#fail(e);
    } finally {
      this.bm25Task = null;
    }
  }

  /** The TREC run file of the last BM25 evaluation, for download. */
  async runFile(datasetId: string, split: string): Promise<string | null> {
    return this.#client.call('run', { datasetId, split }).promise;
  }

  #task(label: string, handle: CallHandle<unknown>): Task {
    return { label, progress: null, startedAt: performance.now(), cancel: handle.cancel };
  }

  #fail(e: unknown, cancelNote = '') {
    const err = e as Error;
    if (err.name === 'CancelledError') this.message = { kind: 'info', text: `${err.message} ${cancelNote}`.trim() };
    else this.message = { kind: 'error', text: err.message };
  }
}

function commonName(files: DroppedFile[]): string {
  const first = files[0].path.split('/')[0];
  return files.length === 1 || files.every((f) => f.path.startsWith(first + '/')) ? first : `${files.length} files`;
}
