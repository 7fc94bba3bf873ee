// Everything a store holds, read back through its public API, for "every earlier dataset, model and run is
// intact" checks: datasets, their documents, queries, judgements and artifacts (raw, as stored: sealed
// records with their checksums), and every cached model file's bytes.
import { IDBObjectStore as FakeObjectStore } from 'fake-indexeddb';
import { vi } from 'vitest';
import type { TrainCheckpoint } from '../../../src/train/checkpoint.ts';
import type { Store } from '../../../src/store/store.ts';

export async function storedSnapshot(store: Store, skipArtifact: (key: string) => boolean = () => false) {
  const datasets = [];
  for (const info of await store.listDatasets()) {
    const docs = [];
    for await (const batch of store.iterateDocs(info.id, 2)) docs.push(...batch);
    const qrels = Object.fromEntries(await Promise.all(Object.keys(info.splits).map(async (s) => [s, await store.getQrels(info.id, s)])));
    const artifacts: Record<string, unknown> = {};
    for (const key of await store.listArtifacts(info.id)) if (!skipArtifact(key)) artifacts[key] = await store.getArtifact(info.id, key);
    datasets.push({ info, docs, queries: await store.getQueries(info.id), qrels, artifacts });
  }
  const models: Record<string, Uint8Array | undefined> = {};
  for (const f of await store.listModelFiles()) models[JSON.stringify(f)] = await store.getModelFile(f.source, f.revision, f.file);
  return { datasets, models };
}

/**
 * A full disk from the `n`th IndexedDB put on (1-based, counted from this call): that put and every later
 * one throw QuotaExceededError, as Chrome's do once the quota is reached. Deletes and reads still work.
 */
export function quotaFromPut(n: number) {
  const put = FakeObjectStore.prototype.put;
  let calls = 0;
  return vi.spyOn(FakeObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
    if (++calls >= n) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    return put.apply(this, args);
  });
}

/** A retriever checkpoint with `step` and seeded-looking weights and moments (only their bytes matter here). */
export function fakeCheckpoint(step: number): TrainCheckpoint {
  const w = (k: number) => Float32Array.from({ length: 12 }, (_, i) => Math.sin(step * 31 + k * 7 + i));
  return {
    format: 'expandr-retriever-train',
    version: 1,
    step,
    settings: {} as TrainCheckpoint['settings'],
    rng: { seed: 7, nextMicroBatch: step * 2 },
    dataKey: 'fnv:test',
    weights: [{ shape: [3, 4], data: w(0) }, { shape: [12], data: w(1) }],
    optimizer: { phase: 'supervised', steps: [step, step], m: [w(2), w(3)], v: [w(4), null] },
    lossCurve: Array.from({ length: step }, (_, i) => ({ step: i + 1, loss: 1 / (i + 1), lr: 1e-5, phase: 'supervised' as const })),
  };
}
