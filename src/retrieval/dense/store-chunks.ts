// Embedding chunks in the page's IndexedDB, as artifacts of the dataset they were computed from (so
// deleting the dataset deletes them): '<key>:manifest', '<key>:ids:<n>', '<key>:vec:<n>'. Ids and
// vectors are separate rows so that opening an index reads the ids without the vectors.
import type { Store } from '../../store/store.ts';
import type { ChunkStore, EmbeddingChunk, EmbeddingManifest } from './chunk-store.ts';
import { NotFoundError } from '../../errors.ts';

export class StoreChunkStore implements ChunkStore {
  constructor(
    private readonly store: Store,
    private readonly datasetId: string,
    /** embeddingCacheKey(identity) */
    readonly key: string,
  ) {}

  readManifest() {
    return this.store.getArtifact<EmbeddingManifest>(this.datasetId, `${this.key}:manifest`);
  }
  writeManifest(manifest: EmbeddingManifest) {
    return this.store.putArtifact(this.datasetId, `${this.key}:manifest`, manifest);
  }
  async writeChunk(index: number, chunk: EmbeddingChunk) {
    // Two rows, two transactions: a chunk only counts once the manifest says so, which is written after both.
    await this.store.putArtifact(this.datasetId, `${this.key}:ids:${index}`, chunk.ids);
    await this.store.putArtifact(this.datasetId, `${this.key}:vec:${index}`, chunk.vectors);
  }
  async readIds(index: number) {
    return this.need(await this.store.getArtifact<string[]>(this.datasetId, `${this.key}:ids:${index}`), index);
  }
  async readVectors(index: number) {
    return this.need(await this.store.getArtifact<Float32Array>(this.datasetId, `${this.key}:vec:${index}`), index);
  }
  async clear() {
    for (const k of await this.store.listArtifacts(this.datasetId)) {
      if (k.startsWith(`${this.key}:`)) await this.store.deleteArtifact(this.datasetId, k);
    }
  }
  private need<T>(v: T | undefined, index: number): T {
    if (v === undefined) throw new NotFoundError(`Embedding chunk ${index} is missing from this browser's storage: encode the corpus again.`);
    return v;
  }
}

/** Keys of every stored embedding set of a dataset (for listing or removing caches). */
export async function storedEmbeddingKeys(store: Store, datasetId: string): Promise<string[]> {
  return (await store.listArtifacts(datasetId)).filter((k) => k.endsWith(':manifest') && k.startsWith('emb-')).map((k) => k.slice(0, -':manifest'.length));
}
