// Node only (the runner, scripts): a model folder or zip on disk as ModelFiles, through the same
// reading and root detection as a drop in the page, after checking it against its file manifest if it has one.
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { sourcesFromPath } from '../data/node-sources.ts';
import { NotFoundError } from '../errors.ts';
import { FILE_MANIFEST, verifyFolder } from '../util/file-manifest-node.ts';
import type { WorkOptions } from '../util/progress.ts';
import { modelFilesFromSources, type DroppedModel } from './sources.ts';

/** Reads the model at `path` (a folder holding config.json, a parent of one, or a zip). */
export async function modelFilesFromPath(path: string, work: WorkOptions = {}): Promise<DroppedModel> {
  if (!(await stat(path).catch(() => null))) {
    throw new NotFoundError(`${path}: no such file or folder. Give a Hugging Face model folder (config.json, model.safetensors, tokenizer.json) or its zip.`);
  }
  await verifyModelPath(path);
  return modelFilesFromSources(await sourcesFromPath(path), work);
}

/**
 * A model folder with a file manifest (fetch-model writes one; so does a run folder's set) is checked
 * against it before use: every listed file's size and SHA-256. A single file is checked against its folder's
 * manifest when that lists it. Folders without one are read as they are. Throws DamagedDataError.
 */
export async function verifyModelPath(path: string): Promise<void> {
  const st = await stat(path).catch(() => null);
  if (!st) return;
  const fix = `Fetch or copy the model again (a folder from fetch-model: run \`npm run -s expandr -- fetch-model ${basename(st.isDirectory() ? path : dirname(path))} --force\`)`;
  if (st.isDirectory()) await verifyFolder(path, fix);
  else if (existsSync(join(dirname(path), FILE_MANIFEST))) await verifyFolder(dirname(path), fix, basename(path));
}
