// The core side of the worker protocol: dispatches requests to the core operations, forwards progress,
// and aborts on `cancel`. Plain TypeScript with an injected `post`, so Node tests drive it directly
// and workers/core.worker.ts is only the few lines that connect it to `self`.
import { CancelledError } from '../errors.ts';
import type { Calls, CallType, Request, Response } from './protocol.ts';
import type { Progress } from '../util/progress.ts';
import type { Store, StoreNotice } from '../store/store.ts';
import { fromFile } from '../data/source.ts';
import { importBeir } from '../store/import-beir.ts';
import { runBm25Eval, storedRunFile } from '../retrieval/bm25/evaluate.ts';
import { storedDenseRunFile } from '../retrieval/dense/evaluate.ts';
import { RetrieverSession } from './retriever-session.ts';
import type { LossPoint } from '../train/checkpoint.ts';
import { LlmSession } from './llm-session.ts';
import { PipelineSession, type LlmSideFactory, type PipelineEvent } from './pipeline-session.ts';
import { appLlmSide, type WebLlmEngineFactory } from './app-llm-side.ts';
import { pageCodeVersion, RunList } from './run-list.ts';
import { importRunFile } from './run-import.ts';
import { collectRunExport } from './run-export-collect.ts';
import { setHubToken } from './model-source.ts';
import { loadBertEncoder } from '../encoder/encoder.ts';
import { pipelineRunKey, withRunLock } from './run-lock.ts';
import { lockManager } from '../util/web-locks.ts';

type Handler<T extends CallType> = (
  args: Calls[T]['args'],
  ctx: { signal: AbortSignal; onProgress: (p: Progress) => void; onStep: (p: LossPoint) => void; onEvent: (e: PipelineEvent) => void },
) => Promise<Calls[T]['result']>;

export interface HostOptions {
  /** Makes the best tfjs backend active (webgpu in the browser, else wasm) and names it. */
  initBackend?: () => Promise<{ backend: string; webgpu: boolean }>;
  /** Picks the backend for pipeline runs (the worker: wasm on a software adapter); default: keep it. */
  initPipelineBackend?: () => Promise<{ backend: string; webgpu: boolean }>;
  /** The LLM side of the loop for a loaded LLM (default: the tfjs decoder, app-llm-side.ts). */
  llmSide?: LlmSideFactory;
  /** Loads WebLLM models for the default LLM side (the worker runs them in a nested Worker). */
  webLlm?: WebLlmEngineFactory;
}



