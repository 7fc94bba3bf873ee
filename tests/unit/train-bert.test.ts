// Training with the real BERT encoder (the tiny random BertModel fixture): GradCache equals full-batch
// backprop through attention, LayerNorm and padding of different lengths per chunk, and a short run
// lowers the loss.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { useCpuBackend } from './helpers/tiny-encoder.ts';
import { syntheticTask } from './helpers/train-corpus.ts';
import { loadBertEncoder } from '../../src/encoder/encoder.ts';
import { readModelDir } from '../../src/encoder/node-files.ts';
import { fullBatchGrads, gradCacheGrads, textGroup, type RepLoss } from '../../src/train/gradcache.ts';
import { expandQueries, prepareDocs } from '../../src/train/expansion.ts';
import { infoNceLoss } from '../../src/train/infonce.ts';
import { buildTrainData } from '../../src/train/examples.ts';
import { trainRetriever } from '../../src/train/trainer.ts';

/** Max |Δgrad| between GradCache and full batch: float32 sums in another order. */
const GRAD_TOL = 1e-5;
const TINY_BERT = new URL('../reference/fixtures/tiny-bert', import.meta.url).pathname;

beforeAll(useCpuBackend);

describe('training the BERT encoder', () => {
  it('GradCache gradients equal the full-batch gradients (dropout off)', async () => {
    const enc = await loadBertEncoder(await readModelDir(TINY_BERT), { settings: { maxLength: 16 } });
    const { docs, queries } = syntheticTask(6);
    const q = queries.map((x) => x.text);
    const d = docs.map((x) => `${x.title} ${x.text}`);
    const e = queries.map((x, i) => `${x.text} expansion ${'of the cell '.repeat(i)}`); // lengths differ per chunk
    const groups = [textGroup(enc, q, 'query', false, 0), textGroup(enc, e, 'query', false, 0), textGroup(enc, [...d, ...d.slice().reverse()], 'doc', false, 0)];
    const loss: RepLoss = ([a, b, c]) => tf.tidy(() => infoNceLoss(expandQueries(a, b, 'contriever'), prepareDocs(c, 'contriever'), 0.05));
    const full = fullBatchGrads(groups, loss, enc.variables);
    const cached = gradCacheGrads(groups, loss, enc.variables, 4);
    let worst = 0;
    let scale = 0;
    full.grads.forEach((g, i) => {
      const a = g!.dataSync();
      const b = cached.grads[i]!.dataSync();
      a.forEach((x, k) => {
        worst = Math.max(worst, Math.abs(x - b[k]));
        scale = Math.max(scale, Math.abs(x));
      });
    });
    console.log(`BERT GradCache (chunk 4 of 6/6/12 rows): max |Δgrad| ${worst.toExponential(2)}, max |grad| ${scale.toExponential(2)}, loss Δ ${Math.abs(full.loss.dataSync()[0] - cached.loss.dataSync()[0]).toExponential(2)}`);
    expect(worst).toBeLessThanOrEqual(GRAD_TOL);
    tf.dispose([full.loss, cached.loss, ...full.grads, ...cached.grads].filter((t): t is tf.Tensor => t !== null));
    // Peak tensor memory above the baseline (weights), plain vs chunks of 4 rows.
    const peak = async (f: () => { loss: tf.Tensor; grads: (tf.Tensor | null)[] }) => {
      const before = tf.memory().numBytes;
      const info = await tf.profile(() => {
        const r = f();
        tf.dispose([r.loss, ...r.grads].filter((t): t is tf.Tensor => t !== null));
        return 0;
      });
      return info.peakBytes - before;
    };
    const plainPeak = await peak(() => fullBatchGrads(groups, loss, enc.variables));
    const cachedPeak = await peak(() => gradCacheGrads(groups, loss, enc.variables, 4));
    console.log(`BERT peak tensor memory above baseline: plain ${(plainPeak / 1024).toFixed(0)} KiB, GradCache chunk 4 ${(cachedPeak / 1024).toFixed(0)} KiB`);
    expect(cachedPeak).toBeLessThan(plainPeak);
    enc.dispose();
  });

  it('a few steps with dropout, hard negatives and expansions lower the loss', async () => {
    const enc = await loadBertEncoder(await readModelDir(TINY_BERT), { settings: { maxLength: 24 } });
    const { docs, queries, qrels } = syntheticTask(8);
    const { data } = buildTrainData(docs, queries, qrels, { expansions: new Map(queries.map((q) => [q.id, `${q.text} passage`])) });
    const r = await trainRetriever(enc, data, { settings: { steps: 12, batchSize: 8, lr: 3e-3, warmupRatio: 0, gradCacheChunk: 8, hardNegatives: true, seed: 3 } });
    const l = r.lossCurve.map((p) => p.loss);
    console.log(`BERT loss ${l.slice(0, 3).map((x) => x.toFixed(3)).join(' ')} … ${l.slice(-3).map((x) => x.toFixed(3)).join(' ')}`);
    expect(l.slice(-3).reduce((a, b) => a + b) / 3).toBeLessThan(l.slice(0, 3).reduce((a, b) => a + b) / 3);
    enc.dispose();
  });
});
