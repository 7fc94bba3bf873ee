// Thin host: connects the core's request handler (src/app/host.ts) to this worker's message port.
import '../src/llm/gradients.ts';
import { createHost } from '../src/app/host.ts';
import { openStore } from '../src/store/store.ts';
import type { Request } from '../src/app/protocol.ts';
import { initBackend } from './tf-backend.ts';

const host = createHost((msg) => self.postMessage(msg), () => openStore(), { initBackend });
self.onmessage = (e: MessageEvent<Request>) => void host.handle(e.data);
