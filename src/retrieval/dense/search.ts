// Exact inner-product top-k over stored embeddings, on the active tfjs backend: a block of queries
// [nq × dim] times a block of documents transposed [dim × nd] gives scores [nq × nd], which are read back and
// merged into one bounded TopK per query (trec_eval order: score desc, then doc id desc). Chunks are
// visited one at a time and each product is capped at `maxMatmulElements` per operand and result, so
// memory stays bounded for corpora far larger than a GPU buffer. Every tensor is disposed.
import * as tf from '@tensorflow/tfjs-core';
import type { Run } from '../../eval/types.ts';
import { NotFoundError, throwIfAborted } from '../../errors.ts';
import { throttledProgress, type WorkOptions } from '../../util/progress.ts';
import { idRanks, TopK } from '../top-k.ts';
import type { ChunkStore } from './chunk-store.ts';

/**
 * Largest operand or result of one matmul, in float32 elements: 2^24 = 64 MiB, half of WebGPU's
 * default maxStorageBufferBindingSize (128 MiB), so no single buffer can hit the device limit.
 */
export const MAX_MATMUL_ELEMENTS = 1 << 24;
/** Hits per query at most (BEIR evaluates top 1000). */
export const MAX_K = 1000;
export const SEARCH_STAGE = 'dense:search';
/** A document vector shorter than this is left unnormalised (avoids 0/0). */
const NORM_EPS = 1e-12;

/** Embeddings to search: every chunk but the last holds chunkSize rows; ids in row order. */
export interface DenseCorpus {
  dim: number;
  ids: readonly string[];
  chunkSize: number;
  chunkCount: number;
  readVectors(chunk: number): Promise<Float32Array>;
}

export interface DenseSearchOptions extends WorkOptions {
  /** Hits per query, 1 … MAX_K (default MAX_K). */
  k?: number;
  /** L2-normalise documents before scoring (cosine similarity; Eq. 8's 'contriever' variant). */
  normalizeDocs?: boolean;
  /** Cap per operand / result of one matmul, in elements (tests lower it to force many blocks). */
  maxMatmulElements?: number;
}

/** A complete set of stored embeddings as a searchable corpus (reads every chunk's ids once). */
export async function denseCorpusFromStore(store: ChunkStore): Promise<DenseCorpus> {
  const m = await store.readManifest();
  if (!m?.complete) throw new NotFoundError('The corpus embeddings are missing or incomplete: encode the corpus first.');
  const ids: string[] = [];
  for (let c = 0; c < m.chunksDone; c++) ids.push(...(await store.readIds(c)));
  return { dim: m.dim, ids, chunkSize: m.chunkSize, chunkCount: m.chunksDone, readVectors: (c) => store.readVectors(c) };
}

/** In-memory embeddings [ids.length × dim] as a corpus, cut into chunks (tests, small corpora). */
export function denseCorpusFromArray(ids: readonly string[], vectors: Float32Array, dim: number, chunkSize = 1024): DenseCorpus {
  if (vectors.length !== ids.length * dim) throw new RangeError(`denseCorpusFromArray: ${vectors.length} values for ${ids.length} × ${dim}`);
  return {
    dim,
    ids,
    chunkSize,
    chunkCount: Math.ceil(ids.length / chunkSize),
    readVectors: async (c) => vectors.subarray(c * chunkSize * dim, Math.min(ids.length, (c + 1) * chunkSize) * dim),
  };
}

