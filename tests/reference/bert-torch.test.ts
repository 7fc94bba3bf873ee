// Our BertModel against PyTorch (tests/reference/gen/tiny_bert.py): token ids from the Rust `tokenizers`
// library, last hidden states and mean/cls pooled embeddings from nn.TransformerEncoderLayer (float64),
// on the cpu and wasm backends. The webgpu backend: bert-webgpu-node.test.ts and tests/browser.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBertEncoder, type BertEncoder } from '../../src/encoder/encoder.ts';
import { readModelDir } from '../../src/encoder/node-files.ts';
import type { ModelFiles } from '../../src/encoder/files.ts';
import { FORWARD_ATOL, TINY_BERT_DIR, fixtureBatch, loadTorchFixture, maxAbsDiff } from './helpers/bert-fixture.ts';

const fx = loadTorchFixture();
let files: ModelFiles;

beforeAll(async () => {
  await tf.setBackend('cpu');
  files = await readModelDir(TINY_BERT_DIR);
});

describe('tokenizer vs HF tokenizers (Rust)', () => {
  it('gives the fixture ids from tokenizer.json, truncating long texts as Python does', async () => {
    const enc = await loadBertEncoder(files);
    try {
      expect(enc.settings.maxLength).toBe(fx.maxLength); // from sentence_bert_config.json
      const batch = enc.tokenize(fx.texts, 'doc');
      expect([batch.batch, batch.seqLen]).toEqual(fx.shape.slice(0, 2));
      expect(Array.from(batch.inputIds)).toEqual(fx.inputIds.flat());
      expect(Array.from(batch.attentionMask)).toEqual(fx.attentionMask.flat());
      expect(Array.from(batch.tokenTypeIds)).toEqual(fx.tokenTypeIds.flat());
      const long = fx.inputIds[3];
      expect(long).toHaveLength(fx.maxLength);
      expect(enc.tokenizer.idsToTokens([long[0], long[long.length - 1]])).toEqual(['[CLS]', '[SEP]']);
    } finally {
      enc.dispose();
    }
  });

  it('gives the same ids from vocab.txt + tokenizer_config.json alone (BertConverter pipeline)', async () => {
    const vocabOnly = new Map([...files].filter(([name]) => name !== 'tokenizer.json'));
    const enc = await loadBertEncoder(vocabOnly);
    try {
      expect(Array.from(enc.tokenize(fx.texts, 'doc').inputIds)).toEqual(fx.inputIds.flat());
    } finally {
      enc.dispose();
    }
  });
});

describe.each(['cpu', 'wasm'])('forward on the %s backend vs PyTorch', (backend) => {
  let enc: BertEncoder;
  let tensorsBefore = 0;

  beforeAll(async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    tensorsBefore = tf.memory().numTensors;
    enc = await loadBertEncoder(files);
  });
  afterAll(() => {
    enc.dispose();
    expect(tf.memory().numTensors).toBe(tensorsBefore); // variables freed too
  });

  it(`last hidden states within ${FORWARD_ATOL}`, async () => {
    const before = tf.memory().numTensors;
    const h = enc.model.forward(fixtureBatch(fx));
    expect(h.shape).toEqual(fx.shape);
    const diff = maxAbsDiff(await h.data(), fx.lastHiddenState);
    h.dispose();
    console.log(`[${backend}] last hidden state: max |diff| = ${diff.toExponential(2)}`);
    expect(diff).toBeLessThanOrEqual(FORWARD_ATOL);
    expect(tf.memory().numTensors).toBe(before);
  });

  it(`mean and cls pooled embeddings within ${FORWARD_ATOL}`, async () => {
    const before = tf.memory().numTensors;
    const batch = fixtureBatch(fx);
    for (const [pooling, expected] of [['mean', fx.meanPooled], ['cls', fx.clsPooled]] as const) {
      const e = await loadBertEncoder(files, { settings: { pooling, normalize: false } });
      const v = e.embed(batch);
      const diff = maxAbsDiff(await v.data(), expected);
      v.dispose();
      e.dispose();
      console.log(`[${backend}] ${pooling} pooled: max |diff| = ${diff.toExponential(2)}`);
      expect(diff).toBeLessThanOrEqual(FORWARD_ATOL);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('encode() sorts by length, batches and restores the input order', async () => {
    const before = tf.memory().numTensors;
    const progress: number[] = [];
    const out = await enc.encode(fx.texts, 'doc', { batchSize: 2, onProgress: (p) => progress.push(p.done) });
    expect(maxAbsDiff(out, fx.meanPooled)).toBeLessThanOrEqual(FORWARD_ATOL);
    expect(progress.at(-1)).toBe(fx.texts.length);
    expect(progress.every((d, i) => i === 0 || d >= progress[i - 1])).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });
});
