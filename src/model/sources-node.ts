// Node only (the runner, scripts): a model folder or zip on disk as ModelFiles, through the same
// reading and root detection as a drop in the page.
import { stat } from 'node:fs/promises';
import { sourcesFromPath } from '../data/node-sources.ts';
import { NotFoundError } from '../errors.ts';
import type { WorkOptions } from '../util/progress.ts';
import { modelFilesFromSources, type DroppedModel } from './sources.ts';

/** Reads the model at `path` (a folder holding config.json, a parent of one, or a zip). */
export async function modelFilesFromPath(path: string, work: WorkOptions = {}): Promise<DroppedModel> {
  if (!(await stat(path).catch(() => null))) {
    throw new NotFoundError(`${path}: no such file or folder. Give a Hugging Face model folder (config.json, model.safetensors, tokenizer.json) or its zip.`);
  }
  return modelFilesFromSources(await sourcesFromPath(path), work);
}
