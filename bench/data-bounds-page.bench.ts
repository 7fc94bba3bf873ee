// The page's side of bench/data-bounds.bench.ts: drop a zip whose corpus inflates to 3 GB of blank lines
// into the app in Debian chromium and measure the time to the error the page shows and the peak RSS
// (VmHWM) of each chromium process (the import runs in the core worker, inside the renderer).
//   npx tsx bench/data-bounds-page.bench.ts          builds the app first (vite build), then measures
// Prints measured figures, not a test.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dropFiles, startHarness } from '../tests/browser/harness.ts';
import { beirZipMembers, deflateBomb, zipBytes } from '../tests/unit/helpers/hostile-archives.ts';

const SIZE = 3e9;
const SAMPLE_MS = 100;
const ERROR_TIMEOUT_MS = 300_000;

/** Chromium processes started by this one: pid → a short kind ('browser', 'renderer', 'gpu-process', ...). */
function chromiumTree(): Map<number, string> {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' }).trim().split('\n');
  const parent = new Map<number, number>();
  const args = new Map<number, string>();
  for (const row of rows) {
    const m = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(row);
    if (m) parent.set(Number(m[1]), Number(m[2])), args.set(Number(m[1]), m[3]);
  }
  const mine = (pid: number) => {
    for (let p = pid, i = 0; p > 1 && i < 50; p = parent.get(p) ?? 0, i++) if (p === process.pid) return true;
    return false;
  };
  const out = new Map<number, string>();
  for (const [pid, a] of args) {
    if (!/chrom/i.test(a.split(' ')[0]) || !mine(pid)) continue;
    out.set(pid, /--type=([\w-]+)/.exec(a)?.[1] ?? 'browser');
  }
  return out;
}

function hwmBytes(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0; // the process ended
  }
}

const zip = Buffer.from(zipBytes(beirZipMembers(deflateBomb(SIZE))));
console.log(`zip: ${zip.length} bytes, corpus member inflates to ${SIZE} bytes of '\\n'`);
const h = await startHarness();
try {
  const page = await h.newPage();
  await page.goto(h.url);
  await page.getByText('No dataset stored yet.').waitFor();
  const peak = new Map<number, { kind: string; bytes: number }>();
  const sample = () => {
    for (const [pid, kind] of chromiumTree()) peak.set(pid, { kind, bytes: Math.max(peak.get(pid)?.bytes ?? 0, hwmBytes(pid)) });
  };
  sample();
  const before = new Map([...peak].map(([pid, p]) => [pid, p.bytes]));
  const timer = setInterval(sample, SAMPLE_MS);
  const t0 = performance.now();
  await dropFiles(page, '[data-testid="dropzone"]', [{ name: 'blank3g.zip', bytes: zip }]);
  const message = page.getByTestId('message');
  await message.filter({ hasText: 'corpus.jsonl' }).waitFor({ timeout: ERROR_TIMEOUT_MS });
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(timer);
  sample();
  console.log(`page: ${seconds.toFixed(1)} s from the drop to the message (timed from this side, 100 ms sampling)`);
  console.log(`  ${(await message.textContent())?.trim()}`);
  console.log('peak RSS (VmHWM) per chromium process, before the drop → at the end:');
  for (const [pid, p] of [...peak].sort((a, b) => b[1].bytes - a[1].bytes)) {
    console.log(`  ${p.kind.padEnd(12)} pid ${pid}: ${((before.get(pid) ?? 0) / 2 ** 20).toFixed(0)} → ${(p.bytes / 2 ** 20).toFixed(0)} MiB`);
  }
} finally {
  await h.close();
}
