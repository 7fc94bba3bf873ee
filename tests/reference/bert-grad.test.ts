// Gradients through our BertModel against PyTorch autograd (tests/reference/gen/tiny_bert.py): an InfoNCE
// loss over normalised mean-pooled queries vs documents (in-batch negatives, temperature 0.05), w.r.t.
// named weights from the embeddings to the last LayerNorm, on the cpu and wasm backends.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadBertEncoder, type BertEncoder } from '../../src/encoder/encoder.ts';
import type { ModelFiles } from '../../src/encoder/files.ts';
import { readModelDir } from '../../src/encoder/node-files.ts';
import { TINY_BERT_DIR, loadTorchFixture, maxAbs, maxAbsDiff } from './helpers/bert-fixture.ts';

/** Max |ours − autograd| per tensor, relative to that tensor's largest |gradient| (float32 vs float64). */
const GRAD_RTOL = 1e-4;
/** |loss − PyTorch loss|. */
const LOSS_ATOL = 1e-5;

const fx = loadTorchFixture();
let files: ModelFiles;

beforeAll(async () => {
  await tf.setBackend('cpu');
  files = await readModelDir(TINY_BERT_DIR);
});

/** The fixture's loss: cross-entropy of q·dᵀ/τ against the diagonal (query i's positive is doc i). */
function infoNce(enc: BertEncoder): tf.Scalar {
  const q = enc.embed(enc.tokenize(fx.infonce.queries, 'query')); // (n, d), normalised
  const d = enc.embed(enc.tokenize(fx.infonce.docs, 'doc'));
  const scores = tf.div(tf.matMul(q, d, false, true), fx.infonce.temperature); // (n, n)
  const n = fx.infonce.queries.length;
  return tf.neg(tf.div(tf.sum(tf.mul(tf.logSoftmax(scores), tf.eye(n))), n));
}

describe.each(['cpu', 'wasm'])('InfoNCE gradients on the %s backend vs PyTorch autograd', (backend) => {
  it(`match within ${GRAD_RTOL} of each tensor's scale`, async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    const enc = await loadBertEncoder(files, { settings: { pooling: 'mean', normalize: true } });
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => infoNce(enc), enc.variables);
    const loss = (await value.data())[0];
    console.log(`[${backend}] loss ${loss.toFixed(7)} (PyTorch ${fx.infonce.loss.toFixed(7)})`);
    expect(Math.abs(loss - fx.infonce.loss)).toBeLessThanOrEqual(LOSS_ATOL);

    const byKey = new Map([...enc.model.params].map(([key, v]) => [key, grads[v.name]]));
    for (const [key, ref] of Object.entries(fx.infonce.grads)) {
      const g = byKey.get(key);
      expect(g, key).toBeDefined();
      expect(g!.shape).toEqual(ref.shape);
      const diff = maxAbsDiff(await g!.data(), ref.data);
      const scale = maxAbs(ref.data);
      console.log(`[${backend}] ∂L/∂${key}: max |diff| ${diff.toExponential(2)}, scale ${scale.toExponential(2)}, rel ${(diff / scale).toExponential(2)}`);
      expect(diff / scale, key).toBeLessThanOrEqual(GRAD_RTOL);
    }
    value.dispose();
    tf.dispose(Object.values(grads));
    expect(tf.memory().numTensors).toBe(before);
    enc.dispose();
  });
});
