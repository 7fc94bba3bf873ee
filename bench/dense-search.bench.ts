// Exact dense search throughput on random unit vectors (not a timed test): `npx tsx bench/dense-search.bench.ts [backend]`.
// Sizes: SciFact (5,183 docs, 300 test queries) at MiniLM (384) and BERT-base (768) width, and a 10× corpus.
import * as tf from '@tensorflow/tfjs-core';
import { parseBackend, useBackend } from '../src/cli/backend.ts';
import { denseCorpusFromArray, searchDense } from '../src/retrieval/dense/search.ts';
import { normalizeRows } from '../src/retrieval/dense/expanded-query.ts';
import { createRng } from '../src/util/random.ts';

const backend = await useBackend(parseBackend(process.argv[2]));
const rng = createRng(1);
const random = (n: number, dim: number) => normalizeRows(Float32Array.from({ length: n * dim }, () => rng.normal()), dim);

for (const [nDocs, dim, nQ] of [[5183, 384, 300], [5183, 768, 300], [51830, 384, 300]] as const) {
  const ids = Array.from({ length: nDocs }, (_, i) => `doc${i}`);
  const corpus = denseCorpusFromArray(ids, random(nDocs, dim), dim, 1024);
  const qids = Array.from({ length: nQ }, (_, i) => `q${i}`);
  const qs = random(nQ, dim);
  await searchDense(corpus, qids.slice(0, 2), qs.subarray(0, 2 * dim), { k: 10 }); // warm-up (kernel setup)
  const before = tf.memory().numTensors;
  const t0 = performance.now();
  const run = await searchDense(corpus, qids, qs, { k: 1000 });
  const ms = performance.now() - t0;
  const gflop = (2 * nQ * nDocs * dim) / 1e9;
  console.log(
    `${backend}: ${nQ} queries × ${nDocs} docs × dim ${dim}, k 1000: ${ms.toFixed(0)} ms ` +
      `(${(gflop / (ms / 1000)).toFixed(1)} GFLOP/s end to end, ${((nQ * nDocs) / (ms / 1000) / 1e6).toFixed(1)} M scores/s); ` +
      `hits ${run.get('q0')!.length}; tensors left ${tf.memory().numTensors - before}`,
  );
}
process.exit(0);
