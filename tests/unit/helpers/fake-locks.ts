// An in-memory Web Locks registry for Node tests: each client() is one tab's navigator.locks (exclusive
// locks, ifAvailable, query), and kill() drops a client's locks as a killed tab's go.
import type { LockManagerLike } from '../../../src/util/web-locks.ts';

export class FakeLockRegistry {
  private readonly held = new Map<string, { owner: number; release: () => void }>();
  private nextClient = 1;

  client(): LockManagerLike & { kill(): void } {
    const me = this.nextClient++;
    const held = this.held;
    return {
      async request(name, options, callback) {
        if (held.has(name)) {
          if (options.ifAvailable) return callback(null);
          throw new Error('the fake supports only ifAvailable requests');
        }
        let release!: () => void;
        const dropped = new Promise<void>((r) => (release = r));
        held.set(name, { owner: me, release });
        try {
          return await Promise.race([callback({ name }), dropped]);
        } finally {
          if (held.get(name)?.owner === me) held.delete(name);
        }
      },
      async query() {
        return { held: [...held.keys()].map((name) => ({ name })), pending: [] };
      },
      kill() {
        for (const [name, h] of [...held]) {
          if (h.owner !== me) continue;
          held.delete(name);
          h.release();
        }
      },
    };
  }
}
