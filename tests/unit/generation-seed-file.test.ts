// `experiment --generations FILE`: committed generations poured into a run's cache, plain or gzipped, with
// their engine and precision; bad files name the file and line and add nothing.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { FileGenerationCache } from '../../src/cli/generation-cache-file.ts';
import { readGenerationEntries, seedGenerationCache } from '../../src/cli/generation-seed-file.ts';
import { FileFormatError } from '../../src/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'expandr-genseed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const key = (c: string) => c.repeat(64);
const LINES = [
  { key: key('a'), text: 'alpha', engine: 'llama.cpp', precision: 'Q4_1' },
  { key: key('b'), text: 'beta' }, // written before engines were recorded
  { key: key('c'), text: 'gamma\nwith a newline', engine: 'tfjs', precision: 'f32' },
];
const jsonl = LINES.map((l) => JSON.stringify(l)).join('\n') + '\n';

describe('experiment --generations', () => {
  it('reads the generations committed beside the verdict config: one line per key, each with its engine', () => {
    const committed = readGenerationEntries(join(import.meta.dirname, '../../experiments/scifact-smollm2-minilm/generations.jsonl.gz'));
    expect(committed.length).toBeGreaterThan(0);
    expect(new Set(committed.map((e) => e[0])).size).toBe(committed.length);
    expect(committed.every((e) => e[2]?.engine === 'llama.cpp')).toBe(true);
  });

  it('reads plain and gzipped files alike, keeping engine and precision', () => {
    writeFileSync(join(dir, 'g.jsonl'), jsonl);
    writeFileSync(join(dir, 'g.jsonl.gz'), gzipSync(jsonl));
    const plain = readGenerationEntries(join(dir, 'g.jsonl'));
    expect(plain).toEqual([
      [key('a'), 'alpha', { engine: 'llama.cpp', precision: 'Q4_1' }],
      [key('b'), 'beta'],
      [key('c'), 'gamma\nwith a newline', { engine: 'tfjs', precision: 'f32' }],
    ]);
    expect(readGenerationEntries(join(dir, 'g.jsonl.gz'))).toEqual(plain);
  });

  it('adds only the keys the cache lacks, and the cache file then holds them for the run', async () => {
    const out = join(dir, 'run');
    const cache = new FileGenerationCache(out);
    await cache.putMany([[key('a'), 'already here']]);
    expect(await seedGenerationCache(cache, [join(dir, 'g.jsonl.gz')])).toEqual({ added: 2, read: 3 });
    expect(await cache.get(key('a'))).toBe('already here');
    const reread = new FileGenerationCache(out);
    expect(await reread.get(key('c'))).toBe('gamma\nwith a newline');
    expect(readFileSync(reread.file, 'utf8')).toContain('"engine":"tfjs","precision":"f32"');
    expect(await seedGenerationCache(reread, [join(dir, 'g.jsonl')])).toEqual({ added: 0, read: 3 });
  });

  it('names the file and line of a bad line, and the damage of a cut gzip, adding nothing', async () => {
    writeFileSync(join(dir, 'bad.jsonl'), jsonl + '{"key": "abc", "text": "x"}\n');
    const err = (() => {
      try {
        readGenerationEntries(join(dir, 'bad.jsonl'));
      } catch (e) {
        return e as FileFormatError;
      }
    })();
    expect(err).toBeInstanceOf(FileFormatError);
    expect(err?.message).toMatch(/bad\.jsonl.*4.*64 hex digits/s);
    writeFileSync(join(dir, 'notjson.jsonl'), '{"key": \n');
    expect(() => readGenerationEntries(join(dir, 'notjson.jsonl'))).toThrow(/notjson\.jsonl.*1.*not valid JSON/s);
    const gz = gzipSync(jsonl);
    writeFileSync(join(dir, 'cut.jsonl.gz'), gz.subarray(0, gz.length - 5));
    expect(() => readGenerationEntries(join(dir, 'cut.jsonl.gz'))).toThrow(/cut\.jsonl\.gz.*truncated or damaged/s);
    const cache = new FileGenerationCache(join(dir, 'untouched'));
    await expect(seedGenerationCache(cache, [join(dir, 'cut.jsonl.gz')])).rejects.toThrow(FileFormatError);
    expect(cache.size).toBe(0);
    expect(() => readGenerationEntries(join(dir, 'missing.jsonl'))).toThrow(/cannot read .*missing\.jsonl/);
  });
});
