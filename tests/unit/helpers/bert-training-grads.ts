// A small BertModel's training gradients (dropout on, a padded batch with a repeated id) on a backend, with the
// kernels that ran: the shared case of the tests that check the compiled training kernels against other paths.
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { BertModel } from '../../../src/encoder/bert.ts';
import type { BertConfig } from '../../../src/encoder/config.ts';
import type { TokenizedBatch } from '../../../src/encoder/types.ts';

export const BERT_TRAINING_CONFIG: BertConfig = { vocabSize: 50, hiddenSize: 64, numLayers: 2, numHeads: 2, intermediateSize: 96, hiddenAct: 'gelu', maxPositions: 16, typeVocabSize: 2, layerNormEps: 1e-12, hiddenDropout: 0.1, attentionDropout: 0.1, initializerRange: 0.02 };
// Two sequences of 7 (the second padded), id 5 twice (the word gradient's scatter-add sums it).
const batch: TokenizedBatch = { batch: 2, seqLen: 7, inputIds: Int32Array.from([2, 5, 9, 5, 3, 8, 1, 2, 7, 3, 0, 0, 0, 0]), tokenTypeIds: Int32Array.from([0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]), attentionMask: Int32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]) };

/** Gradients of Σ forward(batch)·w by parameter name (seeded model and dropout), and the kernel names that ran. */
export async function bertTrainingGrads(backend: string): Promise<{ grads: Map<string, Float32Array>; names: string[] }> {
  expect(await tf.setBackend(backend)).toBe(true);
  const model = BertModel.random(BERT_TRAINING_CONFIG, 3);
  const w = tf.tensor3d(Float32Array.from({ length: 14 * 64 }, (_, i) => Math.sin(0.3 * i)), [2, 7, 64]);
  let grads = new Map<string, Float32Array>();
  const { kernels } = await tf.profile(() => {
    const { value, grads: g } = tf.variableGrads(() => tf.sum(tf.mul(model.forward(batch, { training: true, seed: 5 }), w)) as tf.Scalar, model.variables);
    grads = new Map([...model.params].map(([key, v]) => [key, g[v.name].dataSync() as Float32Array]));
    tf.dispose([value, ...Object.values(g)]);
  });
  tf.dispose([w, ...model.variables]);
  return { grads, names: kernels.map((k) => k.name) };
}
