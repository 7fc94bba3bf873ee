// A Chromium that a test can kill like a crash: started here as its own process group with a persistent
// profile (the harness's launcher keeps the process to itself), driven over CDP, and ended with SIGKILL of
// the whole group, so no unload handler, no IndexedDB close and no profile flush runs. Relaunching with the
// same profile folder is what the user sees when they open the browser again.
import { spawn, type ChildProcess } from 'node:child_process';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { preview, type PreviewServer } from 'vite';
import { CHROMIUM, CHROMIUM_FLAGS, SHARED_DIST_ENV } from './harness.ts';

const DEVTOOLS_TIMEOUT_MS = 30_000;
/** Playwright's CDP handshake; its default 30 s is short on 2 busy cores right after a killed profile is reopened. */
const CDP_CONNECT_TIMEOUT_MS = 120_000;

export interface KillableBrowser {
  context: BrowserContext;
  newPage(): Promise<Page>;
  /** SIGKILL to Chromium and every process it started; resolves once the main process is gone. */
  kill(): Promise<void>;
  /** A polite close (for the test's end). */
  close(): Promise<void>;
}

/**
 * `webgpu: false` leaves out the flags that grant SwiftShader's adapter, so the core worker computes on
 * wasm (about 37× faster than SwiftShader here): for tests about storage, not about WebGPU.
 */
export async function launchKillable(userDataDir: string, opts: { webgpu?: boolean } = {}): Promise<KillableBrowser> {
  const flags = opts.webgpu === false ? CHROMIUM_FLAGS.filter((f) => !/webgpu|swiftshader/.test(f)) : CHROMIUM_FLAGS;
  const child: ChildProcess = spawn(CHROMIUM, [...flags, '--headless=new', `--user-data-dir=${userDataDir}`, '--remote-debugging-port=0', 'about:blank'], {
    detached: true, // its own process group: kill() reaches the renderer, GPU and utility processes too
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  const ws = await new Promise<string>((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`chromium printed no DevTools endpoint: ${err}`)), DEVTOOLS_TIMEOUT_MS);
    child.stderr!.on('data', (b) => {
      err += b;
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`chromium exited (${code}) before it listened: ${err}`)));
  });
  const browser: Browser = await chromium.connectOverCDP(ws, { timeout: CDP_CONNECT_TIMEOUT_MS });
  const context = browser.contexts()[0];
  let killed = false;
  return {
    context,
    async newPage() {
      const page = await context.newPage();
      page.on('pageerror', (e) => console.error('[page error]', e.message));
      return page;
    },
    async kill() {
      killed = true;
      process.kill(-child.pid!, 'SIGKILL');
      await exited;
      await browser.close().catch(() => {}); // the CDP connection only
    },
    async close() {
      if (killed) return;
      await browser.close().catch(() => {});
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
      await exited;
    },
  };
}

/** Serves the app the browser project's global setup built. */
export async function serveBuiltApp(): Promise<{ url: string; close(): Promise<void> }> {
  const outDir = process.env[SHARED_DIST_ENV];
  if (!outDir) throw new Error(`${SHARED_DIST_ENV} is not set: run this through the browser project (vitest run --project browser FILE).`);
  const server: PreviewServer = await preview({ logLevel: 'warn', build: { outDir }, preview: { port: 0, host: '127.0.0.1' } });
  const address = server.httpServer.address();
  if (!address || typeof address === 'string') throw new Error('vite preview did not report a port');
  return { url: `http://127.0.0.1:${address.port}/`, close: () => new Promise<void>((res) => server.httpServer.close(() => res())) };
}

/** Rows per object store of the app's database, for one dataset (read in the page, straight from IndexedDB). */
export function countRowsInPage(page: Page, datasetId: string): Promise<Record<string, number>> {
  return page.evaluate(async (id) => {
    const db = await new Promise<IDBDatabase>((res, rej) => {
      const r = indexedDB.open('expandr');
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    const range = IDBKeyRange.bound([id], [id, []]);
    const stores = ['docs', 'queries', 'qrels', 'artifacts'];
    const tx = db.transaction(['datasets', ...stores]);
    const count = (name: string, q: IDBValidKey | IDBKeyRange) =>
      new Promise<number>((res, rej) => {
        const r = tx.objectStore(name).count(q);
        r.onsuccess = () => res(r.result);
        r.onerror = () => rej(r.error);
      });
    const out: Record<string, number> = { datasets: await count('datasets', id) };
    for (const s of stores) out[s] = await count(s, range);
    db.close();
    return out;
  }, datasetId);
}

/** Every dataset row (id, name, status, counts), straight from IndexedDB. */
export function datasetRowsInPage(page: Page): Promise<{ id: string; name: string; status: string; counts: { docs: number } }[]> {
  return page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((res, rej) => {
      const r = indexedDB.open('expandr');
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    const rows = await new Promise<unknown[]>((res, rej) => {
      const r = db.transaction('datasets').objectStore('datasets').getAll();
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    db.close();
    return rows as { id: string; name: string; status: string; counts: { docs: number } }[];
  });
}
