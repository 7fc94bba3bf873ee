// Engines from the real @mlc-ai/web-llm package: in-thread (MLCEngine) or in a worker
// (WebWorkerMLCEngine talking to workers/webllm.worker.ts). The UI constructs the Worker itself
// (`new Worker(new URL('../../workers/webllm.worker.ts', import.meta.url), { type: 'module' })`) and passes it.
//
// web-llm src/web_worker.ts: CreateWebWorkerMLCEngine(worker, modelId, config) is
// `new WebWorkerMLCEngine(worker, config)` followed by `reload(modelId)`. We take those two steps
// separately (factory here, reload in engine.ts) so that a load can be cancelled: unload() during
// reload() aborts WebLLM's reload controller.
import { WebLlmError } from '../../errors.ts';
import { WebLlmGenerator, type EngineFactory, type LoadOptions } from './engine.ts';
import type { WebLlmModule } from './types.ts';

/** Loads the package lazily, so the app's other paths never pay for it. */
export async function importWebLlm(): Promise<WebLlmModule> {
  try {
    return (await import('@mlc-ai/web-llm')) as unknown as WebLlmModule;
  } catch (e) {
    throw new WebLlmError(`The WebLLM package could not be loaded (${(e as Error).message}): reload the page; if it persists, reinstall with \`npm ci\`.`);
  }
}

/** An EngineFactory: WebWorkerMLCEngine over `worker` when given, else MLCEngine on this thread. */
export function webLlmEngineFactory(worker?: unknown, load: () => Promise<WebLlmModule> = importWebLlm): EngineFactory {
  return async (config) => {
    const webllm = await load();
    return worker === undefined ? new webllm.MLCEngine(config) : new webllm.WebWorkerMLCEngine(worker, config);
  };
}

/**
 * Loads a WebLLM model (through `worker` when given) and returns the generator. The app config defaults
 * to WebLLM's prebuilt list; pass one that also lists tuned models (model-writer.ts) to load those.
 */
export async function createWebLlmEngine(
  worker: unknown | undefined,
  options: Omit<LoadOptions, 'factory'>,
  load: () => Promise<WebLlmModule> = importWebLlm,
): Promise<WebLlmGenerator> {
  return WebLlmGenerator.load({ ...options, factory: webLlmEngineFactory(worker, load) });
}
