import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { nodeCodeVersion } from './src/cli/code-version.ts';

// Cross-origin isolation (crossOriginIsolated: SharedArrayBuffer, so wasm threads: tfjs-backend-wasm's
// threaded SIMD build and onnxruntime-web's threads). COEP `credentialless` rather than `require-corp`:
// cross-origin no-cors loads still work (sent without cookies) and CORS fetches (the Hugging Face Hub)
// are unchanged. A deployment must send the same two headers.
const ISOLATION_HEADERS = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'credentialless' };

// One config for the app (Vite) and every test project (Vitest).
// unit: Node, fast, no browser. browser: Playwright + Debian chromium against a built app.
export default defineConfig({
  plugins: [svelte()],
  // The code version page run keys carry (src/app/run-list.ts): package version + git commit at build time.
  define: { __EXPANDR_CODE_VERSION__: JSON.stringify(nodeCodeVersion()) },
  worker: { format: 'es' },
  server: { host: '127.0.0.1', port: 5173, headers: ISOLATION_HEADERS },
  preview: { host: '127.0.0.1', port: 4173, headers: ISOLATION_HEADERS },
  test: {
    // Test files in parallel, at least two: vitest's default (cores - 1) is one worker on a 2-core machine,
    // and a unit test file mostly computes on one core (tfjs' cpu backend, and tfjs-wasm single-threaded in
    // Node: src/encoder/wasm-threads.ts), leaving the other idle. scripts/test.sh caps the browser project at
    // two files (two Chromiums) on bigger machines too.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          environment: 'node',
          include: ['tests/unit/**/*.test.ts', 'tests/reference/**/*.test.ts'],
          // idb checks `instanceof IDBRequest`: the IndexedDB classes must be globals in Node.
          setupFiles: ['fake-indexeddb/auto', 'tests/unit/setup-lean-gradients.ts'],
          testTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          environment: 'node',
          include: ['tests/browser/**/*.test.ts'],
          globalSetup: ['tests/browser/global-setup.ts'],
          testTimeout: 600_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
