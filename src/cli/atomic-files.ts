// Writes that a SIGKILL cannot leave half done: a file is written beside its target and renamed over it;
// a folder is written whole beside its target and swapped in with two renames (a directory cannot be
// renamed over a non-empty one), keeping the previous folder as TARGET.old until the new one is in place.
// Readers call recoverFolder() first: a kill between the two renames leaves only TARGET.old, the last
// complete folder, which is moved back. Nothing is fsync'd: a killed process loses nothing the kernel
// already has; a power cut is outside what this guards.
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Suffixes of the side folders/files; readers of a folder of sets skip names ending in these. */
export const TMP_SUFFIX = '.tmp';
export const OLD_SUFFIX = '.old';

export function writeFileAtomic(path: string, bytes: Uint8Array | string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}${TMP_SUFFIX}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}

/** Replaces folder `target` by exactly `files` (relative '/'-paths → bytes). */
export function replaceFolder(target: string, files: Iterable<[string, Uint8Array]>): void {
  const tmp = `${target}${TMP_SUFFIX}`;
  const old = `${target}${OLD_SUFFIX}`;
  recoverFolder(target);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  for (const [rel, bytes] of files) {
    mkdirSync(dirname(join(tmp, rel)), { recursive: true });
    writeFileSync(join(tmp, rel), bytes);
  }
  rmSync(old, { recursive: true, force: true });
  if (existsSync(target)) renameSync(target, old);
  renameSync(tmp, target);
  rmSync(old, { recursive: true, force: true });
}

/** After a kill between replaceFolder's two renames: puts the previous complete folder back. Idempotent. */
export function recoverFolder(target: string): void {
  const old = `${target}${OLD_SUFFIX}`;
  if (!existsSync(target) && existsSync(old)) renameSync(old, target);
}
