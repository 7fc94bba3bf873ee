// Bench page (bench/scale-page.bench.ts): the page's own path at 10k–1M documents in one tab. A synthetic
// BEIR folder served over HTTP is imported into this page's IndexedDB (importBeir, as the app's import),
// the BM25 index is built from the stored documents (store.iterateDocs, as runBm25Eval), the 300 test
// queries are searched, and 300 random unit queries are scored exactly against random unit embeddings
// stored as the app stores corpus embeddings (StoreChunkStore, optionally float16 / int8). The Node side
// calls one stage at a time and reads the renderer's peak RSS around it; this page reports its time and
// its JS heap (performance.memory, precise with --enable-precise-memory-info) sampled while it runs.
import * as tf from '@tensorflow/tfjs-core';
import { setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { shareWasmIdentity } from '../../src/util/wasm-identity.ts';
import type { SourceFile } from '../../src/data/source.ts';
import { splitQueries } from '../../src/data/qrels.ts';
import { openStore, type Store } from '../../src/store/store.ts';
import { importBeir } from '../../src/store/import-beir.ts';
import { buildBm25Index, searchBm25, type Bm25Index } from '../../src/retrieval/bm25/index.ts';
import { DEFAULT_CHUNK_SIZE, EMBEDDINGS_FORMAT, type EmbeddingManifest } from '../../src/retrieval/dense/chunk-store.ts';
import { StoreChunkStore } from '../../src/retrieval/dense/store-chunks.ts';
import { precisionStore } from '../../src/retrieval/dense/precision-store.ts';
import { parsePrecision } from '../../src/retrieval/dense/precision.ts';
import { denseCorpusFromStore, searchDense } from '../../src/retrieval/dense/search.ts';
import { randomUnitRows, EMBEDDING_DIM } from '../scale-embeddings.ts';

export interface ScaleFile {
  path: string;
  url: string;
  size: number;
}

export type ScaleStage =
  | { stage: 'setup'; threads: number }
  | { stage: 'import'; files: ScaleFile[] }
  | { stage: 'bm25 index' }
  | { stage: 'bm25 search' }
  | { stage: 'write embeddings'; precision: string }
  | { stage: 'dense search'; precision: string }
  | { stage: 'clear' };

export interface ScaleStageResult {
  ms: number;
  /** Highest performance.memory.usedJSHeapSize seen (sampled every 50 ms and at the end). */
  peakHeap: number;
  heapAfter: number;
  extra: Record<string, number | string>;
}

declare global {
  interface Window {
    scaleStage(s: ScaleStage): Promise<ScaleStageResult>;
  }
}

const QUERY_SEED = 2;
const DOC_SEED = 1;
const K = 1000;
const status = document.getElementById('status')!;
const heapUsed = () => (performance as Performance & { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0;

/** A served file as a SourceFile: its bytes streamed by fetch, never held whole. */
function served(f: ScaleFile): SourceFile {
  return {
    path: f.path,
    size: f.size,
    stream: () => {
      let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
      return new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (!reader) {
            const res = await fetch(f.url);
            if (!res.ok || !res.body) throw new Error(`${f.url}: HTTP ${res.status}`);
            reader = res.body.getReader();
          }
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        },
        cancel: (why) => reader?.cancel(why),
      });
    },
  };
}

let store: Store | undefined;
let datasetId = '';
let docs = 0;
let index: Bm25Index | undefined;

window.scaleStage = async (s) => {
  status.textContent = s.stage;
  let peakHeap = heapUsed();
  const timer = setInterval(() => (peakHeap = Math.max(peakHeap, heapUsed())), 50);
  const t0 = performance.now();
  let extra: Record<string, number | string> = {};
  try {
    extra = await run(s);
  } finally {
    clearInterval(timer);
  }
  const ms = performance.now() - t0;
  peakHeap = Math.max(peakHeap, heapUsed());
  status.textContent = `${s.stage} done`;
  return { ms, peakHeap, heapAfter: heapUsed(), extra };
};

