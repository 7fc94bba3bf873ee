// Where a trainer's checkpoints go, whatever they hold (the retriever's, checkpoint.ts; DPO's,
// dpo-checkpoint.ts): memory in tests and short page runs, one IndexedDB artifact per run in the app.
// The runner's folder sinks live in src/cli (they write files through each checkpoint's *ToFiles).
import { ModelFormatError } from '../errors.ts';

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

/** One IndexedDB artifact per run (`key`), overwritten at each save: typed arrays clone structurally. */
export function artifactSink<C>(store: ArtifactStore, datasetId: string, key: string, expected: CheckpointFormat): CheckpointSinkOf<C> {
  return {
    save: (c) => store.putArtifact(datasetId, key, c),
    latest: async () => {
      const c = await store.getArtifact<C>(datasetId, key);
      if (c) checkCheckpointFormat(c as { format?: unknown; version?: unknown }, expected, key);
      return c;
    },
  };
}
