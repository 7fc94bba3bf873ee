// Finds the BEIR files in whatever was dropped: the zip as BEIR distributes it (scifact.zip holding
// scifact/corpus.jsonl, ...), a folder, or loose files; plain or gzipped. Junk (__MACOSX/, .DS_Store)
// is skipped, other unknown files are skipped with a warning, and anything missing or ambiguous is a
// BeirFormatError that says what the layout should be.
import { BeirFormatError } from '../errors.ts';
import { formatCount } from '../util/format.ts';
import { gunzipChunks } from './gzip.ts';
import { DATA_LIMITS, pathDepth, tooDeep, tooManyMembers, type DataLimits } from './limits.ts';
import { baseName, normalizePath, readChunks, type SourceFile } from './source.ts';
import type { WarningLog } from './warnings.ts';
import { listZip } from './zip.ts';

/** Assumed gzip ratio for text, used only for progress and the storage estimate (SciFact: 2.9×). */
export const GZIP_RATIO_ESTIMATE = 4;
/** A loose .tsv outside a qrels/ folder is taken as qrels when its name is one of these. */
export const KNOWN_SPLITS = ['train', 'dev', 'test', 'validation', 'val'];

export const LAYOUT_HELP =
  'A BEIR dataset is corpus.jsonl (or corpus.jsonl.gz), queries.jsonl and qrels/<split>.tsv, e.g. ' +
  'scifact/corpus.jsonl, scifact/queries.jsonl, scifact/qrels/test.tsv: drop the zip as BEIR distributes it, ' +
  'its unpacked folder, or these files together';

/** One BEIR file, ready to stream (decompressed). */
export interface DataFile {
  role: 'corpus' | 'queries' | 'qrels';
  /** Split name for qrels ('test'), else ''. */
  split: string;
  /** The name the checksum manifest uses: 'corpus.jsonl', 'queries.jsonl', 'qrels/test.tsv'. */
  canonical: string;
  /** How messages name it: its path as dropped, or 'scifact/corpus.jsonl (in scifact.zip)'. */
  label: string;
  /** Bytes read from the user's files to get it: the unit of progress. */
  storedSize: number;
  /** Decompressed size: exact for plain files and zip entries, an estimate for .gz. */
  size: number;
  /** Its decompressed bytes; `onRaw` counts the stored bytes read. */
  open(onRaw: (n: number) => void): AsyncGenerator<Uint8Array>;
}

export interface BeirLayout {
  /** Dataset name: the folder holding corpus.jsonl, else the zip's name, else 'dataset'. */
  name: string;
  corpus: DataFile;
  queries: DataFile;
  /** Sorted by split name. */
  qrels: DataFile[];
  /** Paths of the files as dropped (zips, not their entries). */
  sources: string[];
}

/** A file seen in the drop, before roles are assigned. */
interface Candidate {
  path: string; // path as dropped, or inside the zip
  label: string;
  zipName: string; // stem of the zip it came from, or ''
  gz: boolean;
  storedSize: number;
  size: number;
  open(onRaw: (n: number) => void): AsyncGenerator<Uint8Array>;
}

/** OS and archiver litter: never part of a dataset, never worth a warning. */
export function isJunk(path: string): boolean {
  return path.split('/').some((seg) => seg === '__MACOSX' || seg === '.DS_Store' || seg === 'Thumbs.db' || seg.startsWith('._'));
}

async function* counted(src: SourceFile, onRaw: (n: number) => void): AsyncGenerator<Uint8Array> {
  for await (const chunk of readChunks(src.stream())) {
    onRaw(chunk.length);
    yield chunk;
  }
}

/** What was dropped, for messages about the drop as a whole: its top folder, or 'the dropped files'. */
function dropName(sources: SourceFile[]): string {
  const tops = new Set(sources.map((s) => normalizePath(s.path).split('/')[0]));
  return tops.size === 1 && sources.length > 1 ? `${[...tops][0]}/` : 'the dropped files';
}

async function candidates(sources: SourceFile[], limits: DataLimits): Promise<Candidate[]> {
  if (sources.length > limits.maxMembers) throw tooManyMembers(dropName(sources), limits.maxMembers, formatCount(sources.length));
  const out: Candidate[] = [];
  for (const src of sources) {
    const path = normalizePath(src.path);
    if (pathDepth(path) > limits.maxDepth) throw tooDeep(dropName(sources), path, limits.maxDepth);
    if (isJunk(path)) continue;
    if (!path.toLowerCase().endsWith('.zip')) {
      out.push({ path, label: path, zipName: '', gz: false, storedSize: src.size, size: src.size, open: (onRaw) => counted(src, onRaw) });
      continue;
    }
    const zipName = baseName(path).replace(/\.zip$/i, '');
    const zip: SourceFile = { path, size: src.size, stream: () => src.stream() };
    if (src.slice) zip.slice = (start, end) => src.slice!(start, end);
    for (const e of await listZip(zip, limits)) {
      if (isJunk(e.name)) continue;
      out.push({ path: e.name, label: `${e.name} (in ${path})`, zipName, gz: false, storedSize: e.storedSize, size: e.size, open: e.open });
    }
  }
  // .gz: same file, decompressed on the fly; its role comes from the name without .gz.
  return out.map((c) =>
    c.path.endsWith('.gz')
      ? {
          ...c,
          path: c.path.slice(0, -3),
          gz: true,
          size: c.size * GZIP_RATIO_ESTIMATE,
          open: (onRaw) => gunzipChunks(c.open(onRaw), c.label, limits.maxInflateRatio),
        }
      : c,
  );
}

