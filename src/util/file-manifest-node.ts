// Node only: a folder's files with their sizes and SHA-256 (equal to `sha256sum`), kept in the folder itself
// as .expandr-files.json and written after every file, so that it lands in the same atomic rename as they do
// (checkpoint folders, a run's file sets, a model folder fetch-model writes). Reading checks each listed file
// against it and reports a missing, truncated or altered one as DamagedDataError naming the file and the fix.
// A folder without the manifest (written before there were manifests) is read unverified.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DamagedDataError } from '../errors.ts';

export const FILE_MANIFEST = '.expandr-files.json';
const MANIFEST_VERSION = 1;

export interface FileManifest {
  version: typeof MANIFEST_VERSION;
  /** By path relative to the folder, '/'-separated. */
  files: Record<string, { size: number; sha256: string }>;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The manifest of `files` (relative path → bytes, as they are written). */
export function fileManifest(files: ReadonlyMap<string, Uint8Array>): FileManifest {
  const m: FileManifest = { version: MANIFEST_VERSION, files: {} };
  for (const [rel, bytes] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) m.files[rel] = { size: bytes.length, sha256: sha256(bytes) };
  return m;
}

/** `files` with their manifest as the last entry: hand it to a writer that swaps the folder in whole. */
export function withFileManifest(files: ReadonlyMap<string, Uint8Array>): Map<string, Uint8Array> {
  return new Map([...files, [FILE_MANIFEST, new TextEncoder().encode(JSON.stringify(fileManifest(files), null, 1) + '\n')]]);
}

/** The manifest of every file under `dir` as it is on disk now, streamed (for large files: a fetched model). */
export async function writeFolderManifest(dir: string): Promise<FileManifest> {
  const m: FileManifest = { version: MANIFEST_VERSION, files: {} };
  for (const rel of listTree(dir)) m.files[rel] = { size: statSync(join(dir, rel)).size, sha256: await sha256Stream(join(dir, rel)) };
  putManifest(dir, m);
  return m;
}

/** The folder's manifest, undefined when it has none; an unreadable one is itself damage. */
export function readFileManifest(dir: string, fix: string): FileManifest | undefined {
  const p = join(dir, FILE_MANIFEST);
  if (!existsSync(p)) return undefined;
  let m: FileManifest;
  try {
    m = JSON.parse(readFileSync(p, 'utf8')) as FileManifest;
  } catch (e) {
    throw new DamagedDataError(p, `not readable as JSON (${(e as Error).message})`, fix);
  }
  if (m?.version !== MANIFEST_VERSION || typeof m.files !== 'object' || m.files === null) throw new DamagedDataError(p, 'not a file manifest this build knows', fix);
  return m;
}

/** Checks files already read (relative path → bytes) against the folder's manifest, if it has one. */
export function verifyFiles(dir: string, files: ReadonlyMap<string, Uint8Array>, fix: string): void {
  const m = readFileManifest(dir, fix);
  if (!m) return;
  for (const [rel, want] of Object.entries(m.files)) {
    const bytes = files.get(rel);
    if (!bytes) throw new DamagedDataError(join(dir, rel), 'missing (the folder\'s manifest lists it)', fix);
    check(join(dir, rel), bytes.length, want, () => sha256(bytes), fix);
  }
}

/** Checks the files on disk under `dir` (or only `only`, a relative path) against its manifest, if it has one; streams. */
export async function verifyFolder(dir: string, fix: string, only?: string): Promise<boolean> {
  const m = readFileManifest(dir, fix);
  if (!m) return false;
  const entries = Object.entries(m.files).filter(([rel]) => only === undefined || rel === only);
  // Sizes first: a truncated file is found without reading anything.
  for (const [rel, want] of entries) {
    const p = join(dir, rel);
    if (!existsSync(p)) throw new DamagedDataError(p, 'missing (the folder\'s manifest lists it)', fix);
    check(p, statSync(p).size, want, null, fix);
  }
  for (const [rel, want] of entries) {
    const p = join(dir, rel);
    check(p, want.size, want, await sha256Stream(p), fix);
  }
  return true;
}

function check(path: string, size: number, want: { size: number; sha256: string }, sum: (() => string) | string | null, fix: string): void {
  if (size !== want.size) throw new DamagedDataError(path, `${size} bytes, not the ${want.size} written${size < want.size ? ' (truncated)' : ''}`, fix);
  if (sum === null) return;
  const got = typeof sum === 'string' ? sum : sum();
  if (got !== want.sha256) throw new DamagedDataError(path, `its SHA-256 is ${got}, not the ${want.sha256} written (the file was altered)`, fix);
}

function putManifest(dir: string, m: FileManifest): void {
  const p = join(dir, FILE_MANIFEST);
  writeFileSync(`${p}.tmp`, JSON.stringify(m, null, 1) + '\n');
  renameSync(`${p}.tmp`, p);
}

/** Relative paths of the files under `dir`, sorted, the manifest (and its temporary) left out. */
export function listTree(dir: string, sub = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(dir, sub)).sort()) {
    const rel = sub ? `${sub}/${name}` : name;
    if (!sub && name.startsWith(FILE_MANIFEST)) continue;
    if (statSync(join(dir, rel)).isDirectory()) out.push(...listTree(dir, rel));
    else out.push(relative(dir, join(dir, rel)).split('\\').join('/'));
  }
  return out;
}

async function sha256Stream(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}
