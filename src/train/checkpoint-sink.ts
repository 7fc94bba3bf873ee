// Where a trainer's checkpoints go, whatever they hold (the retriever's, checkpoint.ts; DPO's,
// dpo-checkpoint.ts): memory in tests and short page runs, one IndexedDB artifact per run in the app.
// The runner's folder sinks live in src/cli (they write files through each checkpoint's *ToFiles).
import { DamagedDataError, ModelFormatError } from '../errors.ts';
import { writeOrFull } from '../store/quota.ts';
import { readOrDamaged, seal, unseal, type RecordName } from '../store/sealed.ts';

export interface CheckpointSinkOf<C> {
  save(checkpoint: C): Promise<void>;
  /** The most recent checkpoint, if any. */
  latest(): Promise<C | undefined>;
}

/** Keeps every checkpoint in memory, after `initial`. */
export function memorySink<C>(initial: readonly C[] = []): CheckpointSinkOf<C> & { readonly saved: C[] } {
  const saved = [...initial];
  return { saved, save: async (c) => void saved.push(c), latest: async () => saved[saved.length - 1] };
}

/** The store's artifact API, all an artifact sink needs (src/store/store.ts). */
export interface ArtifactStore {
  putArtifact(datasetId: string, key: string, value: unknown): Promise<void>;
  getArtifact<T = unknown>(datasetId: string, key: string): Promise<T | undefined>;
  /** Where present, a damaged checkpoint is removed, so that the next run starts afresh instead of failing again. */
  deleteArtifact?(datasetId: string, key: string): Promise<void>;
}

/** A checkpoint's format tag and version, checked before a stored one is used. */
export interface CheckpointFormat {
  format: string;
  version: number;
}

/** Refuses a record of another format or version, naming `where` (an artifact key or a file). */
export function checkCheckpointFormat(record: { format?: unknown; version?: unknown }, expected: CheckpointFormat, where: string): void {
  if (record.format !== expected.format || record.version !== expected.version) {
    throw new ModelFormatError(where, `checkpoint is ${String(record.format)} v${String(record.version)}, not ${expected.format} v${expected.version}`, 'Start the training afresh.');
  }
}

/**
 * One IndexedDB artifact per run (`key`), overwritten at each save: typed arrays clone structurally.
 * Sealed (store/sealed.ts): a checksum goes with every save and is checked by latest(); a damaged checkpoint
 * is removed and reported (DamagedDataError), never resumed from. A save is one put, so a full disk
 * (StorageFullError) leaves the previous checkpoint as it was. Checkpoints saved before sealing load unverified.
 */
export function artifactSink<C>(store: ArtifactStore, datasetId: string, key: string, expected: CheckpointFormat): CheckpointSinkOf<C> {
  const name: RecordName = {
    where: `Training checkpoint ${key} (dataset ${datasetId})`,
    fix: store.deleteArtifact
      ? 'It was removed: train again to start this training afresh'
      : 'Start the training afresh',
  };
  return {
    save: async (c) => {
      const sealed = seal(c);
      await writeOrFull(() => store.putArtifact(datasetId, key, sealed), () => ({
        what: `saving training checkpoint ${key}`,
        neededBytes: sealed.bytes,
        kept: 'The previous checkpoint is kept as it was: training can resume from it.',
        retry: 'train again (it resumes from the previous checkpoint)',
      }));
    },
    latest: async () => {
      let c: C | undefined;
      try {
        c = unseal<C>(await readOrDamaged(() => store.getArtifact(datasetId, key), name), name);
      } catch (e) {
        if (e instanceof DamagedDataError) await store.deleteArtifact?.(datasetId, key).catch(() => undefined);
        throw e;
      }
      if (c) checkCheckpointFormat(c as { format?: unknown; version?: unknown }, expected, key);
      return c;
    },
  };
}
