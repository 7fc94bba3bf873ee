// The page's runs kept side by side (src/app/run-list.ts in the worker): the list over every dataset,
// open / rename / delete, and the comparison of two settings of two runs. Opening hands back the run's
// stored state, which the pipeline view then shows.
import type { CoreClient } from './core-client.ts';
import type { RunCompareResult, RunListEntry, RunSettingRef } from '../app/run-types.ts';
import type { ImportResult } from '../app/run-import.ts';
import type { PipelineSnapshot } from '../app/session-types.ts';
import type { Task } from './task.ts';
import { downloadBytes } from './download.ts';

/** Per-query metrics every run stores (STANDARD_METRICS; listed here so the page bundle stays without the core). */
export const COMPARE_METRICS = ['ndcg@10', 'recall@100', 'mrr@10', 'map@100'] as const;
/** Rows of the per-query difference table (each moved one can open its case) and cases shown at once. */
export const COMPARE_TOP = 20;
export const COMPARE_CASES = 5;

export class RunsState {
  runs = $state<RunListEntry[]>([]);
  error = $state<string | null>(null);
  comparison = $state<RunCompareResult | null>(null);
  comparing = $state(false);
  /** A file being imported (evaluated in the worker), and the last import's outcome. */
  importTask = $state<Task | null>(null);
  imported = $state<ImportResult | null>(null);
  importError = $state<string | null>(null);
  /** The run whose zip is being made ('DATASET/RUN'), and what went wrong last. */
  exporting = $state<string | null>(null);
  exportError = $state<string | null>(null);

  constructor(private readonly client: CoreClient) {}

  /**
   * Evaluates a TREC run or expansions JSONL on a dataset's split and keeps it as a run; `encoder` (a
   * handle) scores expansions as Raw+expansion, none as BM25 over query + expansion.
   */
  async importFile(file: File, datasetId: string, split: string, encoder: string | null): Promise<void> {
    this.importError = null;
    this.imported = null;
    let text: string;
    try {
      text = await file.text();
    } catch (e) {
      this.importError = `${file.name}: could not be read (${(e as Error).message}). Choose the file again.`;
      return;
    }
    const handle = this.client.call('runs:import', { datasetId, split, file: file.name, text, encoder }, (p) => this.importTask && (this.importTask.progress = p));
    this.importTask = { label: `Importing ${file.name}`, progress: null, startedAt: Date.now(), cancel: () => handle.cancel() };
    try {
      this.imported = await handle.promise;
      await this.refresh();
    } catch (e) {
      this.importError = (e as Error).message;
    } finally {
      this.importTask = null;
    }
  }

  /** Downloads run `r` as one zip (run-export.ts); checkpoints (encoders, adapters) only with `checkpoints`. */
  async exportZip(datasetId: string, run: string, checkpoints: boolean): Promise<void> {
    this.exportError = null;
    this.exporting = `${datasetId}/${run}`;
    try {
      const parts = await this.client.call('runs:export', { datasetId, run, checkpoints }).promise;
      // Loaded on first export: the zip writer (fflate) stays out of the page's main bundle.
      const { buildRunZip } = await import('./run-zip.ts');
      const { name, bytes } = await buildRunZip(parts);
      downloadBytes(bytes, name, 'application/zip');
    } catch (e) {
      this.exportError = (e as Error).message;
    } finally {
      this.exporting = null;
    }
  }

  /** Hands the Hugging Face token (or null: none) to the worker, which sends it with Hub downloads and stores it nowhere. */
  async setHubToken(token: string | null): Promise<void> {
    await this.client.call('hub:token', { token }).promise;
  }

  async refresh(): Promise<void> {
    await this.#try(async () => (this.runs = await this.client.call('runs:list', {}).promise));
  }

  /** Makes `r` its dataset's open run; resolves with its stored state (null when none could be read). */
  async open(r: RunListEntry): Promise<PipelineSnapshot | null> {
    let snap: PipelineSnapshot | null = null;
    await this.#try(async () => (snap = await this.client.call('runs:open', { datasetId: r.datasetId, run: r.id }).promise));
    await this.refresh();
    return snap;
  }

  async rename(r: RunListEntry, name: string): Promise<void> {
    await this.#try(() => this.client.call('runs:rename', { datasetId: r.datasetId, run: r.id, name }).promise);
    await this.refresh();
  }

  async remove(r: RunListEntry): Promise<void> {
    await this.#try(() => this.client.call('runs:delete', { datasetId: r.datasetId, run: r.id }).promise);
    if (this.comparison && [this.comparison.comparison.a, this.comparison.comparison.b].some((l) => l.startsWith(`${r.name}:`))) this.comparison = null;
    await this.refresh();
  }

  async compare(a: RunSettingRef, b: RunSettingRef, metric: string): Promise<void> {
    this.comparing = true;
    this.comparison = null;
    try {
      await this.#try(async () => (this.comparison = await this.client.call('runs:compare', { a, b, metric, top: COMPARE_TOP, cases: COMPARE_TOP }).promise));
    } finally {
      this.comparing = false;
    }
  }

  async #try(fn: () => Promise<unknown>): Promise<void> {
    this.error = null;
    try {
      await fn();
    } catch (e) {
      this.error = (e as Error).message;
    }
  }
}
