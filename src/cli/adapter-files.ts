// Node file IO for LoRA adapters (the core in src/llm stays free of fs): read a PEFT adapter folder or zip,
// write one. Trainer checkpoints on disk are in checkpoint-folders.ts.
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { NotFoundError } from '../errors.ts';
import { unzipAdapter, zipAdapter } from '../llm/lora-peft.ts';

/** The files of a PEFT adapter folder (top level only) or zip, by name. */
export function readAdapterPath(path: string): Map<string, Uint8Array> {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) throw new NotFoundError(`${path}: no such file or folder. Give a PEFT adapter folder (adapter_config.json + adapter_model.safetensors) or its zip.`);
  if (st.isFile()) return unzipAdapter(new Uint8Array(readFileSync(path)));
  const files = new Map<string, Uint8Array>();
  for (const name of readdirSync(path)) {
    const full = join(path, name);
    if (statSync(full).isFile()) files.set(name, new Uint8Array(readFileSync(full)));
  }
  return files;
}

/** Writes the files into the folder `out`, or as a zip when `out` ends in .zip (under the zip's base name). */
export function writeAdapterPath(out: string, files: ReadonlyMap<string, Uint8Array>): void {
  if (out.toLowerCase().endsWith('.zip')) {
    mkdirSync(dirname(out), { recursive: true });
    const root = out.split('/').pop()!.replace(/\.zip$/i, '');
    writeFileSync(out, zipAdapter(files, root));
    return;
  }
  mkdirSync(out, { recursive: true });
  for (const [name, bytes] of files) writeFileSync(join(out, name), bytes);
}

