// Test and bench page (tests/browser/wllama-generate.test.ts, bench/generation-page.bench.ts): everything runs
// in a module Worker (wllama-generate.worker.ts), as the app's core does, so wllama starts its own Worker from
// inside a worker here too. Exposes window.wllamaPage(kind, request) and forwards the worker's log lines.
import type { PageCall, PageReply } from './wllama-generate.worker.ts';

declare global {
  interface Window {
    wllamaPage(kind: PageCall['kind'], req: PageCall['req']): Promise<unknown>;
  }
}

const status = document.getElementById('status')!;
const worker = new Worker(new URL('./wllama-generate.worker.ts', import.meta.url), { type: 'module' });
const pending = new Map<number, { ok: (v: unknown) => void; fail: (e: Error) => void }>();
let next = 1;

worker.onmessage = (e: MessageEvent<PageReply>) => {
  const m = e.data;
  if ('log' in m) {
    console.log(m.log);
    return;
  }
  const p = pending.get(m.id);
  pending.delete(m.id);
  if (m.error !== undefined) p?.fail(new Error(m.error));
  else p?.ok(m.result);
};
worker.onerror = (e) => console.error(`[worker error] ${e.message}`);

window.wllamaPage = (kind, req) =>
  new Promise((ok, fail) => {
    const id = next++;
    pending.set(id, { ok, fail });
    status.textContent = `running ${kind}`;
    worker.postMessage({ id, kind, req } as PageCall);
  });
status.textContent = `ready (crossOriginIsolated: ${crossOriginIsolated})`;
