// Node only (the runner and tests): reads a model folder from disk into the in-memory form loadBertEncoder
// takes. Skips what the encoder never reads (other frameworks' weights, ONNX exports) to save memory.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { ModelFiles } from './files.ts';

/** Files the encoder reads: JSON configs, vocab.txt, safetensors (pytorch_model.bin only to name it in an error). */
const WANTED = /(\.json|\.safetensors|^vocab\.txt|^pytorch_model\.bin)$/;
/** Folders with other formats of the same model. */
const SKIPPED_DIRS = new Set(['onnx', 'openvino', '.git', 'coreml']);

export async function readModelDir(dir: string): Promise<ModelFiles> {
  const files = new Map<string, Uint8Array>();
  const walk = async (d: string): Promise<void> => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) await walk(full);
      } else if (WANTED.test(entry.name)) {
        const name = relative(dir, full).split(sep).join('/');
        // pytorch_model.bin can be hundreds of MB: only its presence matters (for the error message).
        files.set(name, entry.name === 'pytorch_model.bin' ? new Uint8Array(0) : new Uint8Array(await readFile(full)));
      }
    }
  };
  await walk(dir);
  return files;
}
