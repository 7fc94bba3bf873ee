// Interop: a fine-tuned encoder exported as a sentence-transformers folder (src/encoder/st-folder.ts)
// embeds like ours in Python. The tiny BERT fixture is trained a few steps (trainRetriever), exported, read
// back by our loader (the runner's path for --encoder DIR), and SentenceTransformer(DIR).encode
// (tests/reference/gen/check_st_embeddings.py) must give our embeddings within EMBEDDING_TOLERANCE: documents as
// they are, queries with the folder's "query" prompt, one text longer than max_seq_length (truncation).
// Python comes from tests/reference/helpers/python.ts (skipped with the reason and the fix when none has
// sentence-transformers).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { useCpuBackend } from '../unit/helpers/tiny-encoder.ts';
import { syntheticTask } from '../unit/helpers/train-corpus.ts';
import { loadBertEncoder } from '../../src/encoder/encoder.ts';
import { readModelDir } from '../../src/encoder/node-files.ts';
import { exportBertEncoder } from '../../src/encoder/st-folder.ts';
import { buildTrainData } from '../../src/train/examples.ts';
import { trainRetriever } from '../../src/train/trainer.ts';
import { findPython, runPythonJson } from './helpers/python.ts';

/** float32 in both; unit-length embeddings of a 32-wide model agree to ~1e-7. */
const EMBEDDING_TOLERANCE = 1e-4;
const PYTHON_TIMEOUT_MS = 120_000;
const SCRIPT = new URL('./gen/check_st_embeddings.py', import.meta.url).pathname;
const TINY_BERT = new URL('./fixtures/tiny-bert', import.meta.url).pathname;
const DOCS = [
  'dense retrieval with large language models',
  'vitamin d reduces cancer risk in patients',
  'the protein is expressed in cells',
  // longer than max_seq_length (16 tokens): truncated alike
  'contrastive training of a dense retriever with hard negatives and query expansion in the browser on the gpu increased the effect',
  'Cafe science: evidence for the claim!',
];
const QUERIES = ['what does vitamin d do', 'how to train a dense retriever'];

const { python } = findPython(['torch', 'transformers', 'sentence_transformers'], 'the sentence-transformers interop check');

interface CheckResult {
  ok: boolean;
  problems: string[];
  modules: string[];
  max_seq_length: number;
  prompts: Record<string, string>;
  dim: number;
  doc_max_diff: number;
  query_max_diff: number | null;
}

describe.skipIf(python === null)('a fine-tuned encoder folder embeds in SentenceTransformer as in ours', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'expandr-st-interop-'));
  const dir = join(tmp, 'encoder');
  let baseDocs: Float32Array;
  let trainedDocs: Float32Array;

  beforeAll(async () => {
    await useCpuBackend();
    const src = await readModelDir(TINY_BERT);
    const settings = { normalize: true, maxLength: 16, queryPrefix: 'query: ' };
    const enc = await loadBertEncoder(src, { settings });
    baseDocs = await enc.encode(DOCS, 'doc');
    const { docs, queries, qrels } = syntheticTask(8);
    const { data } = buildTrainData(docs, queries, qrels);
    await trainRetriever(enc, data, { settings: { steps: 3, batchSize: 4, lr: 1e-2, hardNegatives: false, dropout: false } });
    const files = await exportBertEncoder(enc, src);
    enc.dispose();
    for (const [name, bytes] of files) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), bytes);
    }
    // Ours: the exported folder through our loader, as `encode --encoder DIR` reads it.
    const back = await loadBertEncoder(await readModelDir(dir));
    trainedDocs = await back.encode(DOCS, 'doc');
    const queryEmb = await back.encode(QUERIES, 'query');
    const rows = (m: Float32Array, n: number) => Array.from({ length: n }, (_, i) => Array.from(m.subarray((i * m.length) / n, ((i + 1) * m.length) / n)));
    writeFileSync(join(tmp, 'ours.json'), JSON.stringify({ docs: DOCS, doc_embeddings: rows(trainedDocs, DOCS.length), queries: QUERIES, query_embeddings: rows(queryEmb, QUERIES.length) }));
    back.dispose();
  }, 60_000);
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  test(`SentenceTransformer(DIR).encode gives our embeddings within ${EMBEDDING_TOLERANCE}`, () => {
    let moved = 0;
    trainedDocs.forEach((x, i) => (moved = Math.max(moved, Math.abs(x - baseDocs[i]))));
    console.log(`training moved the document embeddings by up to ${moved.toExponential(2)}`);
    expect(moved).toBeGreaterThan(100 * EMBEDDING_TOLERANCE); // the weights compared are the trained ones
    const r = runPythonJson<CheckResult>(python!, SCRIPT, [dir, join(tmp, 'ours.json')], PYTHON_TIMEOUT_MS);
    console.log(`check_st_embeddings.py (${python}): ${JSON.stringify(r.out)}`);
    expect(r.out.problems).toEqual([]);
    expect(r.out.modules).toEqual(['Transformer', 'Pooling', 'Normalize']);
    expect(r.out.max_seq_length).toBe(16);
    expect(r.out.prompts).toMatchObject({ query: 'query: ' });
    expect(r.out.dim).toBe(32);
    expect(r.out.doc_max_diff).toBeLessThanOrEqual(EMBEDDING_TOLERANCE);
    expect(r.out.query_max_diff!).toBeLessThanOrEqual(EMBEDDING_TOLERANCE);
    expect(r.status).toBe(0);
  }, PYTHON_TIMEOUT_MS + 10_000);
});
