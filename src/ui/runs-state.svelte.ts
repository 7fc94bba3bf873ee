// The page's runs kept side by side (src/app/run-list.ts in the worker): the list over every dataset,
// open / rename / delete, and the comparison of two settings of two runs. Opening hands back the run's
// stored state, which the pipeline view then shows.
import type { CoreClient } from './core-client.ts';
import type { RunCompareResult, RunListEntry, RunSettingRef } from '../app/run-types.ts';
import type { PipelineSnapshot } from '../app/session-types.ts';

/** Per-query metrics every run stores (STANDARD_METRICS; listed here so the page bundle stays without the core). */
export const COMPARE_METRICS = ['ndcg@10', 'recall@100', 'mrr@10', 'map@100'] as const;
/** Rows of the per-query difference table and queries in the case view. */
export const COMPARE_TOP = 20;
export const COMPARE_CASES = 5;

export class RunsState {
  runs = $state<RunListEntry[]>([]);
  error = $state<string | null>(null);
  comparison = $state<RunCompareResult | null>(null);
  comparing = $state(false);

  constructor(private readonly client: CoreClient) {}

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
      await this.#try(async () => (this.comparison = await this.client.call('runs:compare', { a, b, metric, top: COMPARE_TOP, cases: COMPARE_CASES }).promise));
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
