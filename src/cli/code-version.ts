// The code version a runner's run is keyed with (src/pipeline/run-key.ts codeVersion): package.json's
// version and the git commit of the checkout when there is one ('unknown' in an unpacked copy without git).
// Uncommitted edits are not in it: a key says which commit, not whether the tree was clean.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { codeVersion } from '../pipeline/run-key.ts';

const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function nodeCodeVersion(root = PROJECT_ROOT): string {
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  let commit: string | null = null;
  try {
    commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
  } catch {
    commit = null; // no git, or not a checkout
  }
  return codeVersion(version, commit);
}
