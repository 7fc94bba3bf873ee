import { it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { tinyEncoder, useCpuBackend } from './helpers/tiny-encoder.ts';
import { syntheticTask } from './helpers/train-corpus.ts';
import { buildTrainData, SupervisedBatches } from '../../src/train/examples.ts';
import { batchGrads, textGroup } from '../../src/train/gradcache.ts';
import { infoNceLoss } from '../../src/train/infonce.ts';
import { prepareDocs, expandQueries } from '../../src/train/expansion.ts';
import { AdamW, clipGradNorm } from '../../src/train/optimizer.ts';
it('prof', async () => {
  await useCpuBackend();
  const { docs, queries, qrels } = syntheticTask(32);
  const { data } = buildTrainData(docs, queries, qrels);
  const enc = tinyEncoder({ vocab: 211, hidden: 16, dim: 16, seed: 3 });
  const sb = new SupervisedBatches(data, { seed: 1, batchSize: 8, hardNegatives: false });
  const opt = new AdamW(enc.variables);
  let tg = 0, to = 0, tc = 0;
  for (let s = 0; s < 10; s++) {
    const b = sb.batch(s);
    const t0 = performance.now();
    const r = batchGrads([textGroup(enc, b.queries, 'query', false, 0), textGroup(enc, b.docs, 'doc', false, 0)], ([q, d]) => infoNceLoss(expandQueries(q, undefined, 'contriever'), prepareDocs(d, 'contriever'), 0.02), enc.variables);
    await r.loss.data();
    const t1 = performance.now();
    const c = clipGradNorm(r.grads, 1);
    const t2 = performance.now();
    opt.step(c.grads, 0.01);
    const t3 = performance.now();
    tg += t1 - t0; tc += t2 - t1; to += t3 - t2;
  }
  console.log({ grads: tg / 10, clip: tc / 10, opt: to / 10 });
  const b = sb.batch(0);
  const info = await tf.profile(() => { const r = batchGrads([textGroup(enc, b.queries, 'query', false, 0), textGroup(enc, b.docs, 'doc', false, 0)], ([q, d]) => infoNceLoss(expandQueries(q, undefined, 'contriever'), prepareDocs(d, 'contriever'), 0.02), enc.variables); return r.loss; });
  const agg = new Map<string, number>();
  for (const k of info.kernels) agg.set(k.name, (agg.get(k.name) ?? 0) + (k.kernelTimeMs as number));
  console.log([...agg].sort((a, b) => b[1] - a[1]).slice(0, 8));
});
