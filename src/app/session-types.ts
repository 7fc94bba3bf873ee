// The data the page and the worker exchange about sessions (datasets dropped, encoders, LLMs, pipeline
// runs): plain types only, imported by the sessions and by protocol.ts, importing no session, so the
// app layer has no import cycle (docs/ARCHITECTURE.md).
import type { EncoderSettings } from '../encoder/types.ts';
import type { DecoderFormat } from '../llm/load.ts';
import type { ExperimentConfig } from '../pipeline/config.ts';
import type { FiguresData } from '../pipeline/figures-data.ts';
import type { ExperimentResults, PreferenceRecord } from '../pipeline/types.ts';
import type { LossPoint } from '../train/checkpoint.ts';
import type { StageLogEntry } from '../pipeline/stage-log.ts';
import type { MetricPoint } from '../util/progress.ts';

/** A file as the UI hands it over: its relative path inside what was dropped, and its bytes. */
export interface DroppedFile {
  path: string;
  file: Blob;
}

export interface EncoderSummary {
  handle: string;
  /** What the user sees: the Hub id, the folder name, or '<base> (FT)'. */
  name: string;
  source: 'hub' | 'dropped' | 'trained';
  modelHash: string;
  dim: number;
  settings: EncoderSettings;
  /** Where its files are kept in this browser ('hf:<id>' or 'local:<hash>'). */
  cacheKey: string;
  /** A Hub model's commit, which pins the run to it; absent when unknown. */
  hubCommit?: string;
  /** For a trained encoder: the handle of the encoder it started from. */
  trainedFrom?: string;
}

export type EncoderSource =
  | { kind: 'hub'; id: string; preset?: string }
  | { kind: 'files'; files: DroppedFile[]; preset?: string }
  | { kind: 'cached'; source: string; revision: string; preset?: string };

export interface TrainResult {
  encoder: EncoderSummary;
  lossCurve: LossPoint[];
  finalLoss: number;
  totalSteps: number;
}

/** A dropped folder, a WebLLM preset, or a decoder kept in this browser ('local:<hash>', from an earlier drop). */
export type LlmSource = { kind: 'files'; files: DroppedFile[] } | { kind: 'webllm'; preset: string } | { kind: 'cached'; source: string; revision: string };

export interface LlmSummary {
  handle: string;
  name: string;
  engine: 'tfjs' | 'webllm';
  format?: DecoderFormat;
  arch: string;
  layers: number;
  dim: number;
  vocab: number;
  /** Parameters (tfjs decoders: counted from the weights). */
  params?: number;
  /** WebLLM presets: prebuiltAppConfig's vram_required_MB. */
  vramMB?: number;
  /** Whether the tokenizer has a chat template (llama2.c models have none: prompts go in raw). */
  chat: boolean;
  /** Longest sequence (prompt + output) in tokens. */
  maxSeqLen: number;
  /** Where its files are kept in this browser ('local:<hash>'; 'webllm:<preset>' for a preset). */
  cacheKey?: string;
  /** Tokens of the Q2A prompt around an empty query and document, and characters per token of a sample passage. */
  q2aTokens?: number;
  charsPerToken?: number;
}

export type PipelineStep = 'expand' | 'train' | 'evaluate' | 'all';

/** The engine of a WebLLM preset's base-model generations in the pipeline (PipelineRunArgs.baseEngine). */
export type BaseEngine = 'tfjs' | 'webllm';

export interface PipelineRunArgs {
  datasetId: string;
  /** Handles from 'encoder:load' and 'llm:load' (null: no LLM, only BM25 / Raw / FT rows). */
  encoder: string;
  llm: string | null;
  /** Overrides of the experiment config (src/pipeline/config.ts); data/encoder/llm are filled in here. */
  config: Record<string, unknown>;
  /** Stored datasets to train on (config trainData; their train split minus dev); absent or []: `datasetId` itself. */
  trainDatasetIds?: string[];
  /**
   * Where a WebLLM preset's base model generates (Raw+expansion, w/o LLM training, the base candidates):
   * 'tfjs' (default) on the tfjs decoder that generates the tuned adapters' rows, so rows before and after
   * LLM training come from one engine and precision; 'webllm' faster and quantised, and the rows of the two
   * engines are flagged as not comparable. A dropped model runs on tfjs either way.
   */
  baseEngine?: BaseEngine;
  step: PipelineStep;
  /** Forget the stored run of this dataset first. */
  fresh?: boolean;
}

/**
 * What a pipeline run streams besides progress: log lines; the stages finished so far with the run's log of
 * them (after each stage); the stage that starts running; each training step's figures (and each query's
 * rewards) as they happen.
 */
export type PipelineEvent =
  | { kind: 'log'; text: string; at: number }
  | { kind: 'stages'; finished: string[]; stageLog?: StageLogEntry[] }
  | { kind: 'stageStart'; stage: string; at: number }
  | { kind: 'metric'; point: MetricPoint };

export interface PipelineSnapshot {
  configKey: string;
  config: ExperimentConfig | null;
  /** Loop stages finished, in order, and how long each took (ms). */
  finished: string[];
  timings: Record<string, number>;
  /** Rows evaluated so far (all of them after a complete run). */
  results: ExperimentResults | null;
  figures: FiguresData | null;
  preferences: Record<string, PreferenceRecord[]>;
  log: string[];
  /** Each finished stage's start, end, duration and key figure, from the stored run state (stage-log.ts). */
  stageLog: StageLogEntry[];
  /** File sets of the run: encoders/…, adapters/…, expansions/…, runs/… */
  files: string[];
  /** True when every row of the config is in `results`. */
  complete: boolean;
  /** A run on this dataset is going on in another tab of this app now (it cannot be started or reset here). */
  runningElsewhere: boolean;
}

/**
 * What the Export step downloads: a file set of the run, the results table, or an adapter of the run
 * ('adapters/NAME') merged into the loaded GGUF LLM `llm` (a handle) as a GGUF file.
 */
export type PipelineDownload =
  | { kind: 'files'; name: string }
  | { kind: 'results'; format: 'json' | 'csv' | 'md' }
  | { kind: 'gguf'; name: string; llm: string };

/** A download as the worker hands it over: small files as bytes; a model (GGUF) as a Blob, whose bytes stay out of the JS heap. */
export type PipelineFile = { name: string; type: string; bytes: Uint8Array } | { name: string; type: string; blob: Blob };
