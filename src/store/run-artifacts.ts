// Several experiment runs of one dataset side by side, as the dataset's artifacts: run ID lives under the
// prefix `runs/ID/` (its manifest at `runs/ID/manifest`, its state, snapshot, file sets and checkpoints
// beside it, written through pipeline/run-state.ts artifactRunStore with that prefix), and `runs/current`
// names the run the page has open. A run stored before runs were kept side by side lives under the
// prefix 'experiment' and is listed as the run with that ID. What a manifest holds is the pipeline's
// business (src/pipeline/run-record.ts); this file only keeps the keys apart.
import type { Store } from './store.ts';

/** The prefix of the one run a dataset had before runs were kept side by side. */
export const LEGACY_RUN_ID = 'experiment';
const RUNS = 'runs/';
const CURRENT = 'runs/current';
const MANIFEST = 'manifest';

/** The artifact prefix of run `id` (the run store's `prefix`). */
export const runPrefix = (id: string): string => (id === LEGACY_RUN_ID ? LEGACY_RUN_ID : `${RUNS}${id}`);

/** Run ids of a dataset: those with a manifest, and the legacy run when it has a state or snapshot. */
export async function listRunIds(store: Store, datasetId: string): Promise<string[]> {
  const keys = await store.listArtifacts(datasetId);
  const ids = keys.filter((k) => k.startsWith(RUNS) && k.endsWith(`/${MANIFEST}`)).map((k) => k.slice(RUNS.length, -MANIFEST.length - 1));
  if (keys.some((k) => k === `${LEGACY_RUN_ID}/state` || k === `${LEGACY_RUN_ID}/snapshot`)) ids.push(LEGACY_RUN_ID);
  return ids;
}

export async function getRunManifest<T>(store: Store, datasetId: string, id: string): Promise<T | undefined> {
  return id === LEGACY_RUN_ID ? undefined : store.getArtifact<T>(datasetId, `${runPrefix(id)}/${MANIFEST}`);
}

export async function putRunManifest(store: Store, datasetId: string, id: string, manifest: unknown): Promise<void> {
  await store.putArtifact(datasetId, `${runPrefix(id)}/${MANIFEST}`, manifest);
}

/** The run the page has open on this dataset: the one set last, else the legacy run when there is one. */
export async function currentRunId(store: Store, datasetId: string): Promise<string | undefined> {
  const id = await store.getArtifact<string>(datasetId, CURRENT);
  if (id !== undefined) return id;
  return (await listRunIds(store, datasetId)).includes(LEGACY_RUN_ID) ? LEGACY_RUN_ID : undefined;
}

export async function setCurrentRun(store: Store, datasetId: string, id: string): Promise<void> {
  await store.putArtifact(datasetId, CURRENT, id);
}

/**
 * Removes everything of run `id` (manifest, state, files, checkpoints); with `keepManifest` only what the
 * run made, so it starts afresh under the same key and name. The current-run mark goes with a deleted run.
 */
export async function deleteRunArtifacts(store: Store, datasetId: string, id: string, opts: { keepManifest?: boolean } = {}): Promise<void> {
  const prefix = `${runPrefix(id)}/`;
  const manifest = `${prefix}${MANIFEST}`;
  for (const key of await store.listArtifacts(datasetId)) {
    if (key.startsWith(prefix) && !(opts.keepManifest && key === manifest)) await store.deleteArtifact(datasetId, key);
  }
  if (!opts.keepManifest && (await store.getArtifact<string>(datasetId, CURRENT)) === id) await store.deleteArtifact(datasetId, CURRENT);
}
