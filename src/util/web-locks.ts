// Web Locks (navigator.locks), feature-detected: what tells one tab that another is importing or running
// something right now. A lock lives exactly as long as the tab (or worker) holding it, so a killed tab
// drops its locks with it, which no flag written to storage can do. Where there is no lock manager (Node,
// the runner) every call is a no-op that grants: one process, nothing to share with.

/** The part of the browser's LockManager used here (tests pass a fake; callers pass lockManager()). */
export interface LockManagerLike {
  request(name: string, options: { mode?: 'exclusive' | 'shared'; ifAvailable?: boolean }, callback: (lock: unknown) => Promise<unknown>): Promise<unknown>;
  query(): Promise<{ held?: { name?: string }[]; pending?: { name?: string }[] }>;
}

export interface HeldLock {
  release(): void;
}

export function lockManager(): LockManagerLike | undefined {
  return (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;
}

const NO_LOCK: HeldLock = { release() {} };

/**
 * Takes the exclusive lock `name` if no one holds it and keeps it until release(); null when someone else
 * (another tab, or this one) holds it. Without a lock manager: a no-op lock, always granted.
 */
export function tryLock(name: string, locks: LockManagerLike | undefined): Promise<HeldLock | null> {
  if (!locks) return Promise.resolve(NO_LOCK);
  return new Promise((resolve, reject) => {
    locks
      .request(name, { mode: 'exclusive', ifAvailable: true }, (lock) => {
        if (!lock) {
          resolve(null);
          return Promise.resolve();
        }
        // Held until release() settles the promise the callback returns.
        return new Promise<void>((release) => resolve({ release: () => release() }));
      })
      .catch(reject);
  });
}

/** Names of the locks held or waited for anywhere in this origin; undefined without a lock manager. */
export async function lockNames(locks: LockManagerLike | undefined): Promise<Set<string> | undefined> {
  if (!locks) return undefined;
  const { held = [], pending = [] } = await locks.query();
  return new Set([...held, ...pending].map((l) => l.name ?? ''));
}
