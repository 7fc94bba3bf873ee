// The typed message protocol between the UI thread and the core worker.
// Every request carries an `id`; the worker answers with any number of `progress` messages and then
// exactly one `result` or `error` for that id. `cancel` aborts the request whose id it names.
import type { DatasetInfo } from '../store/types.ts';
import type { StoreNotice } from '../store/store.ts';
import type { Bm25EvalResult } from '../retrieval/bm25/evaluate.ts';
import type { DenseEvalResult } from '../retrieval/dense/evaluate.ts';
import type { EmbeddingPrecision } from '../retrieval/dense/precision.ts';
import type { MarkedTest } from '../eval/significance-marks.ts';
import type { LossPoint } from '../train/checkpoint.ts';
import type { RetrieverTrainSettings } from '../train/settings.ts';
import type { LlmTry } from './llm-session.ts';
import type { DroppedFile, EncoderSource, EncoderSummary, LlmSource, LlmSummary, PipelineDownload, PipelineEvent, PipelineFile, PipelineRunArgs, PipelineSnapshot, TrainResult } from './session-types.ts';

import type { RunCompareResult, RunListEntry, RunSettingRef } from './run-types.ts';
import type { ImportResult } from './run-import.ts';
import type { RunExportParts } from './run-export.ts';
import type { RunAnalysisReport } from './run-analysis.ts';
export type { DroppedFile } from './session-types.ts';


/** One paired permutation test of this evaluation against another setting on one metric, with its reading (direction, mark). */
export interface SignificanceTest extends MarkedTest {
  /** What it was tested against (the Raw encoder's name, or 'BM25'). */
  against: string;
}

/**
 * Significance of a dense evaluation per baseline, then per metric: FT vs the encoder it was trained from
 * (Raw: † better, ▼Raw worse) and vs the split's last BM25 run (BM25: § better, ▼BM25 worse), when those
 * were evaluated on the same split. Marks: cellMarks in src/eval/significance-marks.ts.
 */
export type DenseSignificance = Partial<Record<'Raw' | 'BM25', Record<string, SignificanceTest>>>;

/** Request payloads and the result each one resolves to. */
export interface Calls {
  import: { args: { files: DroppedFile[]; name?: string }; result: { dataset: DatasetInfo; warnings: string[] } };
  list: { args: Record<string, never>; result: DatasetInfo[] };
  delete: { args: { datasetId: string }; result: null };
  rename: { args: { datasetId: string; name: string }; result: DatasetInfo };
  bm25: { args: { datasetId: string; split: string; k?: number }; result: Bm25EvalResult };
  run: { args: { datasetId: string; split: string; retriever?: 'bm25' | 'dense' }; result: string | null };
  'encoder:load': { args: { source: EncoderSource }; result: EncoderSummary };
  /** The encoder loaded last (on this or an earlier page), loaded again from IndexedDB; null when none is kept. */
  'encoder:restore': { args: Record<string, never>; result: EncoderSummary | null };
  'encoder:cached': { args: Record<string, never>; result: { source: string; revision: string; name: string }[] };
  'encoder:export': { args: { handle: string }; result: { name: string; zip: Uint8Array } };
  /** significance: paired permutation tests (nDCG@10, Recall@100) of FT vs its Raw encoder and of Raw and FT vs the split's last BM25 run. */
  /** precision: how the corpus embeddings are stored (f32 default; f16, int8: less memory, retrieval/dense/precision.ts). */
  dense: { args: { datasetId: string; split: string; handle: string; precision?: EmbeddingPrecision }; result: DenseEvalResult & { encoder: EncoderSummary; significance: DenseSignificance } };
  train: {
    args: { datasetId: string; split: string; handle: string; settings: Partial<RetrieverTrainSettings> };
    result: TrainResult;
  };
  backend: { args: Record<string, never>; result: { backend: string; webgpu: boolean } };
  /** A decoder for the pipeline: a dropped folder (HF or llama2.c) or .gguf for tfjs, or a WebLLM preset. */
  'llm:load': { args: { source: LlmSource }; result: LlmSummary };
  /** The LLM loaded last (on this or an earlier page), loaded again from IndexedDB; null when none is kept. */
  'llm:restore': { args: Record<string, never>; result: LlmSummary | null };
  /** A greedy Q2D expansion of one query on a loaded tfjs decoder (the LLM panel's quick check). */
  'llm:try': { args: { handle: string; query: string; maxTokens: number }; result: LlmTry };
  /** What an earlier (or this) page stored of the ExpandR run on a dataset: it survives a closed tab. */
  'pipeline:state': { args: { datasetId: string }; result: PipelineSnapshot | null };
  /** Runs the loop up to a step (stages already finished are reused); streams progress and events. */
  'pipeline:run': { args: PipelineRunArgs; result: PipelineSnapshot };
  /** Forgets the stored run of a dataset (the next run starts afresh). */
  'pipeline:reset': { args: { datasetId: string }; result: null };
  'pipeline:analysis': { args: { datasetId: string }; result: RunAnalysisReport };
  /** A file of the stored run as a download: an encoder or adapter zip, expansions JSONL, run files, results, an adapter merged into the GGUF LLM (with progress). */
  'pipeline:download': { args: { datasetId: string; what: PipelineDownload }; result: PipelineFile };
  /** The runs kept in this browser, of one dataset or all, newest first (src/app/run-list.ts). */
  'runs:list': { args: { datasetId?: string }; result: RunListEntry[] };
  /** Makes a run the one the pipeline shows and continues for its dataset; returns its stored state. */
  'runs:open': { args: { datasetId: string; run: string }; result: PipelineSnapshot | null };
  'runs:rename': { args: { datasetId: string; run: string; name: string }; result: null };
  'runs:delete': { args: { datasetId: string; run: string }; result: null };
  /** Setting B of one run against setting A of another: paired test, per-query differences (top N), case rows. */
  'runs:compare': { args: { a: RunSettingRef; b: RunSettingRef; metric: string; top: number; cases: number }; result: RunCompareResult };
  /** A TREC run or expansions JSONL evaluated on a dataset's split and kept as a run (run-import.ts); `encoder`: a handle scores expansions as Raw+expansion, none as BM25. */
  'runs:import': { args: { datasetId: string; split: string; file: string; text: string; encoder?: string | null }; result: ImportResult };
  /** What a run's zip holds from the store (run-export-collect.ts); the page adds the figures and zips it (run-export.ts). */
  'runs:export': { args: { datasetId: string; run: string; checkpoints: boolean }; result: RunExportParts };
  /** The Hugging Face token for Hub downloads of gated models, held in the worker's memory only (null: forget it). */
  'hub:token': { args: { token: string | null }; result: null };
}
export type CallType = keyof Calls;

export type Request =
  | { [T in CallType]: { type: T; id: number; args: Calls[T]['args'] } }[CallType]
  | { type: 'cancel'; id: number; target: number };

export type Response =
  | { type: 'progress'; id: number; stage: string; done: number; total: number; unit: string; text?: string }
  | { type: 'step'; id: number; point: LossPoint }
  | { type: 'event'; id: number; event: PipelineEvent }
  | { type: 'result'; id: number; result: unknown }
  | { type: 'error'; id: number; name: string; message: string }
  /** Not an answer to a request (id 0): the storage connection's state (another tab's upgrade, a blocked one). */
  | { type: 'notice'; id: 0; notice: StoreNotice };
