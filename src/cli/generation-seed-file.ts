// Generations recorded elsewhere (a committed experiments/NAME/generations.jsonl.gz, another run's cache)
// poured into a run's generation cache before it starts: generation keys hold the model bytes, prompt,
// sampling and seed, so a line whose key the run never asks for is simply never read, and a run resumed on
// another machine does not sample again what was already sampled. Plain or gzipped JSON Lines, the format of
// generation-cache-file.ts.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { FileFormatError, UsageError } from '../errors.ts';
import { forEachJsonLine } from '../util/json-lines.ts';
import type { GenerationCache, GenerationCacheEntry } from '../pipeline/types.ts';

const FIX = 'Each line must be {"key": "<64 hex digits>", "text": "…", "engine"?: "…", "precision"?: "…"} (a runner\'s generations.jsonl, gzipped or not)';
const KEY = /^[0-9a-f]{64}$/;

/** The entries of a generations file (.gz by its magic bytes), in file order; errors name the file and line. */
export function readGenerationEntries(file: string): GenerationCacheEntry[] {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new UsageError(`--generations: cannot read ${file} (${(e as Error).message}).`);
  }
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new FileFormatError(file, null, `the gzip data is truncated or damaged (${(e as Error).message})`, 'Restore the file from git (git checkout -- FILE) or gzip the generations.jsonl again');
    }
  }
  const out: GenerationCacheEntry[] = [];
  forEachJsonLine(bytes.toString('utf8'), file, FIX, (r, line) => {
    if (typeof r.key !== 'string' || !KEY.test(r.key)) throw new FileFormatError(file, line, '"key" is not 64 hex digits', FIX);
    if (typeof r.text !== 'string') throw new FileFormatError(file, line, 'no "text" string', FIX);
    const made = typeof r.engine === 'string' && typeof r.precision === 'string' ? { engine: r.engine, precision: r.precision } : undefined;
    out.push(made ? [r.key, r.text, made] : [r.key, r.text]);
  });
  return out;
}

/** Adds the files' generations whose keys `cache` lacks; returns how many were added and read. */
export async function seedGenerationCache(cache: GenerationCache, files: readonly string[]): Promise<{ added: number; read: number }> {
  let added = 0;
  let read = 0;
  for (const file of files) {
    const entries = readGenerationEntries(file);
    read += entries.length;
    const fresh: GenerationCacheEntry[] = [];
    const seen = new Set<string>();
    for (const e of entries) {
      if (seen.has(e[0]) || (await cache.get(e[0])) !== undefined) continue;
      seen.add(e[0]);
      fresh.push(e);
    }
    await cache.putMany(fresh);
    added += fresh.length;
  }
  return { added, read };
}
