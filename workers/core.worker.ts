// Thin host: connects the core's request handler (src/app/host.ts) to this worker's message port.
import '../src/llm/gradients.ts';
import { createHost } from '../src/app/host.ts';
import { openStore } from '../src/store/store.ts';
import type { Request } from '../src/app/protocol.ts';
import { initBackend, initPipelineBackend } from './tf-backend.ts';
import { createWebLlmEngine } from '../src/llm/webllm/create.ts';
import type { WorkOptions } from '../src/util/progress.ts';

// WebLLM runs in its own Worker, nested in this one (the pipeline's base-model generation on WebLLM presets).
const webLlm = (modelId: string, work: WorkOptions) =>
  createWebLlmEngine(new Worker(new URL('./webllm.worker.ts', import.meta.url), { type: 'module' }), { modelId, ...work });

const host = createHost((msg) => self.postMessage(msg), (onNotice) => openStore({ onNotice }), { initBackend, initPipelineBackend, webLlm });
self.onmessage = (e: MessageEvent<Request>) => void host.handle(e.data);
