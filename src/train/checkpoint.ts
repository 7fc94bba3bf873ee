// Training checkpoints (resumable state, not the exported model): weights, optimizer state, step, RNG
// state, settings and the loss curve, like nanoGPT's checkpoint dict. Written to an injectable sink:
// IndexedDB artifacts in the app (storeCheckpointSink), a folder in the runner (src/cli, through
// checkpointToFiles), memory in tests (checkpoint-sink.ts). The loop that writes them: training-loop.ts.
import { ModelFormatError } from '../errors.ts';
import { readSafetensors, writeSafetensors } from '../model/safetensors.ts';
import { artifactSink, checkCheckpointFormat, memorySink, type ArtifactStore, type CheckpointSinkOf } from './checkpoint-sink.ts';
import type { AdamWState } from './optimizer.ts';
import type { RetrieverTrainSettings } from './settings.ts';
import { packStateTensors, unpackStateTensors } from './state-tensors.ts';

export const CHECKPOINT_FORMAT = 'expandr-retriever-train';
export const CHECKPOINT_VERSION = 1;

export interface LossPoint {
  /** Optimizer steps done (1 for the first). */
  step: number;
  /** Mean loss of the step's micro-batches. */
  loss: number;
  lr: number;
  phase: 'pretrain' | 'supervised';
}

export interface TrainCheckpoint {
  format: typeof CHECKPOINT_FORMAT;
  version: typeof CHECKPOINT_VERSION;
  /** Optimizer steps done, pretraining included. */
  step: number;
  settings: RetrieverTrainSettings;
  /**
   * Every draw (shuffles, positive / negative choice, crops, dropout) derives from (seed, position), so
   * this is the whole RNG state: the next micro-batch of the phase and the seed.
   */
  rng: { seed: number; nextMicroBatch: number };
  /** Fingerprint of the training examples; resuming on other data is refused. */
  dataKey: string;
  /** Encoder variables in `Encoder.variables` order. */
  weights: { shape: number[]; data: Float32Array }[];
  /** State of the current phase's optimizer. */
  optimizer: AdamWState & { phase: LossPoint['phase'] };
  lossCurve: LossPoint[];
}

export type CheckpointSink = CheckpointSinkOf<TrainCheckpoint>;

const FORMAT = { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION };

/** Keeps every checkpoint in memory (tests; short runs in the page). */
export function memoryCheckpointSink(): CheckpointSink & { readonly saved: TrainCheckpoint[] } {
  return memorySink<TrainCheckpoint>();
}

/** One IndexedDB artifact per run (`key`), overwritten at each save. */
export function storeCheckpointSink(store: ArtifactStore, datasetId: string, key = 'retriever-train/latest'): CheckpointSink {
  return artifactSink<TrainCheckpoint>(store, datasetId, key, FORMAT);
}

export const STATE_TENSORS = 'training_state.safetensors';
export const STATE_JSON = 'training_state.json';

/** A checkpoint as two files: tensors (w.i, m.i, v.i) in safetensors, everything else in JSON. */
export function checkpointToFiles(checkpoint: TrainCheckpoint): Map<string, Uint8Array> {
  const tensors = packStateTensors({ weights: checkpoint.weights, m: checkpoint.optimizer.m, v: checkpoint.optimizer.v });
  const { weights, optimizer, ...rest } = checkpoint;
  const json = { ...rest, shapes: weights.map((w) => w.shape), optimizer: { phase: optimizer.phase, steps: optimizer.steps } };
  return new Map([
    [STATE_TENSORS, writeSafetensors(tensors, { format: CHECKPOINT_FORMAT })],
    [STATE_JSON, new TextEncoder().encode(JSON.stringify(json, null, 1) + '\n')],
  ]);
}

export function checkpointFromFiles(files: ReadonlyMap<string, Uint8Array>): TrainCheckpoint {
  const jsonBytes = files.get(STATE_JSON);
  const tensorBytes = files.get(STATE_TENSORS);
  if (!jsonBytes || !tensorBytes) throw new ModelFormatError(jsonBytes ? STATE_TENSORS : STATE_JSON, 'missing from the checkpoint folder', 'Point --resume at a folder the trainer wrote, or start afresh.');
  const j = JSON.parse(new TextDecoder().decode(jsonBytes));
  checkCheckpointFormat(j, FORMAT, STATE_JSON);
  const st = readSafetensors(tensorBytes, STATE_TENSORS);
  const shapes: number[][] = j.shapes;
  const { shapes: _s, optimizer, ...rest } = j;
  const state = unpackStateTensors(st, shapes);
  return {
    ...rest,
    weights: state.weights,
    optimizer: { phase: optimizer.phase, steps: optimizer.steps, m: state.m, v: state.v },
  };
}
