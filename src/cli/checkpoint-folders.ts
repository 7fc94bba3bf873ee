// Trainer checkpoints as a folder on disk (the runner's --out/checkpoint, an experiment's
// checkpoints/NAME): the trainer's own files, replaced atomically at each save (atomic-files.ts) so that a
// kill leaves either the previous checkpoint or the new one, never half of one. The folder's file manifest
// (sizes and SHA-256, util/file-manifest-node.ts) goes in with the files and is checked by latest(): a
// truncated or altered file is reported (DamagedDataError) and never resumed from.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { recoverFolder, replaceFolder } from './atomic-files.ts';
import { checkpointFromFiles, checkpointToFiles, STATE_JSON, STATE_TENSORS, type CheckpointSink } from '../train/checkpoint.ts';
import { DPO_STATE_JSON, DPO_STATE_TENSORS, dpoCheckpointFromFiles, dpoCheckpointToFiles, type DpoCheckpointSink } from '../train/dpo-checkpoint.ts';
import { verifyFiles, withFileManifest } from '../util/file-manifest-node.ts';

interface CheckpointFormat<C> {
  /** The files of a checkpoint; a folder holding the first is a checkpoint (folders are swapped in whole). */
  names: readonly [string, ...string[]];
  toFiles(checkpoint: C): Map<string, Uint8Array>;
  fromFiles(files: Map<string, Uint8Array>): C;
}

function folderSink<C>(dir: string, format: CheckpointFormat<C>): { save(checkpoint: C): Promise<void>; latest(): Promise<C | undefined> } {
  return {
    async save(checkpoint) {
      replaceFolder(dir, withFileManifest(format.toFiles(checkpoint)));
    },
    async latest() {
      recoverFolder(dir);
      if (!existsSync(join(dir, format.names[0]))) return undefined;
      const present = format.names.filter((name) => existsSync(join(dir, name)));
      const files = new Map(present.map((name) => [name, new Uint8Array(readFileSync(join(dir, name)))]));
      verifyFiles(dir, files, `Do not resume from it: delete ${dir} to start this training afresh`);
      return format.fromFiles(files);
    },
  };
}

/** Retriever training checkpoints: training_state.{json,safetensors}. */
export function folderCheckpointSink(dir: string): CheckpointSink {
  return folderSink(dir, { names: [STATE_JSON, STATE_TENSORS], toFiles: checkpointToFiles, fromFiles: checkpointFromFiles });
}

/** DPO checkpoints: dpo_state.{json,safetensors}. */
export function folderDpoCheckpointSink(dir: string): DpoCheckpointSink {
  return folderSink(dir, { names: [DPO_STATE_JSON, DPO_STATE_TENSORS], toFiles: dpoCheckpointToFiles, fromFiles: dpoCheckpointFromFiles });
}
