// The core side of the worker protocol: dispatches requests to the core operations, forwards progress,
// and aborts on `cancel`. Plain TypeScript with an injected `post`, so Node tests drive it directly
// and workers/core.worker.ts is only the few lines that connect it to `self`.
import { CancelledError } from '../errors.ts';
import type { Calls, CallType, Request, Response } from './protocol.ts';
import type { Progress } from '../util/progress.ts';
import type { Store } from '../store/store.ts';
import { fromFile } from '../data/source.ts';
import { importBeir } from '../data/import.ts';
import { runBm25Eval, storedRunFile } from './bm25-eval.ts';

type Handler<T extends CallType> = (
  args: Calls[T]['args'],
  ctx: { signal: AbortSignal; onProgress: (p: Progress) => void },
) => Promise<Calls[T]['result']>;

export function createHost(post: (msg: Response) => void, openStore: () => Promise<Store>) {
  let storePromise: Promise<Store> | undefined;
  const store = () => (storePromise ??= openStore());
  const running = new Map<number, AbortController>();

  const handlers: { [T in CallType]: Handler<T> } = {
    import: async ({ files, name }, ctx) => {
      const sources = files.map((f) => fromFile(f.file, f.path));
      const { dataset, warnings } = await importBeir(await store(), sources, { name, ...ctx });
      return { dataset, warnings: warnings.map((w) => w.message) };
    },
    list: async () => (await store()).listDatasets(),
    delete: async ({ datasetId }) => {
      await (await store()).deleteDataset(datasetId);
      return null;
    },
    bm25: async ({ datasetId, split, k }, ctx) => runBm25Eval(await store(), datasetId, split, { k, ...ctx }),
    run: async ({ datasetId, split }) => storedRunFile(await store(), datasetId, split),
  };

  async function handle(msg: Request): Promise<void> {
    if (msg.type === 'cancel') {
      running.get(msg.target)?.abort(new CancelledError());
      return;
    }
    const controller = new AbortController();
    running.set(msg.id, controller);
    const onProgress = (p: Progress) => post({ type: 'progress', id: msg.id, ...p });
    try {
      const handler = handlers[msg.type] as Handler<CallType>;
      const result = await handler(msg.args as never, { signal: controller.signal, onProgress });
      post({ type: 'result', id: msg.id, result });
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      post({ type: 'error', id: msg.id, name: err.name, message: err.message });
    } finally {
      running.delete(msg.id);
    }
  }
  return { handle };
}
