// Cost as work grows, in Node: synthetic BEIR folders of 10k, 100k and 1M SciFact-like documents
// (bench/scale-corpus.ts), and for each size, in fresh child processes:
//   import       the runner's loader (loadBeir on the folder: corpus.jsonl, queries.jsonl, qrels/test.tsv)
//   bm25 index   buildBm25Index over the loaded documents
//   bm25 search  the 300 SciFact test queries, top 1000
//   dense search 300 random unit queries × the corpus's random unit embeddings (384-d), exact, top 1000,
//                read chunk by chunk from the runner's embedding files (FileChunkStore), at each --precisions
// Each stage: wall time and the child's peak RSS during it (VmHWM reset per stage; scale-measure.ts).
//   npx tsx bench/scale.bench.ts                                  10k, 100k, 1M; f32 and int8 embeddings
//   npx tsx bench/scale.bench.ts --sizes 10000,100000 --precisions f32 --work /tmp/scale
// Corpora are kept under --work (default $TMPDIR/expandr-scale) for the next run and the page variant.
// Prints measured figures and ratios to the smallest size; not a test.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir, cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { formatBytes, textTable } from '../src/util/format.ts';
import type { StageRecord } from './scale-measure.ts';
import { writeScaleCorpus } from './scale-corpus.ts';

const QUERY_SEED = 2;
const DOC_SEED = 1;
const K = 1000;

async function childText(dir: string): Promise<void> {
  const { stage } = await import('./scale-measure.ts');
  const { sourcesFromPath } = await import('../src/data/node-sources.ts');
  const { loadBeir } = await import('../src/data/load.ts');
  const { splitQueries } = await import('../src/data/qrels.ts');
  const { buildBm25Index, searchBm25 } = await import('../src/retrieval/bm25/index.ts');
  const data = await stage('import', 0, async () => loadBeir(await sourcesFromPath(dir)), (d) => ({ docs: d.docs.length }));
  const n = data.docs.length;
  const index = await stage('bm25 index', n, () => buildBm25Index(data.docs, { totalDocs: n }), (i) => ({ terms: i.terms.length, postings: i.postingDocs.length }));
  const queries = splitQueries(data.queries.values(), data.qrels.get('test')!);
  await stage('bm25 search', n, () => searchBm25(index, queries, { k: K }), (run) => ({ queries: run.size, hits: [...run.values()].reduce((s, h) => s + h.length, 0) }));
}

async function childDense(dir: string, n: number, precision: string): Promise<void> {
  const { stage } = await import('./scale-measure.ts');
  const { parseBackend, useBackend } = await import('../src/cli/backend.ts');
  const { FileChunkStore } = await import('../src/retrieval/dense/file-chunks-node.ts');
  const { precisionStore } = await import('../src/retrieval/dense/precision-store.ts');
  const { parsePrecision } = await import('../src/retrieval/dense/precision.ts');
  const { EMBEDDINGS_FORMAT, DEFAULT_CHUNK_SIZE } = await import('../src/retrieval/dense/chunk-store.ts');
  const { denseCorpusFromStore, searchDense } = await import('../src/retrieval/dense/search.ts');
  const { randomUnitRows, EMBEDDING_DIM } = await import('./scale-embeddings.ts');
  const backend = await useBackend(parseBackend(undefined));
  const p = parsePrecision(precision);
  const root = join(dir, 'embeddings');
  rmSync(join(root, p), { recursive: true, force: true });
  const store = precisionStore(new FileChunkStore(root, p), p);
  const chunks = Math.ceil(n / DEFAULT_CHUNK_SIZE);
  const identity = { modelHash: 'random', corpusChecksum: `synthetic-${n}`, settings: { pooling: 'mean', normalize: true, queryPrefix: '', docPrefix: '', maxLength: 512 }, chunkSize: DEFAULT_CHUNK_SIZE } as const;
  const manifest = { ...identity, settings: { ...identity.settings }, precision: p, format: EMBEDDINGS_FORMAT, dim: EMBEDDING_DIM, chunksDone: 0, docsDone: 0, complete: false };
  // Writing the given embeddings is set-up (the runner's encoder would have written them), measured apart.
  await stage(`write ${p} embeddings`, n, async () => {
    await store.writeManifest(manifest as never);
    for (let c = 0; c < chunks; c++) {
      const first = c * DEFAULT_CHUNK_SIZE;
      const rows = Math.min(DEFAULT_CHUNK_SIZE, n - first);
      await store.writeChunk(c, { ids: Array.from({ length: rows }, (_, r) => `d${first + r}`), vectors: randomUnitRows(DOC_SEED, first, rows) });
    }
    await store.writeManifest({ ...manifest, chunksDone: chunks, docsDone: n, complete: true } as never);
  });
  const qids = Array.from({ length: 300 }, (_, i) => `q${i}`);
  const qv = randomUnitRows(QUERY_SEED, 0, qids.length);
  await stage(`dense search ${p}`, n, async () => searchDense(await denseCorpusFromStore(store), qids, qv, { k: K }), (run) => ({ backend, hits: [...run.values()].reduce((s, h) => s + h.length, 0), top: run.get('q0')![0]!.docId }));
  rmSync(join(root, p), { recursive: true, force: true });
}

