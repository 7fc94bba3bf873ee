// Gradients through our BertModel against PyTorch autograd (tests/reference/gen/tiny_bert.py): an InfoNCE
// loss over normalised mean-pooled queries vs documents (in-batch negatives, temperature 0.05), w.r.t.
// named weights from the embeddings to the last LayerNorm, on the cpu and wasm backends.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { toHfLayout } from '../../src/encoder/bert.ts';
import { loadBertEncoder } from '../../src/encoder/encoder.ts';
import type { ModelFiles } from '../../src/encoder/files.ts';
import { readModelDir } from '../../src/encoder/node-files.ts';
import { fixtureInfoNce } from './helpers/bert-check.ts';
import { GRAD_RTOL, LOSS_ATOL, TINY_BERT_DIR, loadTorchFixture, maxAbs, maxAbsDiff } from './helpers/bert-fixture.ts';

const fx = loadTorchFixture();
let files: ModelFiles;

beforeAll(async () => {
  await tf.setBackend('cpu');
  files = await readModelDir(TINY_BERT_DIR);
});

describe.each(['cpu', 'wasm'])('InfoNCE gradients on the %s backend vs PyTorch autograd', (backend) => {
  it(`match within ${GRAD_RTOL} of each tensor's scale`, async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    const enc = await loadBertEncoder(files, { settings: { pooling: 'mean', normalize: true } });
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => fixtureInfoNce(enc, fx), enc.variables);
    const loss = (await value.data())[0];
    console.log(`[${backend}] loss ${loss.toFixed(7)} (PyTorch ${fx.infonce.loss.toFixed(7)})`);
    expect(Math.abs(loss - fx.infonce.loss)).toBeLessThanOrEqual(LOSS_ATOL);

    for (const [key, ref] of Object.entries(fx.infonce.grads)) {
      const v = enc.model.params.get(key);
      expect(v, key).toBeDefined();
      const g = toHfLayout(key, grads[v!.name]); // Linear weights back to PyTorch's [out, in]
      expect(g.shape).toEqual(ref.shape);
      const diff = maxAbsDiff(await g.data(), ref.data);
      g.dispose();
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