/** Top-k documents for each query (vectors row-major [queryIds.length × dim]), best first. */
export async function searchDense(
  corpus: DenseCorpus,
  queryIds: readonly string[],
  queryVectors: Float32Array,
  opts: DenseSearchOptions = {},
): Promise<Run> {
  const { dim } = corpus;
  const k = opts.k ?? MAX_K;
  if (!Number.isInteger(k) || k < 1 || k > MAX_K) throw new RangeError(`k must be an integer in [1, ${MAX_K}], got ${k}`);
  if (queryVectors.length !== queryIds.length * dim) {
    throw new RangeError(`searchDense: ${queryVectors.length} query values for ${queryIds.length} queries of dimension ${dim}`);
  }
  const max = opts.maxMatmulElements ?? MAX_MATMUL_ELEMENTS;
  if (dim > max) throw new RangeError(`Embedding dimension ${dim} exceeds maxMatmulElements ${max}`);
  const nQ = queryIds.length;
  // Block sizes: query rows × dim ≤ max, doc rows × dim ≤ max, query rows × doc rows ≤ max.
  const qRows = Math.max(1, Math.min(nQ, Math.floor(max / dim)));
  const dRows = Math.max(1, Math.min(corpus.chunkSize, Math.floor(max / Math.max(dim, qRows))));

  const rank = idRanks(corpus.ids);
  const heaps = Array.from({ length: nQ }, () => new TopK(k, rank));
  const report = throttledProgress(opts.onProgress);
  const total = corpus.ids.length;
  report({ stage: SEARCH_STAGE, done: 0, total, unit: 'docs' }, true);

  const qBlocks: tf.Tensor2D[] = [];
  let docs: tf.Tensor2D | null = null;
  let ord0 = 0; // ordinal of the first row of the current chunk
  try {
    for (let q0 = 0; q0 < nQ; q0 += qRows) {
      const n = Math.min(qRows, nQ - q0);
      qBlocks.push(tf.tensor2d(queryVectors.subarray(q0 * dim, (q0 + n) * dim), [n, dim]));
    }
    for (let c = 0; c < corpus.chunkCount; c++) {
      throwIfAborted(opts.signal, 'Search');
      const vectors = await corpus.readVectors(c);
      const rows = vectors.length / dim;
      for (let r0 = 0; r0 < rows; r0 += dRows) {
        const nd = Math.min(dRows, rows - r0);
        docs = tf.tensor2d(transposedBlock(vectors, r0, nd, dim, !!opts.normalizeDocs), [dim, nd]);
        for (let b = 0, q0 = 0; b < qBlocks.length; q0 += qBlocks[b].shape[0], b++) {
          const s = tf.matMul(qBlocks[b], docs); // [nq, dim] × [dim, nd] → [nq, nd]
          let scores: Float32Array;
          try {
            scores = (await s.data()) as Float32Array;
          } finally {
            s.dispose();
          }
          mergeScores(scores, qBlocks[b].shape[0], nd, heaps, q0, ord0 + r0);
        }
        docs.dispose();
        docs = null;
        report({ stage: SEARCH_STAGE, done: ord0 + r0 + nd, total, unit: 'docs' });
      }
      ord0 += rows;
    }
  } finally {
    docs?.dispose();
    for (const t of qBlocks) t.dispose();
  }
  if (ord0 !== total) throw new Error(`searchDense: the chunks hold ${ord0} rows but the corpus lists ${total} ids`);

  const run: Run = new Map();
  for (let i = 0; i < nQ; i++) {
    const hits: { docId: string; score: number }[] = [];
    heaps[i].drain((ord, score) => hits.push({ docId: corpus.ids[ord], score }));
    run.set(queryIds[i], hits);
  }
  report({ stage: SEARCH_STAGE, done: total, total, unit: 'docs' }, true);
  return run;
}

/** Pushes a [nq × nd] score block into the heaps of queries q0… for documents ord0…, skipping what cannot enter. */
function mergeScores(scores: Float32Array, nq: number, nd: number, heaps: TopK[], q0: number, ord0: number): void {
  for (let i = 0; i < nq; i++) {
    const heap = heaps[q0 + i];
    let threshold = heap.threshold;
    const off = i * nd;
    for (let j = 0; j < nd; j++) {
      const s = scores[off + j];
      if (s >= threshold) { // a tie with the threshold may still enter on its id; TopK decides
        heap.push(ord0 + j, s);
        threshold = heap.threshold;
      }
    }
  }
}

/**
 * Rows [firstRow, firstRow + rowCount) of the row-major [· × dim] `vectors` as Dᵀ [dim × rowCount], optionally L2-normalised (in
 * float64). Done in JS on the way in: wasm's matMul with transposeB is ~15× slower than without, and
 * its Transpose kernel costs more than this loop.
 */
export function transposedBlock(vectors: Float32Array, firstRow: number, rowCount: number, dim: number, normalize: boolean): Float32Array {
  const out = new Float32Array(dim * rowCount);
  for (let r = 0; r < rowCount; r++) {
    const off = (firstRow + r) * dim;
    let scale = 1;
    if (normalize) {
      let ss = 0;
      for (let j = 0; j < dim; j++) ss += vectors[off + j] * vectors[off + j];
      scale = 1 / Math.max(Math.sqrt(ss), NORM_EPS);
    }
    for (let j = 0; j < dim; j++) out[j * rowCount + r] = vectors[off + j] * scale;
  }
  return out;
}
