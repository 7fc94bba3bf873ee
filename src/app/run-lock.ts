// One run per key across the tabs of this app (Web Locks, src/util/web-locks.ts): a pipeline run on a
// dataset, or the training of one encoder on a dataset, writes its stages and checkpoints under keys of
// that dataset; two tabs doing the same at once would interleave them. The second tab is refused with a
// clear message and sees the run as "running in another tab". A killed tab's lock goes with it, so its
// run can be resumed at once. Without Web Locks (Node) this is a no-op: one process, one run.
import { ExpandrError } from '../errors.ts';
import { lockNames, tryLock, type LockManagerLike } from '../util/web-locks.ts';

export const pipelineRunKey = (datasetId: string) => `expandr-run:pipeline:${datasetId}`;
export const retrieverTrainKey = (datasetId: string, modelHash: string) => `expandr-run:retriever-train:${datasetId}:${modelHash}`;

/** The same run is going on in another tab (or an earlier call of this one): nothing was started. */
export class RunningElsewhereError extends ExpandrError {
  override name = 'RunningElsewhereError';
}

/** Runs `fn` holding the run lock `key`; refuses at once, without running it, when another holder has it. */
export async function withRunLock<T>(key: string, what: string, locks: LockManagerLike | undefined, fn: () => Promise<T>): Promise<T> {
  const lock = await tryLock(key, locks);
  if (!lock) {
    throw new RunningElsewhereError(
      `${what} is running in another tab of this app. Follow it there, or close that tab and start it again here: every stage it finished is kept.`,
    );
  }
  try {
    return await fn();
  } finally {
    lock.release();
  }
}

/** Whether someone (any tab, this one included) holds the run lock `key`; false without Web Locks. */
export async function runLockHeld(key: string, locks: LockManagerLike | undefined): Promise<boolean> {
  return (await lockNames(locks))?.has(key) ?? false;
}
