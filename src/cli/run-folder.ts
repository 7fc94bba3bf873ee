// The runner's run store: a folder (the experiment's --out). run-state.json is replaced atomically;
// file sets are sub-folders (encoders/…, adapters/…, runs/…) a user can open directly; trainer
// checkpoints live under checkpoints/NAME/ in the trainers' own file formats. run.json is the run's
// manifest (src/pipeline/run-record.ts): its content key, models, dataset, config, status and dates,
// kept current on every state save; `expandr runs` lists folders by it (run-folders.ts reads them).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, relative } from 'node:path';
import { recoverFolder, replaceFolder, writeFileAtomic } from './atomic-files.ts';
import { folderCheckpointSink, folderDpoCheckpointSink } from './checkpoint-folders.ts';
import { DamagedDataError } from '../errors.ts';
import { FILE_MANIFEST, verifyFiles, withFileManifest } from '../util/file-manifest-node.ts';
import type { RunState, RunStore } from '../pipeline/run-state.ts';
import { newManifest, updateManifest, type RunManifest } from '../pipeline/run-record.ts';
import { decoderHash } from '../pipeline/run-key.ts';
import type { ExperimentConfig } from '../pipeline/config.ts';
import type { ModelFiles as DecoderFiles } from '../llm/files.ts';
import { nodeCodeVersion } from './code-version.ts';

export const RUN_STATE_FILE = 'run-state.json';
export const RUN_MANIFEST_FILE = 'run.json';

/** run.json: the manifest plus who is running it (a dead pid on this host reads as 'stopped'). */
export interface FolderManifest extends RunManifest {
  pid?: number;
  host?: string;
  /** Keys the folder had before its content changed (another code version on resume, say). */
  earlierKeys?: string[];
}

export function readManifest(dir: string): FolderManifest | undefined {
  const p = join(dir, RUN_MANIFEST_FILE);
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as FolderManifest) : undefined;
}

export function writeManifest(dir: string, m: FolderManifest): void {
  writeFileAtomic(join(dir, RUN_MANIFEST_FILE), JSON.stringify(m, null, 1) + '\n');
}

/**
 * Records the start (or resume) of a run in `dir`: a new run.json, or the old one with this invocation's
 * key, pid and status. A resume whose key differs (other code, other model bytes at the same path) keeps
 * the earlier key in earlierKeys; the name and creation date stay. Returns the earlier key when it changed.
 */
export function recordRunStart(dir: string, fresh: RunManifest, state?: RunState): string | undefined {
  const old = readManifest(dir);
  const m: FolderManifest = old ? { ...fresh, name: old.name, createdAt: old.createdAt, earlierKeys: old.earlierKeys } : { ...fresh };
  if (old && old.key !== fresh.key) m.earlierKeys = [...(old.earlierKeys ?? []), old.key];
  const now = updateManifest(m, state);
  writeManifest(dir, { ...now, status: now.status === 'complete' ? 'complete' : 'running', pid: process.pid, host: hostname() });
  return old && old.key !== fresh.key ? old.key : undefined;
}

/** The manifest of an `experiment` run: encoder by modelHash, LLM by decoderHash (every file), the dataset's checksum. */
export async function experimentManifest(
  config: ExperimentConfig,
  data: { name: string; checksum: string },
  encoder: { name: string; hash: string },
  llm: { name: string; files: DecoderFiles },
  /** The datasets trained on (config.trainData's, in order); none when training on `data`. */
  train: readonly { name: string; checksum: string }[] = [],
): Promise<RunManifest> {
  return newManifest({
    models: [
      { role: 'encoder', name: encoder.name, hash: encoder.hash },
      { role: 'llm', name: llm.name, hash: await decoderHash(llm.files) },
    ],
    datasets: [{ role: 'data', name: data.name, checksum: data.checksum }, ...train.map((t, i) => ({ role: `train:${i}`, name: t.name, checksum: t.checksum }))],
    config,
    code: nodeCodeVersion(),
  });
}

/** The status a reader should see: 'running' only while its process is alive (on this host). */
export function liveStatus(m: FolderManifest): RunManifest['status'] {
  if (m.status !== 'running' || m.pid === undefined || m.host !== hostname()) return m.status;
  try {
    process.kill(m.pid, 0);
    return 'running';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM' ? 'running' : 'stopped';
  }
}

function readTree(dir: string, root = dir, out = new Map<string, Uint8Array>()): Map<string, Uint8Array> {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) readTree(full, root, out);
    else out.set(relative(root, full).split('\\').join('/'), new Uint8Array(readFileSync(full)));
  }
  return out;
}

const startAfresh = (dir: string) => `use a new --out folder, or delete ${join(dir, RUN_STATE_FILE)} to start afresh`;

export function folderRunStore(dir: string): RunStore {
  return {
    startAfresh: startAfresh(dir),
    async loadState() {
      const p = join(dir, RUN_STATE_FILE);
      if (!existsSync(p)) return undefined;
      try {
        return JSON.parse(readFileSync(p, 'utf8')) as RunState;
      } catch (e) {
        throw new DamagedDataError(p, `not readable as JSON (${(e as Error).message})`, `It cannot be resumed: ${startAfresh(dir)}`);
      }
    },
    async saveState(s) {
      writeFileAtomic(join(dir, RUN_STATE_FILE), JSON.stringify(s));
      const m = readManifest(dir);
      if (m) writeManifest(dir, { ...m, ...updateManifest(m, s) });
    },
    async putFiles(name, files) {
      // One folder per set, written beside and swapped in, so a kill never leaves half a set behind.
      // The set's file manifest (sizes, SHA-256) goes in with it; getFiles checks it.
      replaceFolder(join(dir, name), withFileManifest(new Map(files)));
    },
    async getFiles(name) {
      const target = join(dir, name);
      recoverFolder(target);
      if (!existsSync(target)) return undefined;
      const files = readTree(target);
      files.delete(FILE_MANIFEST);
      verifyFiles(target, files, `Do not use it: ${startAfresh(dir)}`);
      return files;
    },
    retrieverCheckpoints: (name) => folderCheckpointSink(join(dir, 'checkpoints', name)),
    dpoCheckpoints: (name) => folderDpoCheckpointSink(join(dir, 'checkpoints', name)),
  };
}
