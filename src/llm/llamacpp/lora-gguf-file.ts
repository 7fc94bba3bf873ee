// Node only: a PEFT adapter written as llama.cpp's LoRA file for its base GGUF (../gguf/lora-adapter-gguf.ts),
// which the runner's llama.cpp applies at run time on the unchanged base. Written to OUT.partial and renamed,
// so a file at `out` is always complete and is reused as it is: the caller names it by the adapter's content
// hash. (A merged tuned GGUF for other tools is `expandr export-gguf`, ../gguf/merge-export.ts.)
import { existsSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { WorkOptions } from '../../util/progress.ts';
import { ggufDecoderConfig } from '../gguf/decoder.ts';
import { ggufSourceFromFile } from '../gguf/node-source.ts';
import { readGgufHeader } from '../gguf/reader.ts';
import { writeLoraAdapterGguf } from '../gguf/lora-adapter-gguf.ts';

/**
 * Writes `out` (the adapter as a llama.cpp LoRA file for the base GGUF, ../gguf/lora-adapter-gguf.ts) unless it
 * exists; returns whether it wrote it.
 */
export async function ensureLoraGguf(basePath: string, adapter: ReadonlyMap<string, Uint8Array>, out: string, work: WorkOptions = {}, label = 'adapter'): Promise<boolean> {
  if (existsSync(out)) return false;
  await mkdir(dirname(out), { recursive: true });
  const partial = `${out}.partial`;
  const src = await ggufSourceFromFile(basePath);
  try {
    const file = await readGgufHeader(src);
    const config = ggufDecoderConfig(file, src.label);
    const fh = await open(partial, 'w');
    try {
      await writeLoraAdapterGguf(file, config, adapter, {
        async write(chunk) {
          for (let at = 0; at < chunk.length; ) at += (await fh.write(chunk, at, chunk.length - at)).bytesWritten;
        },
      }, label, work);
    } finally {
      await fh.close();
    }
    await rename(partial, out);
    return true;
  } catch (e) {
    await rm(partial, { force: true });
    throw e;
  } finally {
    await src.close();
  }
}
