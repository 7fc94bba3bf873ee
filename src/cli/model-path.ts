// The decoder a runner command names with --model: a folder (Hugging Face, llama2.c, or one holding a .gguf)
// or a single .gguf file, as ModelFiles read on demand. A GGUF is then read by range, tensor by tensor
// (loadDecoderFiles), so a multi-GB file is never held in memory whole, let alone twice.
import { stat } from 'node:fs/promises';
import { NotFoundError } from '../errors.ts';
import { sourcesFromPath } from '../data/node-sources.ts';
import { modelFilesFromSources, type ModelFiles } from '../llm/files.ts';
import { verifyModelPath } from '../model/sources-node.ts';

export async function decoderFilesFromPath(path: string): Promise<ModelFiles> {
  if (!(await stat(path).catch(() => null))) {
    throw new NotFoundError(`${path}: no such file or folder. Give a model folder (config.json + model.safetensors + tokenizer.json, or llama2.c .bin files) or a .gguf file.`);
  }
  await verifyModelPath(path); // against the folder's file manifest, where it has one
  return modelFilesFromSources(await sourcesFromPath(path));
}
