// Seeded random unit embeddings for the scale benchmarks' dense search (Node and the page: no Node APIs here).
import { createRng } from '../src/util/random.ts';

export const EMBEDDING_DIM = 384;

/** Rows [first, first + count) of the seeded random unit embeddings (Gaussian, normalised), row-major. */
export function randomUnitRows(seed: number, first: number, count: number, dim = EMBEDDING_DIM): Float32Array {
  // One generator per row keeps any row range reproducible on its own (the page and Node get the same rows).
  const out = new Float32Array(count * dim);
  for (let r = 0; r < count; r++) {
    const rng = createRng(seed * 0x9e3779b1 + first + r);
    let ss = 0;
    const off = r * dim;
    for (let j = 0; j < dim; j++) {
      const x = rng.normal();
      out[off + j] = x;
      ss += x * x;
    }
    const inv = 1 / Math.sqrt(ss);
    for (let j = 0; j < dim; j++) out[off + j]! *= inv;
  }
  return out;
}
