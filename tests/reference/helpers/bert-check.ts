// Runs every comparison with the PyTorch fixture on the active tfjs backend and returns the measured
// differences. No Node or DOM APIs: the Node-webgpu child process and the Chromium page both call it.
import * as tf from '@tensorflow/tfjs-core';
import { toHfLayout } from '../../../src/encoder/bert.ts';
import { loadBertEncoder, type BertEncoder } from '../../../src/encoder/encoder.ts';
import type { ModelFiles } from '../../../src/encoder/files.ts';
import { fixtureBatch, maxAbs, maxAbsDiff, type TorchFixture } from './bert-fixture-data.ts';

export interface BertCheckResult {
  backend: string;
  idsEqual: boolean;
  hiddenDiff: number;
  meanDiff: number;
  clsDiff: number;
  /** encode() (length-sorted batches of 2) vs the fixture's mean pooling. */
  encodeDiff: number;
  lossDiff: number;
  /** Per weight: max |ours − autograd| / max |autograd|. */
  gradRel: Record<string, number>;
  /** Tensors left behind by all of the above (must be 0). */
  leakedTensors: number;
}

/** The fixture's InfoNCE: cross-entropy of q·dᵀ/τ against the diagonal (query i's positive is doc i). */
export function fixtureInfoNce(enc: BertEncoder, fx: TorchFixture): tf.Scalar {
  const q = enc.embed(enc.tokenize(fx.infonce.queries, 'query')); // (n, d)
  const d = enc.embed(enc.tokenize(fx.infonce.docs, 'doc'));
  const scores = tf.div(tf.matMul(q, d, false, true), fx.infonce.temperature); // (n, n)
  const n = fx.infonce.queries.length;
  return tf.neg(tf.div(tf.sum(tf.mul(tf.logSoftmax(scores), tf.eye(n))), n)) as tf.Scalar;
}

export async function runBertCheck(files: ModelFiles, fx: TorchFixture): Promise<BertCheckResult> {
  const start = tf.memory().numTensors;
  const batch = fixtureBatch(fx);
  const diffOf = async (t: tf.Tensor, expected: number[]) => {
    const d = maxAbsDiff(await t.data(), expected);
    t.dispose();
    return d;
  };

  const mean = await loadBertEncoder(files, { settings: { pooling: 'mean', normalize: false } });
  const idsEqual = JSON.stringify(Array.from(mean.tokenize(fx.texts, 'doc').inputIds)) === JSON.stringify(fx.inputIds.flat());
  const hiddenDiff = await diffOf(mean.model.forward(batch), fx.lastHiddenState);
  const meanDiff = await diffOf(mean.embed(batch), fx.meanPooled);
  const encodeDiff = maxAbsDiff(await mean.encode(fx.texts, 'doc', { batchSize: 2 }), fx.meanPooled);
  mean.dispose();

  const cls = await loadBertEncoder(files, { settings: { pooling: 'cls', normalize: false } });
  const clsDiff = await diffOf(cls.embed(batch), fx.clsPooled);
  cls.dispose();

  const enc = await loadBertEncoder(files, { settings: { pooling: 'mean', normalize: true } });
  const { value, grads } = tf.variableGrads(() => fixtureInfoNce(enc, fx), enc.variables);
  const lossDiff = Math.abs((await value.data())[0] - fx.infonce.loss);
  const gradRel: Record<string, number> = {};
  for (const [key, ref] of Object.entries(fx.infonce.grads)) {
    const g = toHfLayout(key, grads[enc.model.params.get(key)!.name]); // Linear weights back to [out, in]
    gradRel[key] = maxAbsDiff(await g.data(), ref.data) / maxAbs(ref.data);
    g.dispose();
  }
  value.dispose();
  tf.dispose(Object.values(grads));
  enc.dispose();

  return { backend: tf.getBackend(), idsEqual, hiddenDiff, meanDiff, clsDiff, encodeDiff, lossDiff, gradRel, leakedTensors: tf.memory().numTensors - start };
}
