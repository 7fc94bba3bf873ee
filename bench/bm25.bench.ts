// Benchmark: BM25 on SciFact (index time, queries/s) and the import of a synthetic corpus 10× SciFact
// (time, peak memory), each size measured in a fresh child process so peaks do not mix.
//   npm run -s bench:bm25            all of it
//   npm run -s bench:bm25 -- --scale 20
// Prints measured figures; nothing here is a pass/fail test.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDBFactory } from 'fake-indexeddb';
import 'fake-indexeddb/auto';
import { sourcesFromPath } from '../src/data/node-sources.ts';
import { loadBeir } from '../src/data/load.ts';
import { detectLayout } from '../src/data/layout.ts';
import { readBeir } from '../src/data/read-beir.ts';
import { WarningLog } from '../src/data/warnings.ts';
import { importBeir } from '../src/store/import-beir.ts';
import { openStore } from '../src/store/store.ts';
import { buildBm25Index, searchBm25 } from '../src/retrieval/bm25/index.ts';
import { writeSyntheticCorpus } from './synthetic-corpus.ts';
import { formatBytes, textTable } from '../src/util/format.ts';

const SCIFACT = join(import.meta.dirname, '../../shared/data/beir/scifact');
const SEARCH_REPEATS = 5;
const SAMPLE_MS = 20;

/** Peak RSS / heap sampled while `fn` runs. */
async function withPeakMemory<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number; peakRss: number; peakHeap: number }> {
  global.gc?.();
  let peakRss = 0;
  let peakHeap = 0;
  const sample = () => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed + m.arrayBuffers);
  };
  const timer = setInterval(sample, SAMPLE_MS);
  const t0 = performance.now();
  try {
    const value = await fn();
    sample();
    return { value, ms: performance.now() - t0, peakRss, peakHeap };
  } finally {
    clearInterval(timer);
  }
}

async function benchBm25(): Promise<void> {
  const data = await loadBeir(await sourcesFromPath(SCIFACT));
  const queries = [...data.queries.values()].filter((q) => data.qrels.get('test')!.has(q.id));
  const t0 = performance.now();
  const index = await buildBm25Index(data.docs, { k1: 0.9, b: 0.4, totalDocs: data.docs.length });
  const indexMs = performance.now() - t0;
  await searchBm25(index, queries, { k: 1000 }); // warm-up
  const t1 = performance.now();
  for (let i = 0; i < SEARCH_REPEATS; i++) await searchBm25(index, queries, { k: 1000 });
  const searchMs = (performance.now() - t1) / SEARCH_REPEATS;
  const t2 = performance.now();
  for (let i = 0; i < SEARCH_REPEATS; i++) await searchBm25(index, queries, { k: 10 });
  const search10Ms = (performance.now() - t2) / SEARCH_REPEATS;
  console.log(`\nBM25 on SciFact (${data.docs.length} docs, ${queries.length} test queries), Node ${process.version}:`);
  console.log(
    textTable(
      ['measure', 'value'],
      [
        ['index build', `${indexMs.toFixed(0)} ms (${((data.docs.length / indexMs) * 1000).toFixed(0)} docs/s)`],
        ['search, top 1000', `${searchMs.toFixed(1)} ms (${((queries.length / searchMs) * 1000).toFixed(0)} queries/s)`],
        ['search, top 10', `${search10Ms.toFixed(1)} ms (${((queries.length / search10Ms) * 1000).toFixed(0)} queries/s)`],
      ],
    ),
  );
}

/** Child-process mode: one measurement of one folder, printed as JSON. */
async function measureOne(mode: 'stream' | 'import', dir: string): Promise<void> {
  const sources = await sourcesFromPath(dir);
  const r = await withPeakMemory(async () => {
    if (mode === 'stream') {
      // The import's single pass (gunzip, lines, JSON, validation, checksums) into a sink that keeps nothing.
      let docs = 0;
      const layout = await detectLayout(sources, new WarningLog());
      await readBeir(layout, { queries: async () => {}, docs: async (b) => void (docs += b.length), qrels: async () => {} }, new WarningLog(), {});
      return docs;
    }
    const store = await openStore({ dbName: 'bench', idbFactory: new IDBFactory() });
    const { dataset } = await importBeir(store, sources, { estimate: async () => ({ quota: 1e12, usage: 0 }) });
    return dataset.counts.docs;
  });
  console.log(JSON.stringify({ docs: r.value, ms: r.ms, peakRss: r.peakRss, peakHeap: r.peakHeap }));
}

/**
 * The streaming pass runs under a V8 old-space cap far below the uncompressed ×10 corpus (81 MB of text,
 * ~160 MB as JS strings): it can only finish if memory is bounded. Sampled peaks alone depend on GC timing.
 */
const STREAM_HEAP_CAP_MB = 48;

function child(mode: string, dir: string): { docs: number; ms: number; peakRss: number; peakHeap: number } {
  const cap = mode === 'stream' ? [`--max-old-space-size=${STREAM_HEAP_CAP_MB}`] : [];
  const out = execFileSync(process.execPath, [...cap, '--expose-gc', '--import', 'tsx', import.meta.filename, '--child', mode, dir], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out.trim().split('\n').pop()!);
}

async function benchImport(scale: number): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'expandr-bench-'));
  try {
    const one = join(work, 'scifact');
    mkdirSync(join(one, 'qrels'), { recursive: true });
    for (const f of ['corpus.jsonl.gz', 'queries.jsonl', 'qrels/test.tsv', 'qrels/train.tsv']) copyFileSync(join(SCIFACT, f), join(one, f));
    const big = join(work, `scifact-x${scale}`);
    await writeSyntheticCorpus(SCIFACT, big, scale);
    const sizes = [one, big].map((d) => statSync(join(d, 'corpus.jsonl.gz')).size);
    const rows: string[][] = [];
    for (const mode of ['stream', 'import'] as const) {
      for (const [i, dir] of [one, big].entries()) {
        const r = child(mode, dir);
        rows.push([
          mode === 'stream' ? `streaming pass (old space ≤ ${STREAM_HEAP_CAP_MB} MB)` : 'import → IndexedDB (fake, in memory)',
          i === 0 ? 'SciFact ×1' : `SciFact ×${scale}`,
          r.docs.toLocaleString('en-US'),
          formatBytes(sizes[i]),
          `${(r.ms / 1000).toFixed(2)} s`,
          `${((r.docs / r.ms) * 1000).toFixed(0)}`,
          formatBytes(r.peakRss),
          formatBytes(r.peakHeap),
        ]);
      }
    }
    console.log(`\nImport of SciFact and a synthetic ×${scale} corpus (each row a fresh process; peaks sampled every ${SAMPLE_MS} ms):`);
    console.log(textTable(['path', 'corpus', 'docs', 'gz size', 'time', 'docs/s', 'peak RSS', 'peak heap+buffers'], rows));
    console.log(
      'The streaming pass is what the import does before writing: its peak must not grow with the corpus.\n' +
        'The fake-indexeddb rows keep every row in memory by design (it is the store, not the reader); in the\n' +
        'browser the rows go to disk.',
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') {
  await measureOne(argv[1] as 'stream' | 'import', argv[2]);
} else {
  const scale = argv[0] === '--scale' ? Number(argv[1]) : 10;
  await benchBm25();
  await benchImport(scale);
}