function roleOf(path: string): { role: DataFile['role']; split: string } | null {
  const parts = path.split('/');
  const file = parts[parts.length - 1];
  if (file === 'corpus.jsonl') return { role: 'corpus', split: '' };
  if (file === 'queries.jsonl') return { role: 'queries', split: '' };
  if (file.endsWith('.tsv')) {
    const split = file.slice(0, -4);
    if (parts[parts.length - 2] === 'qrels' || KNOWN_SPLITS.includes(split)) return { role: 'qrels', split };
  }
  return null;
}

/** Picks the one file for a role: a plain and a gzipped copy side by side → the plain one, with a warning. */
function pickOne(found: Candidate[], canonical: string, warn: WarningLog): Candidate | undefined {
  const plain = found.filter((c) => !c.gz);
  const dirs = new Set(found.map((c) => `${c.zipName}/${c.path}`));
  if (dirs.size > 1) {
    throw new BeirFormatError(
      canonical,
      null,
      `found ${found.length} copies (${found.map((c) => c.label).join(', ')})`,
      'Import one dataset at a time: drop a single dataset folder or zip',
    );
  }
  if (found.length > 1) {
    for (const c of found) if (c !== plain[0]) warn.add('', 'duplicate-compressed', c.label);
    return plain[0];
  }
  return found[0];
}

/** Dataset name: folder holding the corpus, else the zip's stem, else 'dataset'. */
function nameOf(corpus: Candidate): string {
  const parts = corpus.path.split('/');
  return parts.length > 1 ? parts[parts.length - 2] : corpus.zipName || 'dataset';
}

/**
 * Finds the BEIR files in `sources`. `limits` (default DATA_LIMITS) bound the drop and each zip (members,
 * depth) and what each compressed file may inflate to; the line limit is readBeir's.
 */
export async function detectLayout(sources: SourceFile[], warn: WarningLog, limits: DataLimits = DATA_LIMITS): Promise<BeirLayout> {
  const all = await candidates(sources, limits);
  const byRole = { corpus: [] as Candidate[], queries: [] as Candidate[], qrels: new Map<string, Candidate[]>() };
  for (const c of all) {
    const r = roleOf(c.path);
    if (!r) {
      if (/\.(jsonl|tsv|json|txt|csv)$/i.test(c.path)) warn.add('', 'ignored-file', c.label);
      continue;
    }
    if (r.role === 'qrels') byRole.qrels.set(r.split, [...(byRole.qrels.get(r.split) ?? []), c]);
    else byRole[r.role].push(c);
  }
  const seen = all.length ? ` (found: ${all.slice(0, 8).map((c) => c.label).join(', ')}${all.length > 8 ? ', …' : ''})` : ' (no files found)';
  const corpus = pickOne(byRole.corpus, 'corpus.jsonl', warn);
  if (!corpus) throw new BeirFormatError('corpus.jsonl', null, `not found among the dropped files${seen}`, LAYOUT_HELP);
  const queries = pickOne(byRole.queries, 'queries.jsonl', warn);
  if (!queries) throw new BeirFormatError('queries.jsonl', null, `not found among the dropped files${seen}`, LAYOUT_HELP);
  if (byRole.qrels.size === 0) throw new BeirFormatError('qrels/<split>.tsv', null, `no qrels file found${seen}`, LAYOUT_HELP);

  const file = (c: Candidate, role: DataFile['role'], split: string, canonical: string): DataFile => ({
    role, split, canonical, label: c.label, storedSize: c.storedSize, size: c.size, open: c.open,
  });
  const splits = [...byRole.qrels.keys()].sort();
  return {
    name: nameOf(corpus),
    corpus: file(corpus, 'corpus', '', 'corpus.jsonl'),
    queries: file(queries, 'queries', '', 'queries.jsonl'),
    qrels: splits.map((s) => file(pickOne(byRole.qrels.get(s)!, `qrels/${s}.tsv`, warn)!, 'qrels', s, `qrels/${s}.tsv`)),
    sources: sources.map((s) => normalizePath(s.path)).filter((p) => !isJunk(p)),
  };
}
