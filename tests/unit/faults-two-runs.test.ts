// Two tabs, one run (issue 18, point 4), at the session level: tab 1 holds a dataset's run lock; tab 2's
// session sees the run as running elsewhere, and its run and reset are refused before anything is read
// or written (the stored state stays as tab 1 left it). A killed tab 1 frees the run at once.
// The same in Chromium with real Web Locks: tests/browser/faults-two-tabs.test.ts.
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.ts';
import { RetrieverSession } from '../../src/app/retriever-session.ts';
import { LlmSession } from '../../src/app/llm-session.ts';
import { PipelineSession } from '../../src/app/pipeline-session.ts';
import { pipelineRunKey, retrieverTrainKey, runLockHeld, RunningElsewhereError, withRunLock } from '../../src/app/run-lock.ts';
import { tryLock } from '../../src/util/web-locks.ts';
import { FakeLockRegistry } from './helpers/fake-locks.ts';

async function tabWithDataset(locks: FakeLockRegistry) {
  const store = await openStore({ dbName: 'two-runs', idbFactory: new IDBFactory() });
  const w = await store.beginImport({ name: 'd', source: ['d'] });
  await w.putQueries([{ id: 'q', text: 'q' }]);
  await w.putDocs([{ id: 'a', title: '', text: 'a' }]);
  const info = await w.finish({ checksum: '', fileSha256: {}, counts: { docs: 1, queries: 1, qrelLines: 0 }, splits: {}, warnings: [] });
  const tab2 = locks.client();
  const session = new PipelineSession(async () => store, new RetrieverSession(async () => store, tab2), new LlmSession(), () => {
    throw new Error('no LLM side in this test');
  }, tab2);
  return { store, datasetId: info.id, session, tab2 };
}

describe('a run started in another tab', () => {
  it('is shown as running elsewhere, and neither restarted nor reset here; a killed tab frees it', async () => {
    const locks = new FakeLockRegistry();
    const tab1 = locks.client();
    const { store, datasetId, session } = await tabWithDataset(locks);
    expect(await session.state(datasetId)).toBeNull();

    const running = await tryLock(pipelineRunKey(datasetId), tab1); // tab 1 starts its run
    expect(running).not.toBeNull();
    await store.putArtifact(datasetId, 'experiment/state', { format: 'expandr-run-state', version: 1, configKey: 'k', stages: { s: { output: 1, finishedAt: '', ms: 1 } } });

    const seen = await session.state(datasetId);
    expect(seen).toMatchObject({ runningElsewhere: true, finished: ['s'] });
    const args = { datasetId, encoder: 'enc-1', llm: null, config: {}, step: 'all' as const };
    await expect(session.run(args, {})).rejects.toThrow(RunningElsewhereError);
    await expect(session.run(args, {})).rejects.toThrow(/running in another tab.*every stage it finished is kept/);
    await expect(session.run({ ...args, fresh: true }, {})).rejects.toThrow(RunningElsewhereError);
    await expect(session.reset(datasetId)).rejects.toThrow(RunningElsewhereError);
    expect(await store.listArtifacts(datasetId)).toEqual(['experiment/state']); // untouched

    tab1.kill(); // tab 1 is killed mid-run: its lock goes, its stages stay
    expect((await session.state(datasetId))?.runningElsewhere).toBe(false);
    await session.reset(datasetId);
    expect(await store.listArtifacts(datasetId)).toEqual([]);
    store.close();
  });

  it('withRunLock: one holder at a time, released after success and after failure', async () => {
    const locks = new FakeLockRegistry();
    const [a, b] = [locks.client(), locks.client()];
    const key = retrieverTrainKey('d', 'h');
    let inside!: () => void;
    const gate = new Promise<void>((r) => (inside = r));
    const first = withRunLock(key, 'Training', a, () => gate.then(() => 'done'));
    await expect.poll(() => runLockHeld(key, b)).toBe(true);
    await expect(withRunLock(key, 'Training', b, async () => 'second')).rejects.toThrow(/Training is running in another tab/);
    inside();
    expect(await first).toBe('done');
    await expect.poll(() => runLockHeld(key, b)).toBe(false);
    await expect(withRunLock(key, 'Training', b, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect.poll(() => runLockHeld(key, a)).toBe(false);
    // Without Web Locks (Node, the runner): no-op, always granted.
    expect(await withRunLock(key, 'Training', undefined, async () => 1)).toBe(1);
    expect(await runLockHeld(key, undefined)).toBe(false);
  });
});
