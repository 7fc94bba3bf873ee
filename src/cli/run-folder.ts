// The runner's run store: a folder (the experiment's --out). run-state.json is replaced atomically;
// file sets are sub-folders (encoders/…, adapters/…, runs/…) a user can open directly; trainer
// checkpoints live under checkpoints/NAME/ in the trainers' own file formats.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { recoverFolder, replaceFolder, writeFileAtomic } from './atomic-files.ts';
import { folderCheckpointSink, folderDpoCheckpointSink } from './checkpoint-folders.ts';
import type { RunState, RunStore } from '../pipeline/run-state.ts';

export const RUN_STATE_FILE = 'run-state.json';

function readTree(dir: string, root = dir, out = new Map<string, Uint8Array>()): Map<string, Uint8Array> {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) readTree(full, root, out);
    else out.set(relative(root, full).split('\\').join('/'), new Uint8Array(readFileSync(full)));
  }
  return out;
}

export function folderRunStore(dir: string): RunStore {
  return {
    startAfresh: `use a new --out folder, or delete ${join(dir, RUN_STATE_FILE)} to start afresh`,
    async loadState() {
      const p = join(dir, RUN_STATE_FILE);
      return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as RunState) : undefined;
    },
    async saveState(s) {
      writeFileAtomic(join(dir, RUN_STATE_FILE), JSON.stringify(s));
    },
    async putFiles(name, files) {
      // One folder per set, written beside and swapped in, so a kill never leaves half a set behind.
      replaceFolder(join(dir, name), files);
    },
    async getFiles(name) {
      const target = join(dir, name);
      recoverFolder(target);
      return existsSync(target) ? readTree(target) : undefined;
    },
    retrieverCheckpoints: (name) => folderCheckpointSink(join(dir, 'checkpoints', name)),
    dpoCheckpoints: (name) => folderDpoCheckpointSink(join(dir, 'checkpoints', name)),
  };
}
