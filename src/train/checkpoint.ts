// Training checkpoints (resumable state, not the exported model): weights, optimizer state, step, RNG
// state, settings and the loss curve, like nanoGPT's checkpoint dict. Written to an injectable sink:
// IndexedDB artifacts in the app (storeCheckpointSink), a folder in the runner (src/cli, through
// checkpointToFiles), memory in tests.
import { ModelFormatError } from '../errors.ts';
import { readSafetensors, writeSafetensors } from '../model/safetensors.ts';
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

export interface CheckpointSink {
  save(c: TrainCheckpoint): Promise<void>;
  /** The most recent checkpoint, if any. */
  latest(): Promise<TrainCheckpoint | undefined>;
}

/** Keeps every checkpoint in memory (tests; short runs in the page). */
export function memoryCheckpointSink(): CheckpointSink & { readonly saved: TrainCheckpoint[] } {
  const saved: TrainCheckpoint[] = [];
  return { saved, save: async (c) => void saved.push(c), latest: async () => saved[saved.length - 1] };
}

/** The store's artifact API, all this sink needs (src/store/store.ts). */
export interface ArtifactStore {
  putArtifact(datasetId: string, key: string, value: unknown): Promise<void>;
  getArtifact<T = unknown>(datasetId: string, key: string): Promise<T | undefined>;
}

/** One IndexedDB artifact per run (`key`), overwritten at each save: typed arrays clone structurally. */
export function storeCheckpointSink(store: ArtifactStore, datasetId: string, key = 'retriever-train/latest'): CheckpointSink {
  return {
    save: (c) => store.putArtifact(datasetId, key, c),
    latest: async () => {
      const c = await store.getArtifact<TrainCheckpoint>(datasetId, key);
      if (c && (c.format !== CHECKPOINT_FORMAT || c.version !== CHECKPOINT_VERSION)) {
        throw new ModelFormatError(key, `stored checkpoint is ${c.format} v${c.version}, not ${CHECKPOINT_FORMAT} v${CHECKPOINT_VERSION}`, 'Start the training afresh.');
      }
      return c;
    },
  };
}

export const STATE_TENSORS = 'training_state.safetensors';
export const STATE_JSON = 'training_state.json';

/** A checkpoint as two files: tensors (w.i, m.i, v.i) in safetensors, everything else in JSON. */
export function checkpointToFiles(c: TrainCheckpoint): Map<string, Uint8Array> {
  const tensors = packStateTensors({ weights: c.weights, m: c.optimizer.m, v: c.optimizer.v });
  const { weights, optimizer, ...rest } = c;
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
  if (j.format !== CHECKPOINT_FORMAT || j.version !== CHECKPOINT_VERSION) {
    throw new ModelFormatError(STATE_JSON, `format ${j.format} v${j.version} is not ${CHECKPOINT_FORMAT} v${CHECKPOINT_VERSION}`, 'Start the training afresh.');
  }
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
