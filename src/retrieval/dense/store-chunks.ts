// Embedding chunks in the page's IndexedDB, as artifacts of the dataset they were computed from (so
// deleting the dataset deletes them): '<key>:manifest', '<key>:ids:<n>', '<key>:vec:<n>'. Ids and
// vectors are separate rows so that opening an index reads the ids without the vectors.
// Each row is sealed (store/sealed.ts: a checksum written with it, checked on read). A damaged row removes
// the whole set and throws DamagedDataError, so the next run encodes afresh instead of failing again.
// A full disk while writing a chunk throws StorageFullError: the chunks the manifest counts stay, and the
// next run resumes after them (encode-corpus.ts counts a chunk only once both its rows are written).
import type { Store } from '../../store/store.ts';
import type { ChunkStore, EmbeddingChunk, EmbeddingManifest } from './chunk-store.ts';
import { DamagedDataError, NotFoundError } from '../../errors.ts';
import { readOrDamaged, seal, unseal, type RecordName } from '../../store/sealed.ts';
import { writeOrFull, type StorageFullContext } from '../../store/quota.ts';
import { bytesPerRow } from './precision.ts';

/** Bytes an id costs in storage, roughly (UTF-16 plus the clone's framing): for the "needs about" estimate only. */
const ID_BYTES = 32;

export class StoreChunkStore implements ChunkStore {
  constructor(
    private readonly store: Store,
    private readonly datasetId: string,
    /** embeddingCacheKey(identity) */
    readonly key: string,
  ) {}

  async readManifest() {
    return this.read<EmbeddingManifest>('manifest', 'Embedding manifest');
  }
  async writeManifest(manifest: EmbeddingManifest) {
    await writeOrFull(() => this.store.putArtifact(this.datasetId, `${this.key}:manifest`, seal(manifest)), () => this.full(manifest.chunksDone, 'the embedding manifest'));
  }
  async writeChunk(index: number, chunk: EmbeddingChunk) {
    // Two rows, two transactions: a chunk only counts once the manifest says so, which is written after both.
    await writeOrFull(async () => {
      await this.store.putArtifact(this.datasetId, `${this.key}:ids:${index}`, seal(chunk.ids));
      await this.store.putArtifact(this.datasetId, `${this.key}:vec:${index}`, seal(chunk.vectors));
    }, () => this.full(index, `embedding chunk ${index + 1}`));
  }
  async readIds(index: number) {
    return this.need(await this.read<string[]>(`ids:${index}`, `Embedding chunk ${index + 1} (ids)`), index);
  }
  async readVectors(index: number) {
    return this.need(await this.read<Float32Array>(`vec:${index}`, `Embedding chunk ${index + 1} (vectors)`), index);
  }
  async clear() {
    for (const k of await this.store.listArtifacts(this.datasetId)) {
      if (k.startsWith(`${this.key}:`)) await this.store.deleteArtifact(this.datasetId, k);
    }
  }

  /** One row, checked; a damaged one clears the set (so the next run re-encodes) and throws. */
  private async read<T>(suffix: string, label: string): Promise<T | undefined> {
    const name: RecordName = {
      where: `${label} of ${this.key} (dataset ${this.datasetId})`,
      fix: 'The stored embeddings of this model were removed: run the evaluation again to encode the corpus afresh',
    };
    try {
      return unseal<T>(await readOrDamaged(() => this.store.getArtifact(this.datasetId, `${this.key}:${suffix}`), name), name);
    } catch (e) {
      if (e instanceof DamagedDataError) await this.clear().catch(() => undefined);
      throw e;
    }
  }

  /** What a full disk at chunk `index` needs: the rest of the corpus, from the manifest and the dataset's size. */
  private async full(index: number, what: string): Promise<StorageFullContext> {
    const m = await this.store.getArtifact(this.datasetId, `${this.key}:manifest`).then((r) => unseal<EmbeddingManifest>(r, { where: '', fix: '' })).catch(() => undefined);
    const docs = (await this.store.getDataset(this.datasetId))?.counts.docs ?? 0;
    const left = m ? Math.max(0, docs - index * m.chunkSize) : docs;
    return {
      what: `storing ${what} of the corpus embeddings`,
      neededBytes: left * (bytesPerRow(m?.precision ?? 'f32', m?.dim ?? 0) + ID_BYTES),
      kept: index > 0 ? `The ${index} chunk(s) stored before it are kept.` : 'Nothing was stored yet.',
      retry: index > 0 ? `run it again: encoding resumes at chunk ${index + 1}` : 'run it again',
    };
  }

  /** A chunk the manifest counts but storage lacks: the set is cleared too, so that "run again" re-encodes. */
  private async need<T>(v: T | undefined, index: number): Promise<T> {
    if (v !== undefined) return v;
    await this.clear().catch(() => undefined);
    throw new NotFoundError(`Embedding chunk ${index + 1} of ${this.key} is missing from this browser's storage; the rest of the set was removed: run the evaluation again to encode the corpus afresh.`);
  }
}

/** Keys of every stored embedding set of a dataset (for listing or removing caches). */
export async function storedEmbeddingKeys(store: Store, datasetId: string): Promise<string[]> {
  return (await store.listArtifacts(datasetId)).filter((k) => k.endsWith(':manifest') && k.startsWith('emb-')).map((k) => k.slice(0, -':manifest'.length));
}
