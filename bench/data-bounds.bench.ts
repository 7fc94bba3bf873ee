// Peak memory and time of the runner on a zip whose corpus member inflates to 3 GB of blank lines
// (issue 18: under 2 GB peak, whatever a member inflates to). Prints measured figures, not a test.
//   npx tsx bench/data-bounds.bench.ts            the default limits: stopped at the inflate-ratio limit
//   npx tsx bench/data-bounds.bench.ts --full     also with --max-inflate-ratio raised: all 3 GB streamed
//   npx tsx bench/data-bounds.bench.ts --gb 10    another size (zip64 is not written: under 4 GiB)
// Runs `npm run -s expandr -- eval --data ZIP --split test --retriever bm25 --quiet` under /usr/bin/time -v
// (peak RSS of the largest process in the tree: the runner's node), from the project root.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beirZipMembers, deflateBomb, writeZipFile } from '../tests/unit/helpers/hostile-archives.ts';

const ROOT = resolve(import.meta.dirname, '..');
const TIME = '/usr/bin/time';
const argv = process.argv.slice(2);
const gb = Number(argv[argv.indexOf('--gb') + 1] ?? 3) || 3;
const size = Math.round(gb * 1e9);
if (size >= 2 ** 32) throw new Error('--gb: sizes of 4 GiB and more need zip64, which the generator does not write');

const dir = mkdtempSync(join(tmpdir(), 'data-bounds-'));
try {
  const zip = join(dir, `blank${gb}g.zip`);
  const t0 = performance.now();
  writeZipFile(zip, beirZipMembers(deflateBomb(size)));
  console.log(`${zip}: ${statSync(zip).size} bytes, corpus member inflates to ${size} bytes of '\\n' (built in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  const runs: [string, string[]][] = [['default limits', []]];
  if (argv.includes('--full')) runs.push(['--max-inflate-ratio 1000000', ['--max-inflate-ratio', '1000000']]);
  for (const [name, extra] of runs) {
    const cmd = ['npm', 'run', '-s', 'expandr', '--', 'eval', '--data', zip, '--split', 'test', '--retriever', 'bm25', '--quiet', ...extra];
    const timed = existsSync(TIME) ? [TIME, '-v', ...cmd] : cmd;
    const t = performance.now();
    const r = spawnSync(timed[0], timed.slice(1), { cwd: ROOT, encoding: 'utf8' });
    const wall = (performance.now() - t) / 1000;
    const peakKb = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1];
    const answer = r.stderr.split('\n').find((l) => l.startsWith('expandr:')) ?? '(no error line)';
    console.log(`\n${name}: exit ${r.status}, ${wall.toFixed(1)} s to the answer, peak RSS ${peakKb ? `${(Number(peakKb) / 1024).toFixed(0)} MiB` : `unknown (no ${TIME})`}`);
    console.log(`  ${answer}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
