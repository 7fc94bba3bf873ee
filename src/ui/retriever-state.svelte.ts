// The dense-retriever part of the page: loaded encoders, dense evaluation, training with a live loss
// curve, exports. Shares the worker client with AppState.
import type { CallHandle, CoreClient } from './core-client.ts';
import type { EmbeddingPrecision } from '../retrieval/dense/precision.ts';
import type { DenseSignificance, DroppedFile } from '../app/protocol.ts';
import type { EncoderSummary } from '../app/session-types.ts';
import type { DatasetInfo } from '../store/types.ts';
import type { LossPoint } from '../train/checkpoint.ts';
import type { RetrieverTrainSettings } from '../train/settings.ts';
import type { Task } from './task.ts';

/** One row of the results table: a setting evaluated on a dataset split. */
export interface ResultRow {
  setting: string;
  model: string;
  dataset: string;
  split: string;
  metrics: Record<string, number>;
  /** Dense rows: paired permutation tests vs Raw and vs BM25, computed in the worker (marks: src/eval/significance-marks.ts). */
  significance?: DenseSignificance;
  /** Dense rows: how they ranked (cosine when documents were unit vectors at search) and the encoding length, for comparability. */
  scoring?: 'dot' | 'cosine';
  maxLength?: number;
  /** Dense rows: how the corpus embeddings were stored (f32 unless asked otherwise). */
  precision?: EmbeddingPrecision;
}

export class RetrieverState {
  encoders = $state<EncoderSummary[]>([]);
  /** Models kept in this browser from earlier sessions (not loaded yet). */
  cached = $state<{ source: string; revision: string; name: string }[]>([]);
  task = $state<Task | null>(null);
  lossCurve = $state<LossPoint[]>([]);
  rows = $state<ResultRow[]>([]);
  backend = $state<string | null>(null);
  error = $state<string | null>(null);

  constructor(private readonly client: CoreClient) {}

  async refreshCached() {
    const all = await this.client.call('encoder:cached', {}).promise;
    this.cached = all.filter((c) => !this.encoders.some((e) => e.cacheKey === c.source));
  }

  /** The encoder loaded last (on this or an earlier page), loaded again from IndexedDB; once per page. */
  restoreLast(): Promise<void> {
    return (this.#restoring ??= (async () => {
      const handle = this.client.call('encoder:restore', {}, this.#progress);
      // Shown as a task unless one runs already (a folder dropped meanwhile keeps its own).
      let mine: typeof this.task = null;
      if (!this.task) {
        this.task = { label: 'Loading the encoder kept from the last session', progress: null, startedAt: performance.now(), cancel: handle.cancel };
        mine = this.task; // the state proxy, which is what this.task reads back
      }
      try {
        const e = await handle.promise;
        if (e && !this.encoders.some((x) => x.handle === e.handle)) this.#added(e);
      } catch (e) {
        const err = e as Error;
        if (err.name !== 'CancelledError') this.error = `The encoder of the last session could not be loaded again: ${err.message}`;
      } finally {
        if (mine && this.task === mine) this.task = null;
      }
    })());
  }
  #restoring: Promise<void> | undefined;

  async loadCached(c: { source: string; revision: string; name: string }) {
    await this.#run(`Loading ${c.name}`, this.client.call('encoder:load', { source: { kind: 'cached', source: c.source, revision: c.revision } }, this.#progress), (e) =>
      this.#added(e),
    );
  }

  async loadHub(id: string) {
    await this.#run(`Loading ${id}`, this.client.call('encoder:load', { source: { kind: 'hub', id } }, this.#progress), (e) => this.#added(e));
  }

  async loadFiles(files: DroppedFile[], preset?: string) {
    if (files.length === 0) return;
    await this.#run('Loading the dropped encoder', this.client.call('encoder:load', { source: { kind: 'files', files, preset } }, this.#progress), (e) =>
      this.#added(e),
    );
  }

  async evaluate(dataset: DatasetInfo, split: string, enc: EncoderSummary, precision: EmbeddingPrecision = 'f32') {
    await this.#run(`Encoding and evaluating ${enc.name} on ${dataset.name}`, this.client.call('dense', { datasetId: dataset.id, split, handle: enc.handle, precision }, this.#progress), (r) => {
      const scoring = r.params.normalizeDocs || enc.settings.normalize ? 'cosine' : 'dot';
      // A packed row is its own row (f32 and int8 side by side), named by its precision.
      const model = precision === 'f32' ? enc.name : `${enc.name} (${precision} embeddings)`;
      this.#row({ setting: enc.source === 'trained' ? 'FT' : 'Raw', model, dataset: dataset.name, split, metrics: r.metrics, significance: r.significance, scoring, maxLength: enc.settings.maxLength, precision });
    });
  }

  async train(dataset: DatasetInfo, split: string, enc: EncoderSummary, settings: Partial<RetrieverTrainSettings>) {
    this.lossCurve = [];
    const handle = this.client.call('train', { datasetId: dataset.id, split, handle: enc.handle, settings }, this.#progress, (p) => {
      this.lossCurve = [...this.lossCurve, p];
    });
    await this.#run(`Training ${enc.name} on ${dataset.name} (${split})`, handle, (r) => {
      this.lossCurve = r.lossCurve;
      this.#added(r.encoder);
    });
  }

  async download(enc: EncoderSummary) {
    const { name, zip } = await this.client.call('encoder:export', { handle: enc.handle }).promise;
    return { name: `${name}.zip`, blob: new Blob([zip as BlobPart], { type: 'application/zip' }) };
  }

  addBm25Row(row: ResultRow) {
    this.#row(row);
  }

  #row(row: ResultRow) {
    const same = (r: ResultRow) => r.setting === row.setting && r.model === row.model && r.dataset === row.dataset && r.split === row.split;
    this.rows = [...this.rows.filter((r) => !same(r)), row];
  }

  #added(e: EncoderSummary) {
    this.encoders = [...this.encoders, e];
    this.cached = this.cached.filter((c) => c.source !== e.cacheKey);
  }

  #progress = (p: Task['progress']) => {
    if (this.task) this.task.progress = p;
  };

  async #run<T>(label: string, handle: CallHandle<T>, done: (r: T) => void) {
    this.error = null;
    this.task = { label, progress: null, startedAt: performance.now(), cancel: handle.cancel };
    try {
      done(await handle.promise);
    } catch (e) {
      const err = e as Error;
      this.error = err.name === 'CancelledError' ? null : err.message;
    } finally {
      this.task = null;
    }
  }
}
