// A chunk store that keeps its vectors at float16 or int8 (precision.ts) inside any other chunk store:
// rows are packed on the way in and unpacked to float32 on the way out, so the encoder, the search and
// `expandr encode` see float32 whatever is stored. f32 needs no wrapper (precisionStore returns the store).
// quantizeStored derives such a set from complete float32 embeddings of the same corpus and model, so a
// lower precision costs the packing, not a new encoding of the corpus.
import { throwIfAborted } from '../../errors.ts';
import type { WorkOptions } from '../../util/progress.ts';
import { throttledProgress } from '../../util/progress.ts';
import { sameIdentity, type ChunkStore, type EmbeddingChunk, type EmbeddingIdentity, type EmbeddingManifest } from './chunk-store.ts';
import { packVectors, unpackVectors, type EmbeddingPrecision } from './precision.ts';

export class PrecisionChunkStore implements ChunkStore {
  private dim: number | undefined;

  constructor(
    readonly inner: ChunkStore,
    readonly precision: Exclude<EmbeddingPrecision, 'f32'>,
  ) {}

  async readManifest() {
    const m = await this.inner.readManifest();
    if (m) this.dim = m.dim;
    return m;
  }
  async writeManifest(manifest: EmbeddingManifest) {
    this.dim = manifest.dim;
    await this.inner.writeManifest(manifest);
  }
  async writeChunk(index: number, chunk: EmbeddingChunk) {
    await this.inner.writeChunk(index, { ids: chunk.ids, vectors: packVectors(chunk.vectors, await this.width(), this.precision) });
  }
  readIds(index: number) {
    return this.inner.readIds(index);
  }
  async readVectors(index: number) {
    return unpackVectors(await this.inner.readVectors(index), await this.width(), this.precision, `Embedding chunk ${index + 1} (${this.precision})`);
  }
  clear() {
    this.dim = undefined;
    return this.inner.clear();
  }

  /** The row width from the manifest (written before any chunk, so always there when chunks are). */
  private async width(): Promise<number> {
    if (this.dim === undefined) await this.readManifest();
    if (this.dim === undefined) throw new Error('PrecisionChunkStore: no manifest, so the row width is unknown; write the manifest before the chunks.');
    return this.dim;
  }
}

/** `store` keeping vectors at `precision`: itself for f32, else wrapped. */
export function precisionStore(store: ChunkStore, precision: EmbeddingPrecision): ChunkStore {
  return precision === 'f32' ? store : new PrecisionChunkStore(store, precision);
}

/**
 * Fills `to` (a store at `identity.precision`) from `from`, complete float32 embeddings of the same model,
 * corpus, settings and chunking, chunk by chunk. Returns false, touching nothing, when `to` already holds a
 * complete set for `identity` or `from` holds none to derive it from (then the corpus is encoded as usual).
 */
export async function quantizeStored(from: ChunkStore, to: ChunkStore, identity: EmbeddingIdentity, work: WorkOptions = {}): Promise<boolean> {
  const precision = identity.precision ?? 'f32';
  if (precision === 'f32') return false;
  const have = await to.readManifest();
  if (have?.complete && sameIdentity(have, identity)) return false;
  const src = await from.readManifest();
  if (!src?.complete || !sameIdentity(src, { ...identity, precision: 'f32' })) return false;
  const report = throttledProgress(work.onProgress);
  await to.clear();
  let manifest: EmbeddingManifest = { ...src, precision, chunksDone: 0, docsDone: 0, complete: false };
  await to.writeManifest(manifest);
  for (let c = 0; c < src.chunksDone; c++) {
    throwIfAborted(work.signal, 'Quantising the embeddings');
    const ids = await from.readIds(c);
    await to.writeChunk(c, { ids, vectors: await from.readVectors(c) });
    manifest = { ...manifest, chunksDone: c + 1, docsDone: manifest.docsDone + ids.length };
    await to.writeManifest(manifest);
    report({ stage: 'dense:quantize', done: manifest.docsDone, total: src.docsDone, unit: 'docs' });
  }
  await to.writeManifest({ ...manifest, complete: true });
  report({ stage: 'dense:quantize', done: src.docsDone, total: src.docsDone, unit: 'docs' }, true);
  return true;
}
