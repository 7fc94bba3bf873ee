#!/usr/bin/env node
// `npm run -s build:report`: builds the app (vite build, into a temporary folder unless --out is given)
// and prints bytes per chunk, raw and gzip, grouped by who loads it and when:
//   main    what index.html loads eagerly (its entry chunk, the chunks that imports statically, their CSS)
//   lazy    chunks loaded later through import(), on the page or inside a worker
//   worker  each worker's entry chunk and what it imports statically (loaded when the worker starts)
//   assets  other files fetched on demand (the tfjs .wasm binaries, icons)
// The chunk graph comes from Rollup's output metadata (the page's build and, through a plugin handed to
// Vite's worker builds, each worker's), not from parsing minified code.
// Last line: what the main chunks hold, by package or source folder.
// Options: --json prints one JSON object instead of the table; --out DIR keeps the build there.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';

const ROOT = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const json = args.includes('--json');
const outArg = args.includes('--out') ? args[args.indexOf('--out') + 1] : null;
const outDir = outArg ? resolve(outArg) : mkdtempSync(join(tmpdir(), 'expandr-build-report-'));

/** Each worker bundle's chunks as Rollup hands them to generateBundle (nested workers included). */
const workerBundles = [];
const collectWorkerBundle = () => ({
  name: 'expandr-build-report-worker-graph',
  generateBundle(_options, bundle) {
    workerBundles.push(Object.values(bundle).filter((f) => f.type === 'chunk'));
  },
});

const output = await build({
  root: ROOT,
  logLevel: 'warn',
  build: { outDir, emptyOutDir: true },
  worker: { plugins: () => [collectWorkerBundle()] },
});
const pageChunks = (Array.isArray(output) ? output : [output]).flatMap((o) => o.output).filter((f) => f.type === 'chunk');

/** fileName -> group label; first claim wins (main before lazy, a worker's entry before its lazy chunks). */
const group = new Map();
const claim = (file, label) => group.has(file) || group.set(file, label);
/** The chunk and everything it imports statically, with the CSS each of them imports. */
function staticClosure(entry, byName) {
  const seen = new Set();
  const visit = (name) => {
    if (seen.has(name) || !byName.has(name)) return;
    seen.add(name);
    const c = byName.get(name);
    for (const css of c.viteMetadata?.importedCss ?? []) seen.add(css);
    for (const i of c.imports) visit(i);
  };
  visit(entry.fileName);
  return seen;
}

const pageByName = new Map(pageChunks.map((c) => [c.fileName, c]));
for (const entry of pageChunks.filter((c) => c.isEntry)) for (const f of staticClosure(entry, pageByName)) claim(f, 'main');
for (const c of pageChunks) for (const f of staticClosure(c, pageByName)) claim(f, 'lazy (page)');
for (const chunks of workerBundles) {
  const byName = new Map(chunks.map((c) => [c.fileName, c]));
  const entry = chunks.find((c) => c.isEntry);
  const label = `worker ${entry.name}`;
  for (const f of staticClosure(entry, byName)) claim(f, label);
  for (const c of chunks) for (const f of staticClosure(c, byName)) claim(f, `lazy (${entry.name})`);
}

/** Every file the build wrote, sized; files no graph claimed are assets. */
const files = listFiles(outDir)
  .filter((rel) => !rel.startsWith('.vite/'))
  .map((rel) => {
    const bytes = readFileSync(join(outDir, rel));
    const label = rel === 'index.html' ? 'main' : (group.get(rel) ?? 'assets');
    return { file: rel, group: label, raw: bytes.length, gzip: gzipSync(bytes).length };
  });

/** What the main chunks hold, by package or source folder (Rollup's rendered bytes, before minification). */
const mainParts = {};
for (const c of pageChunks.filter((c) => group.get(c.fileName) === 'main')) {
  for (const [id, m] of Object.entries(c.modules)) {
    const pkg = id.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1];
    const part = pkg ?? (id.startsWith(ROOT) ? id.slice(ROOT.length + 1).split('/').slice(0, 2).join('/') : 'other');
    mainParts[part] = (mainParts[part] ?? 0) + m.renderedLength;
  }
}

const ORDER = (g) => (g === 'main' ? 0 : g.startsWith('worker') ? 1 : g.startsWith('lazy') ? 2 : 3);
const groups = [...new Set(files.map((f) => f.group))].sort((a, b) => ORDER(a) - ORDER(b) || a.localeCompare(b));
const sum = (list, k) => list.reduce((s, f) => s + f[k], 0);
const report = {
  groups: groups.map((g) => {
    const list = files.filter((f) => f.group === g).sort((a, b) => b.raw - a.raw);
    return { group: g, raw: sum(list, 'raw'), gzip: sum(list, 'gzip'), files: list.map(({ group: _g, ...f }) => f) };
  }),
  total: { raw: sum(files, 'raw'), gzip: sum(files, 'gzip'), files: files.length },
  mainHolds: Object.fromEntries(Object.entries(mainParts).sort((a, b) => b[1] - a[1])),
};

if (json) console.log(JSON.stringify(report));
else {
  const kb = (n) => (n / 1024).toFixed(1).padStart(9) + ' KiB';
  const line = (name, raw, gz) => console.log(`  ${name.padEnd(60)} ${kb(raw)} ${kb(gz)}`);
  console.log(`  ${''.padEnd(60)} ${'raw'.padStart(13)} ${'gzip'.padStart(13)}`);
  for (const g of report.groups) {
    console.log(`${g.group}`);
    for (const f of g.files) line(f.file, f.raw, f.gzip);
    line(`= ${g.group}`, g.raw, g.gzip);
  }
  line(`total (${report.total.files} files)`, report.total.raw, report.total.gzip);
  const holds = Object.entries(report.mainHolds).filter(([, n]) => n >= 1024);
  console.log(`main holds (KiB before minification): ${holds.map(([p, n]) => `${p} ${(n / 1024).toFixed(0)}`).join(', ')}`);
}
if (!outArg) rmSync(outDir, { recursive: true, force: true });

function listFiles(dir, prefix = '') {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const rel = prefix ? `${prefix}/${name}` : name;
      return statSync(join(dir, name)).isDirectory() ? listFiles(join(dir, name), rel) : [rel];
    });
}
