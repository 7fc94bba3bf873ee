// The runner's generation cache: one JSONL file, `generations.jsonl` in a folder (the run's output folder
// or a shared cache folder), one {"key", "text", "engine", "precision"} per line (engine and precision of what
// generated it; lines written before they were recorded have none), appended per putMany. Read once, on first use.
// A line cut short by a killed process (the file then lacks its final newline) is dropped and the file
// truncated back to the last whole line; any other bad line is an error naming the file and line.
import { appendFileSync, existsSync, mkdirSync, readFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { FileFormatError } from '../errors.ts';
import { forEachJsonLine } from '../util/json-lines.ts';
import type { GenerationCache, GenerationCacheEntry } from '../pipeline/types.ts';

export const GENERATION_CACHE_FILE = 'generations.jsonl';

const FIX = 'Each line must be {"key": "<64 hex digits>", "text": "…", "engine"?: "…", "precision"?: "…"}; delete the file to generate everything again';

/** Parses cache lines into key → text (the last line of a key wins). */
export function parseGenerationLines(text: string, file: string): Map<string, string> {
  const map = new Map<string, string>();
  forEachJsonLine(text, file, FIX, (r, line) => {
    if (typeof r.key !== 'string' || typeof r.text !== 'string') throw new FileFormatError(file, line, 'no "key" and "text" strings', FIX);
    map.set(r.key, r.text);
  });
  return map;
}

export class FileGenerationCache implements GenerationCache {
  readonly file: string;
  private map: Map<string, string> | null = null;

  constructor(readonly folder: string) {
    this.file = join(folder, GENERATION_CACHE_FILE);
  }

  private load(): Map<string, string> {
    if (this.map) return this.map;
    if (!existsSync(this.file)) return (this.map = new Map());
    let text = readFileSync(this.file, 'utf8');
    if (text.length > 0 && !text.endsWith('\n')) {
      const keep = text.lastIndexOf('\n') + 1; // a torn final line from a killed run
      text = text.slice(0, keep);
      truncateSync(this.file, Buffer.byteLength(text, 'utf8'));
    }
    return (this.map = parseGenerationLines(text, this.file));
  }

  async get(key: string): Promise<string | undefined> {
    return this.load().get(key);
  }

  async putMany(entries: readonly GenerationCacheEntry[]): Promise<void> {
    const map = this.load();
    const fresh = entries.filter(([k, v]) => map.get(k) !== v);
    if (fresh.length === 0) return;
    mkdirSync(this.folder, { recursive: true });
    appendFileSync(this.file, fresh.map(([key, text, made]) => JSON.stringify(made ? { key, text, engine: made.engine, precision: made.precision } : { key, text }) + '\n').join(''));
    for (const [k, v] of fresh) map.set(k, v);
  }

  get size(): number {
    return this.load().size;
  }
}
