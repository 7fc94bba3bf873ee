// What the page and the worker exchange about the runs kept side by side (src/app/run-list.ts): plain
// types only, so protocol.ts and the page import them without the code behind them.
import type { CaseRow, RunComparison } from '../eval/compare-runs.ts';

export interface RunListEntry {
  datasetId: string;
  datasetName: string;
  /** Datasets the run trained on besides its own (config.trainData), by name. */
  trainDatasets: string[];
  /** The run's id in this dataset: its content key ('run-<hex>'), or 'experiment' for a run stored before keys. */
  id: string;
  /** The key's first hex digits, or '' for the legacy run. */
  short: string;
  name: string;
  /** 'encoder all-MiniLM-L6-v2, llm SmolLM2 (unpinned: main)'. */
  models: string;
  configSummary: string;
  /** Settings evaluated so far, and those the run's config asks for. */
  done: string[];
  /** What the compare view may pick of this run: `done`, ExpandR after earlier rounds, each seed of a seeded row (run-record.ts comparableSettings). */
  comparable: string[];
  settings: string[];
  /** 'complete' when every configured setting is evaluated, else 'stopped' (the page marks the one it is running); 'imported': a file brought in (run-import.ts). */
  status: 'complete' | 'stopped' | 'imported';
  /** For an imported run: the file and how it was scored. */
  imported?: string;
  /** The run's config as overrides of the defaults (the page's config JSON, for "duplicate and edit"); null for imported runs and runs without a config. */
  overrides: Record<string, unknown> | null;
  createdAt: string;
  updatedAt: string;
  /** The run the pipeline shows for this dataset. */
  current: boolean;
}

/** One side of a comparison: a setting of a run of a dataset. */
export interface RunSettingRef {
  datasetId: string;
  run: string;
  setting: string;
}

export interface RunCompareResult {
  /** The comparison with `diffs` cut to the `top` most moved (all when top is 0); `shared` still counts every pair. */
  comparison: RunComparison;
  /** Case rows, each with both sides' per-query nDCG@10 (whatever metric was compared). */
  cases: (CaseRow & { ndcg: { a?: number; b?: number } })[];
  /** Things a reader should know about the pairing (other datasets, other dataset content). */
  notes: string[];
}