function runChild(args: string[]): StageRecord[] {
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', import.meta.filename, '--child', ...args], { encoding: 'utf8', maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'inherit'] });
  return out.split('\n').filter((l) => l.startsWith('RECORD ')).map((l) => JSON.parse(l.slice(7)) as StageRecord);
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') {
  if (argv[1] === 'text') await childText(argv[2]!);
  else await childDense(argv[2]!, Number(argv[3]), argv[4]!);
  process.exit(0);
}

const sizes = arg('--sizes', '10000,100000,1000000').split(',').map(Number);
const precisions = arg('--precisions', 'f32,int8').split(',');
const work = resolve(arg('--work', join(tmpdir(), 'expandr-scale')));
mkdirSync(work, { recursive: true });
console.log(`Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model}, ${formatBytes(totalmem())} RAM; load average at start ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const records: (StageRecord & { size: number })[] = [];
for (const n of sizes) {
  const dir = join(work, `scale-${n}`);
  const t0 = performance.now();
  const c = await writeScaleCorpus(dir, n);
  console.log(`${dir}: ${n.toLocaleString('en-US')} docs, corpus.jsonl ${formatBytes(c.bytes)} (${c.reused ? 'reused' : `written in ${((performance.now() - t0) / 1000).toFixed(1)} s`})`);
  for (const r of runChild(['text', dir])) records.push({ ...r, size: n }), console.log(`  ${r.stage}: ${(r.ms / 1000).toFixed(2)} s, peak RSS ${formatBytes(r.peakRss)} (${formatBytes(r.rssBefore)} before) ${JSON.stringify(r.extra ?? {})}`);
  for (const p of precisions) {
    for (const r of runChild(['dense', dir, String(n), p])) records.push({ ...r, size: n }), console.log(`  ${r.stage}: ${(r.ms / 1000).toFixed(2)} s, peak RSS ${formatBytes(r.peakRss)} (${formatBytes(r.rssBefore)} before) ${JSON.stringify(r.extra ?? {})}`);
  }
  console.log(`  load average now ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

// Time per document against the next smaller size (1.00 = linear), and what the stage added per document.
const sorted = [...sizes].sort((a, b) => a - b);
const rows = records.map((r) => {
  const prev = sorted[sorted.indexOf(r.size) - 1];
  const base = records.find((b) => b.size === prev && b.stage === r.stage);
  const added = Math.max(0, r.peakRss - r.rssBefore);
  return [
    r.stage,
    r.size.toLocaleString('en-US'),
    `${(r.ms / 1000).toFixed(2)} s`,
    `${((r.size / r.ms) * 1000).toFixed(0)}`,
    base ? (r.ms / r.size / (base.ms / base.size)).toFixed(2) : '',
    formatBytes(r.rssBefore),
    formatBytes(r.peakRss),
    formatBytes(added),
    `${(added / r.size).toFixed(0)}`,
  ];
});
console.log('\nScale table (Node; each size in fresh children; time/doc ratio: time per document over that of the next smaller size, 1.00 = linear):');
console.log(textTable(['stage', 'docs', 'time', 'docs/s', 'time/doc ratio', 'RSS before', 'peak RSS', 'peak − before', 'B/doc'], rows));
console.log(`load average at the end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const jsonOut = arg('--json', '');
if (jsonOut) (await import('node:fs')).writeFileSync(jsonOut, JSON.stringify(records, null, 1));
