// DPO training checkpoints (resumable state, not the exported adapter), mirroring the retriever's
// (checkpoint.ts): adapter weights, AdamW state, step, settings, the cached reference log-probs and the
// metric curve. Written to an injectable sink (checkpoint-sink.ts): memory (tests), IndexedDB artifacts
// (the app, storeDpoCheckpointSink), a folder (the runner, through dpoCheckpointToFiles).
import { ModelFormatError } from '../errors.ts';
import type { DpoPairMetrics, DpoSettings } from '../llm/dpo.ts';
import type { ReferenceLogProbs } from '../llm/dpo-eval.ts';
import type { LoraSettings } from '../llm/lora.ts';
import { readSafetensors, writeSafetensors } from '../model/safetensors.ts';
import { artifactSink, checkCheckpointFormat, memorySink, type ArtifactStore, type CheckpointSinkOf } from './checkpoint-sink.ts';
import type { AdamWState } from './optimizer.ts';
import { packStateTensors, unpackStateTensors } from './state-tensors.ts';

export const DPO_CHECKPOINT_FORMAT = 'expandr-dpo-train';
export const DPO_CHECKPOINT_VERSION = 1;

export interface DpoStepMetrics extends DpoPairMetrics {
  /** Optimizer steps done (1 for the first). */
  step: number;
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
}

export interface DpoCheckpoint {
  format: typeof DPO_CHECKPOINT_FORMAT;
  version: typeof DPO_CHECKPOINT_VERSION;
  step: number;
  settings: DpoSettings;
  lora: LoraSettings;
  /** Fingerprint of the tokenized pairs; resuming on other data is refused. */
  dataKey: string;
  /** Pair order and dropout derive from (seed, micro-batch index): this is the whole RNG state. */
  rng: { seed: number; nextMicroBatch: number };
  /** LoRA variables in LoraAdapters.variables order (A, B per module). */
  weights: { shape: number[]; data: Float32Array }[];
  optimizer: AdamWState;
  /** Reference log-probs per pair (computed once, adapters off). */
  reference: ReferenceLogProbs;
  curve: DpoStepMetrics[];
}

export type DpoCheckpointSink = CheckpointSinkOf<DpoCheckpoint>;

const FORMAT = { format: DPO_CHECKPOINT_FORMAT, version: DPO_CHECKPOINT_VERSION };

export function memoryDpoCheckpointSink(initial: DpoCheckpoint[] = []): DpoCheckpointSink & { readonly saved: DpoCheckpoint[] } {
  return memorySink(initial);
}

/** One IndexedDB artifact per run (`key`), overwritten at each save. */
export function storeDpoCheckpointSink(store: ArtifactStore, datasetId: string, key = 'dpo-train/latest'): DpoCheckpointSink {
  return artifactSink<DpoCheckpoint>(store, datasetId, key, FORMAT);
}

export const DPO_STATE_TENSORS = 'dpo_state.safetensors';
export const DPO_STATE_JSON = 'dpo_state.json';

/** Tensors (w.i, m.i, v.i, reference) in safetensors; the rest in JSON. */
export function dpoCheckpointToFiles(checkpoint: DpoCheckpoint): Map<string, Uint8Array> {
  const tensors = packStateTensors({ weights: checkpoint.weights, m: checkpoint.optimizer.m, v: checkpoint.optimizer.v });
  const { weights, optimizer, reference, ...rest } = checkpoint;
  // Reference log-probs stay float64 exact in JSON (they are few: two per pair).
  const json = { ...rest, shapes: weights.map((w) => w.shape), optimizerSteps: optimizer.steps, reference: { chosen: [...reference.chosen], rejected: [...reference.rejected] } };
  return new Map([
    [DPO_STATE_TENSORS, writeSafetensors(tensors, { format: DPO_CHECKPOINT_FORMAT })],
    [DPO_STATE_JSON, new TextEncoder().encode(JSON.stringify(json) + '\n')],
  ]);
}

export function dpoCheckpointFromFiles(files: ReadonlyMap<string, Uint8Array>): DpoCheckpoint {
  const jsonBytes = files.get(DPO_STATE_JSON);
  const tensorBytes = files.get(DPO_STATE_TENSORS);
  if (!jsonBytes || !tensorBytes) throw new ModelFormatError(jsonBytes ? DPO_STATE_TENSORS : DPO_STATE_JSON, 'missing from the checkpoint folder', 'Point --resume at a folder train-llm wrote, or start afresh.');
  const j = JSON.parse(new TextDecoder().decode(jsonBytes));
  checkCheckpointFormat(j, FORMAT, DPO_STATE_JSON);
  const st = readSafetensors(tensorBytes, DPO_STATE_TENSORS);
  const { shapes, optimizerSteps, reference, ...rest } = j as { shapes: number[][]; optimizerSteps: number[]; reference: { chosen: number[]; rejected: number[] } };
  const state = unpackStateTensors(st, shapes);
  return {
    ...(rest as Omit<DpoCheckpoint, 'weights' | 'optimizer' | 'reference'>),
    weights: state.weights,
    optimizer: { steps: optimizerSteps, m: state.m, v: state.v },
    reference: { chosen: Float64Array.from(reference.chosen), rejected: Float64Array.from(reference.rejected) },
  };
}
