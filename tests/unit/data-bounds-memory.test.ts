// Peak memory, measured in child processes (process.resourceUsage().maxRSS of the process doing the
// work): the runner on a zip whose corpus inflates to 3 GB of blank lines ends with the ratio error
// under the 2 GB the project holds to, and a 256 MiB blank member read to its end (ratio limit raised)
// stays under a fixed bound far below what holding it would take. bench/data-bounds.bench.ts prints the
// figures for the full 3 GB read.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { beirZipMembers, deflateBomb, writeZipFile } from './helpers/hostile-archives.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const MiB = 2 ** 20;
/** The project's promise (issue 18): peak RSS whatever a member inflates to. */
const PEAK_RSS_LIMIT = 2 * 2 ** 30;
/**
 * Reading a 256 MiB member to its end, base process included (~115 MiB with tsx). Below base + 256 MiB,
 * so it cannot pass while the member is held whole. Measured 220-240 MiB (garbage awaiting a GC, the
 * same for any size); before inflation was fed in small pieces, ~900 MiB (one array, its doubling
 * buffer and a copy).
 */
const MEMBER_READ_RSS_BOUND = 320 * MiB;
const CHILD_TIMEOUT_MS = 120_000;

const dir = mkdtempSync(join(tmpdir(), 'bounds-memory-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tsxChild(script: string, args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, script), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: CHILD_TIMEOUT_MS,
  });
}

describe('peak memory on hostile archives', () => {
  it('the runner stops a zip with a 3 GB blank member with a clear error under 2 GB', { timeout: CHILD_TIMEOUT_MS }, () => {
    const zip = join(dir, 'blank3g.zip');
    writeZipFile(zip, beirZipMembers(deflateBomb(3e9)));
    const rssFile = join(dir, 'runner.rss');
    const r = tsxChild('tests/unit/helpers/rss-child.ts', ['eval', '--data', zip, '--split', 'test', '--retriever', 'bm25', '--quiet'], { RSS_OUT: rssFile });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^expandr: bomb\/corpus\.jsonl \(in blank3g\.zip\) line \d+: inflates more than 200× its compressed size/m);
    expect(r.stderr).toContain('--max-inflate-ratio N');
    const peak = Number(readFileSync(rssFile, 'utf8'));
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThan(PEAK_RSS_LIMIT);
  });

  it('reads a 256 MiB blank member to its end under a fixed bound (blank lines streamed and counted)', { timeout: CHILD_TIMEOUT_MS }, () => {
    const zip = join(dir, 'blank256m.zip');
    writeZipFile(zip, beirZipMembers(deflateBomb(256 * MiB)));
    const r = tsxChild('tests/unit/helpers/load-rss-child.ts', [zip]);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { error: string | null; maxRssBytes: number };
    // Read through: nothing but blank lines, so no documents.
    expect(out.error).toMatch(/^bomb\/corpus\.jsonl \(in blank256m\.zip\): the file is empty \(no documents\)/);
    expect(out.maxRssBytes).toBeLessThan(MEMBER_READ_RSS_BOUND);
  });
});