async function run(s: ScaleStage): Promise<Record<string, number | string>> {
  switch (s.stage) {
    case 'setup': {
      shareWasmIdentity();
      setWasmPaths({ 'tfjs-backend-wasm.wasm': wasm, 'tfjs-backend-wasm-simd.wasm': wasmSimd, 'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded });
      setThreadsCount(s.threads);
      // tfjs-wasm caps its pool at hardwareConcurrency / 2, read when it starts (see bench/pages/encoder-page.ts).
      Object.defineProperty(navigator, 'hardwareConcurrency', { value: 2 * s.threads, configurable: true });
      try {
        if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend did not start');
        await tf.ready();
      } finally {
        delete (navigator as unknown as Record<string, unknown>).hardwareConcurrency;
      }
      store = await openStore({ dbName: 'expandr-scale-bench' });
      return { backend: tf.getBackend(), crossOriginIsolated: String(crossOriginIsolated) };
    }
    case 'import': {
      const { dataset } = await importBeir(store!, s.files.map(served), {});
      datasetId = dataset.id;
      docs = dataset.counts.docs;
      return { docs };
    }
    case 'bm25 index': {
      index = await buildBm25Index(store!.iterateDocs(datasetId, 2000), { totalDocs: docs });
      return { terms: index.terms.length, postings: index.postingDocs.length };
    }
    case 'bm25 search': {
      const qrels = await store!.getQrels(datasetId, 'test');
      const queries = splitQueries(await store!.getQueries(datasetId), qrels);
      const run = await searchBm25(index!, queries, { k: K });
      index = undefined; // the dense stages run without the BM25 index held
      return { queries: run.size, hits: [...run.values()].reduce((n, h) => n + h.length, 0) };
    }
    case 'write embeddings': {
      const p = parsePrecision(s.precision);
      const sink = precisionStore(new StoreChunkStore(store!, datasetId, `emb-scale-${p}`), p);
      await sink.clear();
      const chunks = Math.ceil(docs / DEFAULT_CHUNK_SIZE);
      const manifest: EmbeddingManifest = {
        modelHash: 'random', corpusChecksum: `synthetic-${docs}`, chunkSize: DEFAULT_CHUNK_SIZE, precision: p, format: EMBEDDINGS_FORMAT, dim: EMBEDDING_DIM,
        settings: { pooling: 'mean', normalize: true, queryPrefix: '', docPrefix: '', maxLength: 512 } as EmbeddingManifest['settings'],
        chunksDone: 0, docsDone: 0, complete: false,
      };
      await sink.writeManifest(manifest);
      for (let c = 0; c < chunks; c++) {
        const first = c * DEFAULT_CHUNK_SIZE;
        const rows = Math.min(DEFAULT_CHUNK_SIZE, docs - first);
        await sink.writeChunk(c, { ids: Array.from({ length: rows }, (_, r) => `d${first + r}`), vectors: randomUnitRows(DOC_SEED, first, rows) });
      }
      await sink.writeManifest({ ...manifest, chunksDone: chunks, docsDone: docs, complete: true });
      return { chunks };
    }
    case 'dense search': {
      const p = parsePrecision(s.precision);
      const sink = precisionStore(new StoreChunkStore(store!, datasetId, `emb-scale-${p}`), p);
      const qids = Array.from({ length: 300 }, (_, i) => `q${i}`);
      const run = await searchDense(await denseCorpusFromStore(sink), qids, randomUnitRows(QUERY_SEED, 0, qids.length), { k: K });
      await sink.clear(); // the next precision starts from the same storage
      return { hits: [...run.values()].reduce((n, h) => n + h.length, 0), top: run.get('q0')![0]!.docId };
    }
    case 'clear': {
      if (datasetId) await store!.deleteDataset(datasetId);
      return {};
    }
  }
}
