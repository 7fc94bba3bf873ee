// Node only (the CLI and tests import it; the browser never does): a .gguf on disk as a GgufSource. One
// file handle for the source's lifetime, positioned reads, so a tensor costs one read of its own bytes.
import { open, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { NotFoundError } from '../../errors.ts';
import { readFileRange } from '../../util/file-range-node.ts';
import type { GgufSource } from './source.ts';

export interface NodeGgufSource extends GgufSource {
  /** Closes the file handle; reads after it fail. */
  close(): Promise<void>;
}

/** Opens `path` for range reads. `label` defaults to the path as given. Close it when done. */
export async function ggufSourceFromFile(path: string, label: string = path): Promise<NodeGgufSource> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new NotFoundError(`${label}: cannot open (${code ?? (e as Error).message}). Give the path of a .gguf file (e.g. .cache/models/smollm2-135m-instruct/${basename(path)}).`);
  }
  const { size } = await fh.stat();
  return {
    label,
    size,
    read: (offset, length) => readFileRange(fh, size, offset, length),
    close: () => fh.close(),
  };
}
