// Thin host: WebLLM's own handler runs the engine in this worker; src/llm/webllm/create.ts talks to it
// through WebWorkerMLCEngine (the protocol is WebLLM's, mlc-ai/web-llm src/message.ts).
import { WebWorkerMLCEngineHandler } from '@mlc-ai/web-llm';

const handler = new WebWorkerMLCEngineHandler();
self.onmessage = (e: MessageEvent) => handler.onmessage(e);
