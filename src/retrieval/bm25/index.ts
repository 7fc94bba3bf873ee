// Public API of the Lucene/Pyserini-compatible BM25: build, search, persist.
export { buildBm25Index, type BuildOptions } from './build.ts';
export { Bm25Index, FORMAT_VERSION, type Bm25IndexData, type StoredBm25Index } from './inverted-index.ts';
export { searchBm25, queryTerms, Bm25Searcher, MAX_K, type SearchOptions } from './search.ts';
export { PYSERINI_BM25, bm25Params, type Bm25Params, type DocLengthMode } from './similarity.ts';
export { ANALYZER_ID, analyzeEnglish } from '../analysis/english-analyzer.ts';
