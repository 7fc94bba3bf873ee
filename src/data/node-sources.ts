// Node only (the CLI imports it; the browser never does): a path on disk as SourceFiles.
// A folder becomes its files (recursively), with paths relative to the folder's parent so that
// `data/scifact` gives 'scifact/corpus.jsonl.gz' as a dropped folder would; a zip or a single file
// becomes one SourceFile (zips are opened by the layout detection, as in the browser). The walk stops
// at the member and depth limits (limits.ts), which also ends a symlink loop.
import { readFileRange } from '../util/file-range-node.ts';
import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { NotFoundError } from '../errors.ts';
import { formatCount } from '../util/format.ts';
import { DATA_LIMITS, tooDeep, tooManyMembers, type DataLimits } from './limits.ts';
import type { SourceFile } from './source.ts';

export function nodeSource(file: string, relPath: string, size: number): SourceFile {
  return {
    path: relPath.split(sep).join('/'),
    size,
    stream: () => Readable.toWeb(createReadStream(file)) as unknown as ReadableStream<Uint8Array>,
    // Positioned reads: the zip reader seeks to the central directory and reads entries by range.
    slice: async (start, end) => {
      const fh = await open(file, 'r');
      try {
        return await readFileRange(fh, size, start, end - start);
      } finally {
        await fh.close();
      }
    },
  };
}

/** SourceFiles for a folder (recursive), a zip, or a single file. */
export async function sourcesFromPath(given: string, over: Partial<Pick<DataLimits, 'maxMembers' | 'maxDepth'>> = {}): Promise<SourceFile[]> {
  const limits = { ...DATA_LIMITS, ...over };
  const path = resolve(given); // so that '.' is named after the folder it is
  const st = await stat(path).catch(() => null);
  if (!st) throw new NotFoundError(`${given}: no such file or folder. Give the path of a BEIR dataset folder or zip.`);
  if (!st.isDirectory()) return [nodeSource(path, basename(path), st.size)];
  const root = dirname(path);
  const out: SourceFile[] = [];
  const where = `${given.replace(/\/+$/, '')}/`;
  const walk = async (dir: string, depth: number) => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)); // same order on every OS
    for (const e of entries) {
      const full = join(dir, e.name);
      // Depth counts the dataset folder itself, as a dropped folder's paths do ('scifact/qrels/test.tsv' is 3).
      if (depth + 1 > limits.maxDepth) throw tooDeep(where, relative(root, full).split(sep).join('/'), limits.maxDepth);
      const s = await stat(full); // follows symlinks
      if (s.isDirectory()) await walk(full, depth + 1);
      else if (s.isFile()) {
        if (out.length >= limits.maxMembers) throw tooManyMembers(where, limits.maxMembers, `more than ${formatCount(limits.maxMembers)}`);
        out.push(nodeSource(full, relative(root, full), s.size));
      }
    }
  };
  await walk(path, 1);
  return out;
}
