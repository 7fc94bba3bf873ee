// Browser-test harness: builds the app once, serves it with `vite preview` on a free port, and launches
// Debian chromium through playwright-core with the flags this machine needs (DESIGN.md §3).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, preview, type PreviewServer } from 'vite';
import { chromium, type Page } from 'playwright-core';


/** Set by tests/browser/global-setup.ts (the forked test workers inherit it). */
export const SHARED_DIST_ENV = 'EXPANDR_TEST_DIST';
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--enable-unsafe-webgpu',
  '--enable-unsafe-swiftshader',
];

export interface Harness {
  url: string;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /**
   * Test-only HTML pages (paths from the project root, e.g. 'tests/browser/pages/bert-webgpu.html') built
   * beside the app and served at the same relative path.
   */
  pages?: string[];
}

export async function startHarness(extraFlags: string[] = [], opts: HarnessOptions = {}): Promise<Harness> {
  // The browser project's global setup built the app (and every test page) once; build here only when
  // the harness runs outside it (a benchmark script).
  const shared = process.env[SHARED_DIST_ENV];
  const outDir = shared ?? mkdtempSync(join(tmpdir(), 'expandr-dist-'));
  if (!shared) {
    const root = join(import.meta.dirname, '../..');
    const input = opts.pages?.length ? [join(root, 'index.html'), ...opts.pages.map((p) => join(root, p))] : undefined;
    await build({ logLevel: 'warn', build: { outDir, emptyOutDir: true, ...(input ? { rollupOptions: { input } } : {}) } });
  }
  const server: PreviewServer = await preview({ logLevel: 'warn', build: { outDir }, preview: { port: 0, host: '127.0.0.1' } });
  const address = server.httpServer.address();
  if (!address || typeof address === 'string') throw new Error('vite preview did not report a port');
  const url = `http://127.0.0.1:${address.port}/`;
  const userDataDir = mkdtempSync(join(tmpdir(), 'expandr-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_FLAGS, ...extraFlags],
  });
  return {
    url,
    async newPage() {
      const page = await context.newPage();
      page.on('pageerror', (e) => console.error('[page error]', e.message));
      return page;
    },
    async close() {
      await context.close();
      await new Promise<void>((res) => server.httpServer.close(() => res()));
      rmSync(userDataDir, { recursive: true, force: true });
      if (!shared) rmSync(outDir, { recursive: true, force: true });
    },
  };
}

/** Dispatches a real `drop` event carrying these files (name → bytes) on the element matching `selector`. */
export async function dropFiles(page: Page, selector: string, files: { name: string; bytes: Buffer }[]): Promise<void> {
  const payload = files.map((f) => ({ name: f.name, b64: f.bytes.toString('base64') }));
  await page.evaluate(
    ({ selector, payload }) => {
      const dt = new DataTransfer();
      for (const f of payload) {
        const bin = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
        dt.items.add(new File([bin], f.name));
      }
      const target = document.querySelector(selector);
      if (!target) throw new Error(`no element ${selector}`);
      target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    },
    { selector, payload },
  );
}
