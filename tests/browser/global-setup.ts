// Builds the app once for every browser test file (with the test-only pages beside it) and hands the
// folder to the harness through an environment variable the forked test workers inherit: one build
// instead of one per file.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'vite';
import { SHARED_DIST_ENV } from './harness.ts';

const ROOT = join(import.meta.dirname, '../..');

export default async function setup() {
  const outDir = mkdtempSync(join(tmpdir(), 'expandr-dist-'));
  const pages = readdirSync(join(ROOT, 'tests/browser/pages'))
    .filter((f) => f.endsWith('.html'))
    .map((f) => join(ROOT, 'tests/browser/pages', f));
  await build({ root: ROOT, logLevel: 'warn', build: { outDir, emptyOutDir: true, rollupOptions: { input: [join(ROOT, 'index.html'), ...pages] } } });
  process.env[SHARED_DIST_ENV] = outDir;
  return () => {
    delete process.env[SHARED_DIST_ENV];
    rmSync(outDir, { recursive: true, force: true });
  };
}
