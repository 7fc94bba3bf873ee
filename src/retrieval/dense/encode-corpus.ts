// Corpus encoding, chunk by chunk, resumable: each chunk of `chunkSize` documents is encoded, stored,
// and only then counted in the manifest, so an interrupted run (cancel, closed tab, killed process)
// resumes after the last complete chunk and ends with exactly what an uninterrupted run stores.
import type { Encoder } from '../../encoder/types.ts';
import { flatText, type BeirDoc } from '../../data/types.ts';
import { ExpandrError, throwIfAborted } from '../../errors.ts';
import { throttledProgress, type WorkOptions } from '../../util/progress.ts';
import {
  DEFAULT_CHUNK_SIZE,
  EMBEDDINGS_FORMAT,
  sameIdentity,
  type ChunkStore,
  type EmbeddingIdentity,
  type EmbeddingManifest,
} from './chunk-store.ts';
import { quantizeStored } from './precision-store.ts';

export interface EncodeCorpusOptions extends WorkOptions {
  /** modelHash and corpusChecksum: what the stored embeddings are checked against before reuse. */
  modelHash: string;
  corpusChecksum: string;
  chunkSize?: number;
  /** Texts per encoder batch (passed to Encoder.encode). */
  batchSize?: number;
  /** Corpus size for progress (0 or absent: unknown). */
  totalDocs?: number;
  /**
   * Complete float32 embeddings of the same model, corpus and settings: a sink at a lower precision is
   * filled by packing them (precision-store.ts quantizeStored) instead of encoding the corpus again.
   */
  quantizeFrom?: ChunkStore;
}

export interface EncodeCorpusResult {
  manifest: EmbeddingManifest;
  /** Chunks found complete in the store before this call (a finished cache: all of them). */
  reusedChunks: number;
  /** Documents encoded by this call. */
  encodedDocs: number;
}

export const ENCODE_STAGE = 'dense:encode';

/**
 * Documents in corpus order: an array, store batches, or a function giving a fresh pass (lets a resume
 * that finds a different corpus start over; a one-shot iterable then fails instead).
 */
export type DocSource = AsyncIterable<BeirDoc[]> | Iterable<BeirDoc> | (() => AsyncIterable<BeirDoc[]> | Iterable<BeirDoc>);

/**
 * Encodes `docs` (title + ' ' + text, with the encoder's document prefix) into `sink`. A complete,
 * matching manifest returns at once without reading `docs`; a partial one resumes; any other is cleared.
 */
export async function encodeCorpus(
  encoder: Encoder,
  docs: DocSource,
  sink: ChunkStore,
  opts: EncodeCorpusOptions,
): Promise<EncodeCorpusResult> {
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new RangeError(`chunkSize must be a positive integer, got ${chunkSize}`);
  const identity: EmbeddingIdentity = { modelHash: opts.modelHash, corpusChecksum: opts.corpusChecksum, settings: { ...encoder.settings }, chunkSize };
  if (sink.precision && sink.precision !== 'f32') identity.precision = sink.precision;
  const report = throttledProgress(opts.onProgress);
  const total = opts.totalDocs ?? 0;
  if (opts.quantizeFrom && identity.precision) await quantizeStored(opts.quantizeFrom, sink, identity, opts);

  let manifest = await sink.readManifest();
  if (manifest && !(sameIdentity(manifest, identity) && manifest.dim === encoder.dim)) manifest = undefined;
  if (manifest?.complete) {
    report({ stage: ENCODE_STAGE, done: manifest.docsDone, total: manifest.docsDone, unit: 'docs', text: 'cached' }, true);
    return { manifest, reusedChunks: manifest.chunksDone, encodedDocs: 0 };
  }
  if (!manifest) {
    await sink.clear();
    manifest = { ...identity, format: EMBEDDINGS_FORMAT, dim: encoder.dim, chunksDone: 0, docsDone: 0, complete: false };
    await sink.writeManifest(manifest);
  }
  const reusedChunks = manifest.chunksDone;
  const skip = manifest.chunksDone * chunkSize;
  // The last stored chunk's ids are compared with the source on the way past, as a guard against a
  // corpus that changed under the same checksum (e.g. a limit applied differently).
  const lastIds = reusedChunks > 0 ? await sink.readIds(reusedChunks - 1) : [];
  const lastStart = (reusedChunks - 1) * chunkSize;

  let seen = 0; // documents read from the source
  let pending: BeirDoc[] = [];
  let encodedDocs = 0;
  let shown = manifest.docsDone;
  const show = (done: number, force = false) => {
    shown = Math.max(shown, Math.floor(done)); // never backwards, even if the encoder's progress is coarse
    report({ stage: ENCODE_STAGE, done: shown, total: Math.max(total, shown), unit: 'docs' }, force);
  };
  show(manifest.docsDone, true);

  const flush = async () => {
    const chunkDocs = pending;
    pending = [];
    const base = manifest!.docsDone;
    const vectors = await encoder.encode(
      chunkDocs.map(flatText),
      'doc',
      {
        signal: opts.signal,
        batchSize: opts.batchSize,
        onProgress: (p) => p.total > 0 && show(base + (Math.min(p.done, p.total) / p.total) * chunkDocs.length),
      },
    );
    throwIfAborted(opts.signal, 'Encoding');
    if (vectors.length !== chunkDocs.length * encoder.dim) {
      throw new Error(`Encoder returned ${vectors.length} values for ${chunkDocs.length} texts of dimension ${encoder.dim}`);
    }
    await sink.writeChunk(manifest!.chunksDone, { ids: chunkDocs.map((d) => d.id), vectors });
    manifest = { ...manifest!, chunksDone: manifest!.chunksDone + 1, docsDone: base + chunkDocs.length };
    await sink.writeManifest(manifest);
    encodedDocs += chunkDocs.length;
    show(manifest.docsDone);
  };

  // Not the corpus these chunks came from: start over (at most once: the store is empty afterwards).
  const restart = async () => {
    await sink.clear();
    if (typeof docs !== 'function' && !Array.isArray(docs)) {
      throw new ExpandrError('The stored embeddings do not match this corpus and were cleared; run the encoding again.');
    }
    return encodeCorpus(encoder, docs, sink, opts);
  };

  for await (const batch of asBatches(typeof docs === 'function' ? docs() : docs)) {
    for (const doc of batch) {
      const i = seen++;
      if (i < skip) {
        if (i >= lastStart && lastIds[i - lastStart] !== doc.id) return restart();
        continue;
      }
      pending.push(doc);
      if (pending.length === chunkSize) await flush();
    }
    throwIfAborted(opts.signal, 'Encoding');
  }
  if (seen < skip) return restart(); // fewer documents than already stored: another corpus
  if (pending.length > 0) await flush();
  manifest = { ...manifest, complete: true };
  await sink.writeManifest(manifest);
  show(manifest.docsDone, true);
  return { manifest, reusedChunks, encodedDocs };
}

/** An array of documents or store batches, read as batches. */
async function* asBatches(docs: AsyncIterable<BeirDoc[]> | Iterable<BeirDoc>): AsyncGenerator<BeirDoc[]> {
  if (Symbol.asyncIterator in docs) {
    yield* docs as AsyncIterable<BeirDoc[]>;
    return;
  }
  const all = Array.isArray(docs) ? docs : [...(docs as Iterable<BeirDoc>)];
  const step = 4096; // lets cancellation in between on a large in-memory corpus
  for (let i = 0; i < all.length; i += step) yield all.slice(i, i + step);
}
