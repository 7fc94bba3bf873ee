// Cost as work grows, in Chromium: the page side of bench/scale.bench.ts. Each size in a fresh tab
// (bench/pages/scale-page.ts): import a synthetic BEIR folder served over HTTP into IndexedDB, build the BM25
// index from the stored documents, search the 300 test queries, then per precision store random unit
// embeddings (384-d) as the app stores corpus embeddings and search 300 random queries exactly.
// Per stage: the page's time and JS heap peak (performance.memory) and, read here, the peak RSS (VmHWM, reset
// before each stage through /proc/PID/clear_refs) of the renderer and of the other chromium processes
// (IndexedDB's storage service runs outside the renderer).
//   npx tsx bench/scale-page.bench.ts                       10k, 100k, 1M; f32 and int8 embeddings
//   npx tsx bench/scale-page.bench.ts --sizes 10000 --precisions f32 --work /tmp/scale
// Folders are written by scale-corpus.ts under --work (shared with bench/scale.bench.ts). Prints measured
// figures and ratios to the smallest size; not a test.
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, normalize, resolve, sep } from 'node:path';
import { startHarness } from '../tests/browser/harness.ts';
import { formatBytes, textTable } from '../src/util/format.ts';
import { writeScaleCorpus } from './scale-corpus.ts';
import type { ScaleStage, ScaleStageResult } from './pages/scale-page.ts';

const PAGE = 'bench/pages/scale-page.html';
const FILES = ['corpus.jsonl', 'queries.jsonl', 'qrels/test.tsv'];

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

/** Serves `root` with CORS (the page's origin is vite preview's). */
async function fileServer(root: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const file = normalize(join(root, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)));
    res.setHeader('Access-Control-Allow-Origin', '*');
    let size = -1;
    try {
      size = file.startsWith(root + sep) && statSync(file).isFile() ? statSync(file).size : -1;
    } catch {
      size = -1;
    }
    if (size < 0) return void res.writeHead(404).end('not found');
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': size });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise<void>((ok) => server.close(() => ok())) };
}

/** Chromium processes below this one: pid → kind ('browser', 'renderer', 'gpu-process', 'utility'). */
function chromiumTree(): Map<number, string> {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' }).trim().split('\n');
  const parent = new Map<number, number>();
  const args = new Map<number, string>();
  for (const row of rows) {
    const m = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(row);
    if (m) parent.set(Number(m[1]), Number(m[2])), args.set(Number(m[1]), m[3]!);
  }
  const mine = (pid: number) => {
    for (let p = pid, i = 0; p > 1 && i < 50; p = parent.get(p) ?? 0, i++) if (p === process.pid) return true;
    return false;
  };
  const out = new Map<number, string>();
  for (const [pid, a] of args) if (/chrom/i.test(a.split(' ')[0]!) && mine(pid)) out.set(pid, /--type=([\w-]+)/.exec(a)?.[1] ?? 'browser');
  return out;
}

function procBytes(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0; // ended
  }
}

interface Row extends ScaleStageResult {
  size: number;
  stage: string;
  rendererBefore: number;
  rendererPeak: number;
  otherPeak: number;
}

const sizes = arg('--sizes', '10000,100000,1000000').split(',').map(Number);
const precisions = arg('--precisions', 'f32,int8').split(',');
const threads = Number(arg('--threads', String(cpus().length)));
const work = resolve(arg('--work', join(tmpdir(), 'expandr-scale')));
mkdirSync(work, { recursive: true });
for (const n of sizes) await writeScaleCorpus(join(work, `scale-${n}`), n);
const chromium = execFileSync('/usr/bin/chromium', ['--version'], { encoding: 'utf8' }).trim();
console.log(`${chromium}, ${cpus().length} × ${cpus()[0]?.model}, ${formatBytes(totalmem())} RAM; load average at start ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

const server = await fileServer(work);
const h = await startHarness(['--enable-precise-memory-info'], { pages: [PAGE] });
const rows: Row[] = [];
try {
  for (const n of sizes) {
    const page = await h.newPage();
    await page.goto(`${h.url}${PAGE}`);
    await page.waitForFunction(() => typeof window.scaleStage === 'function');
    const files = FILES.map((f) => ({ path: `scale-${n}/${f}`, url: `${server.url}scale-${n}/${f}`, size: statSync(join(work, `scale-${n}`, f)).size }));
    const stages: ScaleStage[] = [
      { stage: 'setup', threads },
      { stage: 'import', files },
      { stage: 'bm25 index' },
      { stage: 'bm25 search' },
      ...precisions.flatMap((precision): ScaleStage[] => [{ stage: 'write embeddings', precision }, { stage: 'dense search', precision }]),
      { stage: 'clear' },
    ];
    for (const s of stages) {
      const tree = chromiumTree();
      const rendererBefore = Math.max(0, ...[...tree].filter(([, k]) => k === 'renderer').map(([pid]) => procBytes(pid, 'VmRSS')));
      for (const pid of tree.keys()) {
        try {
          writeFileSync(`/proc/${pid}/clear_refs`, '5');
        } catch {
          // a process that ended, or one we may not reset: its peak is then the peak so far
        }
      }
      const r = await page.evaluate((st) => window.scaleStage(st), s);
      const after = chromiumTree();
      const peak = (renderer: boolean) => Math.max(0, ...[...after].filter(([, k]) => (k === 'renderer') === renderer).map(([pid]) => procBytes(pid, 'VmHWM')));
      const name = 'precision' in s ? `${s.stage} ${s.precision}` : s.stage;
      const row: Row = { ...r, size: n, stage: name, rendererBefore, rendererPeak: peak(true), otherPeak: peak(false) };
      rows.push(row);
      console.log(`${n.toLocaleString('en-US')} · ${name}: ${(r.ms / 1000).toFixed(2)} s, heap peak ${formatBytes(r.peakHeap)}, renderer peak RSS ${formatBytes(row.rendererPeak)} (${formatBytes(rendererBefore)} before), other processes' peak ${formatBytes(row.otherPeak)} ${JSON.stringify(r.extra)}`);
    }
    await page.close();
    console.log(`  load average now ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  }
} finally {
  await h.close();
  await server.close();
}

const sorted = [...sizes].sort((a, b) => a - b);
const measured = rows.filter((r) => r.stage !== 'setup' && r.stage !== 'clear');
console.log('\nScale table (Chromium, one tab per size; time/doc ratio: time per document over that of the next smaller size, 1.00 = linear):');
console.log(
  textTable(
    ['stage', 'docs', 'time', 'docs/s', 'time/doc ratio', 'JS heap peak', 'renderer RSS before', 'renderer peak RSS', 'other chromium peak'],
    measured.map((r) => {
      const base = measured.find((b) => b.size === sorted[sorted.indexOf(r.size) - 1] && b.stage === r.stage);
      return [
        r.stage,
        r.size.toLocaleString('en-US'),
        `${(r.ms / 1000).toFixed(2)} s`,
        `${((r.size / r.ms) * 1000).toFixed(0)}`,
        base ? (r.ms / r.size / (base.ms / base.size)).toFixed(2) : '',
        formatBytes(r.peakHeap),
        formatBytes(r.rendererBefore),
        formatBytes(r.rendererPeak),
        formatBytes(r.otherPeak),
      ];
    }),
  ),
);
console.log(`load average at the end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const jsonOut = arg('--json', '');
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(rows, null, 1));
process.exit(0);
