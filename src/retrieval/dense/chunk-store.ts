// Where corpus embeddings live: fixed-size chunks of rows plus a manifest that says which model, corpus
// and settings produced them and how many chunks are complete. The same interface is backed by
// IndexedDB artifacts in the page (store-chunks.ts), files under .cache/embeddings in the runner
// (file-chunks-node.ts) and memory in tests (below).
import type { EncoderSettings } from '../../encoder/types.ts';
import { sha256Hex } from '../../data/hash.ts';
import type { EmbeddingPrecision } from './precision.ts';

/** Bump when the stored layout changes: older caches are then re-encoded instead of misread. */
export const EMBEDDINGS_FORMAT = 1;
/** Documents per chunk: a resume loses at most one chunk of work; 1024 × 768 floats = 3 MB. */
export const DEFAULT_CHUNK_SIZE = 1024;

/** What must match for stored embeddings to be reused. */
export interface EmbeddingIdentity {
  /** modelHash() of the encoder's files ('sha256:…'). */
  modelHash: string;
  /** Content checksum of the corpus (DatasetInfo.checksum; the runner appends '#limit=N' for a prefix). */
  corpusChecksum: string;
  settings: EncoderSettings;
  chunkSize: number;
  /** How the vectors are stored (precision.ts); absent means f32, so older manifests and cache keys stay valid. */
  precision?: EmbeddingPrecision;
}

export interface EmbeddingManifest extends EmbeddingIdentity {
  format: number;
  dim: number;
  /** Chunks 0 … chunksDone−1 are stored completely; every chunk but the last holds chunkSize rows. */
  chunksDone: number;
  docsDone: number;
  /** True once the whole corpus is encoded (then docsDone is the corpus size). */
  complete: boolean;
}

/**
 * One chunk: doc ids and their embeddings, row-major [ids.length × dim]. A store below a PrecisionChunkStore
 * is handed packed words instead (precision.ts) and keeps them as they are.
 */
export interface EmbeddingChunk {
  ids: string[];
  vectors: Float32Array;
}

/** Storage for one set of embeddings (one cache key). Writes of a chunk must be atomic: all or nothing. */
export interface ChunkStore {
  /** How this store keeps vectors (PrecisionChunkStore); absent means f32. Part of the embeddings' identity. */
  readonly precision?: EmbeddingPrecision;
  readManifest(): Promise<EmbeddingManifest | undefined>;
  writeManifest(manifest: EmbeddingManifest): Promise<void>;
  writeChunk(index: number, chunk: EmbeddingChunk): Promise<void>;
  readIds(index: number): Promise<string[]>;
  readVectors(index: number): Promise<Float32Array>;
  /** Removes the manifest and every chunk. */
  clear(): Promise<void>;
}

/** Canonical JSON (keys sorted), so equal settings always give the same key. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** A short stable name for a set of embeddings: 'emb-' + 24 hex digits of SHA-256 over the identity. */
export function embeddingCacheKey(identity: EmbeddingIdentity): string {
  const { modelHash, corpusChecksum, settings, chunkSize } = identity;
  const precision = identity.precision ?? 'f32';
  // f32 leaves the key as it was before precisions existed: caches encoded then are still found.
  const lower = precision === 'f32' ? {} : { precision };
  return 'emb-' + sha256Hex(canonical({ format: EMBEDDINGS_FORMAT, modelHash, corpusChecksum, settings, chunkSize, ...lower })).slice(0, 24);
}

/** True when the manifest was written for this identity (same model, corpus, settings, chunking, format). */
export function sameIdentity(manifest: EmbeddingManifest, identity: EmbeddingIdentity): boolean {
  return (
    manifest.format === EMBEDDINGS_FORMAT &&
    manifest.modelHash === identity.modelHash &&
    manifest.corpusChecksum === identity.corpusChecksum &&
    manifest.chunkSize === identity.chunkSize &&
    (manifest.precision ?? 'f32') === (identity.precision ?? 'f32') &&
    canonical(manifest.settings) === canonical(identity.settings)
  );
}

/** In memory (tests; a page session without storage). Copies on the way in and out like a real store. */
export class MemoryChunkStore implements ChunkStore {
  manifest: EmbeddingManifest | undefined;
  readonly chunks = new Map<number, EmbeddingChunk>();
  /** Counters for tests: how often chunks were written. */
  writes = 0;

  async readManifest() {
    return this.manifest && structuredClone(this.manifest);
  }
  async writeManifest(manifest: EmbeddingManifest) {
    this.manifest = structuredClone(manifest);
  }
  async writeChunk(index: number, chunk: EmbeddingChunk) {
    this.writes++;
    this.chunks.set(index, { ids: [...chunk.ids], vectors: chunk.vectors.slice() });
  }
  async readIds(index: number) {
    return [...this.get(index).ids];
  }
  async readVectors(index: number) {
    return this.get(index).vectors.slice();
  }
  async clear() {
    this.manifest = undefined;
    this.chunks.clear();
  }
  private get(index: number): EmbeddingChunk {
    const c = this.chunks.get(index);
    if (!c) throw new Error(`MemoryChunkStore: no chunk ${index}`);
    return c;
  }
}