/** `openStore` gets a callback for the connection's notices (store.ts StoreNotice), which go to the page as `notice` messages. */
export function createHost(post: (msg: Response) => void, openStore: (onNotice: (n: StoreNotice) => void) => Promise<Store>, opts: HostOptions = {}) {
  let storePromise: Promise<Store> | undefined;
  const store = () => (storePromise ??= openStore((notice) => post({ type: 'notice', id: 0, notice })));
  const running = new Map<number, AbortController>();
  const retrievers = new RetrieverSession(store);
  const llms = new LlmSession(store);
  const pipeline = new PipelineSession(store, retrievers, llms, opts.llmSide ?? ((llm, config, at) => appLlmSide(llm, config, { ...at, webLlm: opts.webLlm })));
  const runs = new RunList(store, (datasetId, fn) => withRunLock(pipelineRunKey(datasetId), 'The ExpandR run on this dataset', lockManager(), fn));
  let backendPromise: Promise<{ backend: string; webgpu: boolean }> | undefined;
  const backend = () => (backendPromise ??= opts.initBackend?.() ?? Promise.resolve({ backend: 'default', webgpu: false }));

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
    rename: async ({ datasetId, name }) => (await store()).renameDataset(datasetId, name),
    bm25: async ({ datasetId, split, k }, ctx) => runBm25Eval(await store(), datasetId, split, { k, ...ctx }),
    run: async ({ datasetId, split, retriever }) =>
      (retriever === 'dense' ? storedDenseRunFile : storedRunFile)(await store(), datasetId, split),
    backend: () => backend(),
    'encoder:load': async ({ source }, ctx) => {
      await backend();
      return retrievers.load(source, ctx);
    },
    'encoder:restore': async (_args, ctx) => {
      await backend();
      return retrievers.restore(ctx);
    },
    'encoder:export': ({ handle }) => retrievers.exportZip(handle),
    'encoder:cached': () => retrievers.cached(),
    dense: async ({ datasetId, split, handle, precision }, ctx) => {
      await backend();
      return retrievers.evaluate(datasetId, split, handle, { ...ctx, precision });
    },
    train: async ({ datasetId, split, handle, settings }, ctx) => {
      await backend();
      return retrievers.train(datasetId, split, handle, settings, ctx);
    },
    'llm:load': async ({ source }, ctx) => {
      await backend();
      return llms.load(source, ctx);
    },
    'llm:restore': async (_args, ctx) => {
      await backend();
      return llms.restore(ctx);
    },
    // On the pipeline's backend: generation is many small steps, faster on wasm than on a software adapter.
    'llm:try': async ({ handle, query, maxTokens }, ctx) => {
      await backend();
      await opts.initPipelineBackend?.();
      return llms.tryQ2d(handle, query, maxTokens, ctx);
    },
    'pipeline:state': ({ datasetId }) => pipeline.state(datasetId),
    'pipeline:run': async (args, ctx) => {
      await backend();
      const b = await opts.initPipelineBackend?.();
      if (b) ctx.onEvent({ kind: 'log', text: `computing on tfjs ${b.backend}`, at: Date.now() });
      return pipeline.run(args, ctx);
    },
    'pipeline:analysis': ({ datasetId }) => pipeline.analysis(datasetId),
    'pipeline:reset': async ({ datasetId }) => {
      await pipeline.reset(datasetId);
      return null;
    },
    // A GGUF export streams the base model tensor by tensor: progress in bytes, cancellable.
    'pipeline:download': ({ datasetId, what }, ctx) => pipeline.download(datasetId, what, ctx),
    'runs:list': ({ datasetId }) => runs.list(datasetId),
    'runs:open': async ({ datasetId, run }) => {
      await runs.open(datasetId, run);
      return pipeline.state(datasetId);
    },
    'runs:rename': async ({ datasetId, run, name }) => {
      await runs.rename(datasetId, run, name);
      return null;
    },
    'runs:delete': async ({ datasetId, run }) => {
      await runs.remove(datasetId, run);
      return null;
    },
    'runs:compare': async ({ a, b, metric, top, cases }) => runs.compare(a, b, metric, top, cases),
    // Expansions are scored with a fresh copy of the chosen encoder (as the pipeline does), freed after.
    'runs:import': async ({ datasetId, split, file, text, encoder }, ctx) => {
      await backend();
      const src = encoder ? retrievers.source(encoder) : null;
      const enc = src ? await loadBertEncoder(src.files, { settings: src.summary.settings }) : null;
      try {
        return await importRunFile(await store(), { datasetId, split, file, text }, enc && src ? { encoder: enc, name: src.summary.name, modelHash: src.summary.modelHash } : null, ctx);
      } finally {
        enc?.dispose();
      }
    },
    'runs:export': async ({ datasetId, run, checkpoints }) => collectRunExport(await store(), datasetId, run, { checkpoints, code: pageCodeVersion() }),
    'hub:token': async ({ token }) => {
      setHubToken(token);
      return null;
    },
  };

  async function handle(msg: Request): Promise<void> {
    if (msg.type === 'cancel') {
      running.get(msg.target)?.abort(new CancelledError());
      return;
    }
    const controller = new AbortController();
    running.set(msg.id, controller);
    const onProgress = (p: Progress) => post({ type: 'progress', id: msg.id, ...p });
    const onStep = (point: LossPoint) => post({ type: 'step', id: msg.id, point });
    const onEvent = (event: PipelineEvent) => post({ type: 'event', id: msg.id, event });
    try {
      const handler = handlers[msg.type] as Handler<CallType>;
      const result = await handler(msg.args as never, { signal: controller.signal, onProgress, onStep, onEvent });
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
