// Exact dense search on tfjs-webgpu in Node (npm webgpu / Dawn on SwiftShader, DESIGN.md §3), against
// the cpu backend's results: same ids, scores within SCORE_TOL, nothing left on the GPU. Skipped where
// no WebGPU adapter starts (no Vulkan loader or driver on the machine).
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/cli/backend.ts';
import { denseCorpusFromArray, searchDense } from '../../src/retrieval/dense/search.ts';
import { createRng } from '../../src/util/random.ts';

const SCORE_TOL = 1e-5;
let available = true;
beforeAll(async () => {
  try {
    await useBackend('webgpu');
    tf.env().set('WEBGPU_CPU_FORWARD', false); // small tensors would otherwise run on the CPU
  } catch {
    available = false;
  }
});

describe('searchDense on webgpu', () => {
  it('matches the cpu backend, with blocks smaller than the corpus, and frees every tensor', async (ctx) => {
    if (!available) ctx.skip();
    const rng = createRng(5);
    const dim = 24, n = 500, nq = 6;
    const ids = Array.from({ length: n }, (_, i) => `d${i}`);
    const docs = Float32Array.from({ length: n * dim }, () => rng.normal());
    const qs = Float32Array.from({ length: nq * dim }, () => rng.normal());
    const qids = ids.slice(0, nq).map((d) => `q${d}`);
    const corpus = denseCorpusFromArray(ids, docs, dim, 128);
    const before = tf.memory().numTensors;
    const gpu = await searchDense(corpus, qids, qs, { k: 50, maxMatmulElements: 2048, normalizeDocs: true });
    expect(tf.getBackend()).toBe('webgpu');
    expect(tf.memory().numTensors).toBe(before);
    await useBackend('cpu');
    const cpu = await searchDense(corpus, qids, qs, { k: 50, maxMatmulElements: 2048, normalizeDocs: true });
    for (const q of qids) {
      expect(gpu.get(q)!.map((h) => h.docId)).toEqual(cpu.get(q)!.map((h) => h.docId));
      gpu.get(q)!.forEach((h, i) => expect(Math.abs(h.score - cpu.get(q)![i].score)).toBeLessThan(SCORE_TOL));
    }
  });
});
