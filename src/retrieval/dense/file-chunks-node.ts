// Node only: embedding chunks as files under a cache folder (the runner uses .cache/embeddings/, which
// git ignores): <root>/<key>/manifest.json, chunk-000000.f32 (raw float32, little-endian, row-major)
// and chunk-000000.ids.json. Each file is written to a temporary name and renamed, so a killed process
// never leaves a half-written file under a real name.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChunkStore, EmbeddingChunk, EmbeddingManifest } from './chunk-store.ts';
import { NotFoundError } from '../../errors.ts';

/** The runner's default cache folder, relative to the working directory (the project root under npm run). */
export const DEFAULT_EMBEDDING_CACHE = '.cache/embeddings';

const name = (i: number) => `chunk-${String(i).padStart(6, '0')}`;

export class FileChunkStore implements ChunkStore {
  readonly dir: string;
  constructor(root: string, key: string) {
    this.dir = join(root, key);
  }

  private async put(file: string, data: string | Uint8Array) {
    await mkdir(this.dir, { recursive: true });
    const tmp = join(this.dir, `.${file}.${process.pid}.tmp`);
    await writeFile(tmp, data);
    await rename(tmp, join(this.dir, file));
  }
  private async get(file: string): Promise<Buffer | undefined> {
    return readFile(join(this.dir, file)).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    });
  }

  async readManifest() {
    const b = await this.get('manifest.json');
    if (!b) return undefined;
    try {
      return JSON.parse(b.toString('utf8')) as EmbeddingManifest;
    } catch {
      return undefined; // damaged: treated as absent, so the embeddings are computed again
    }
  }
  writeManifest(manifest: EmbeddingManifest) {
    return this.put('manifest.json', JSON.stringify(manifest, null, 1));
  }
  async writeChunk(index: number, chunk: EmbeddingChunk) {
    await this.put(`${name(index)}.ids.json`, JSON.stringify(chunk.ids));
    await this.put(`${name(index)}.f32`, new Uint8Array(chunk.vectors.buffer, chunk.vectors.byteOffset, chunk.vectors.byteLength));
  }
  async readIds(index: number) {
    return JSON.parse(this.need(await this.get(`${name(index)}.ids.json`), index).toString('utf8')) as string[];
  }
  async readVectors(index: number) {
    const b = this.need(await this.get(`${name(index)}.f32`), index);
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)); // aligned copy
  }
  clear() {
    return rm(this.dir, { recursive: true, force: true });
  }
  private need(b: Buffer | undefined, index: number): Buffer {
    if (!b) throw new NotFoundError(`${join(this.dir, name(index))}: embedding chunk missing; delete ${this.dir} and run again.`);
    return b;
  }
}
