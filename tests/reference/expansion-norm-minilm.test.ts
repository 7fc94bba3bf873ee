// Why experiments/scifact-smollm2-minilm does not try Eq. 8's other variant: for all-MiniLM-L6-v2 it is the
// same computation. The model ends in a Normalize module, so its vectors are unit vectors already, and
// 'raw' ((q + e) / 2 of the encoder's outputs, scored against the raw documents) equals 'contriever'
// (q, e and documents L2-normalised first) up to float32 rounding: the same q_exp, the same ranking, the
// same InfoNCE loss at the same τ. Checked on sentence-transformers' own embeddings of 24 SciFact queries
// and 60 passages (fixtures/minilm-st.json, written by gen/minilm_st.py), each query expanded by every
// other text in turn.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { combineExpanded, normalizeRows } from '../../src/retrieval/dense/expanded-query.ts';
import { expandQueries, prepareDocs } from '../../src/train/expansion.ts';
import { infoNceLoss } from '../../src/train/infonce.ts';

/** |‖v‖ − 1| of a sentence-transformers embedding (float32 after its Normalize module). */
const UNIT_ATOL = 1e-6;
/** Largest |q_exp raw − q_exp contriever| component: renormalising a float32 unit vector moves its last bits. */
const Q_EXP_ATOL = 1e-6;
/** Largest score difference, and the gap below which two documents' order may flip by rounding alone. */
const SCORE_ATOL = 1e-6;
/** |loss raw − loss contriever| at τ 0.05 over the batch (float32 tensors). */
const LOSS_ATOL = 1e-5;
/** The config's τ (experiments/scifact-smollm2-minilm.json retriever.temperature). */
const TAU = 0.05;

interface Row {
  kind: 'doc' | 'query';
  embedding: string;
}
const fx = JSON.parse(readFileSync(resolve(import.meta.dirname, 'fixtures/minilm-st.json'), 'utf8')) as { dim: number; rows: Row[] };
const dim = fx.dim;
const decode = (b64: string) => {
  const buf = Buffer.from(b64, 'base64');
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
};
const stack = (rows: Row[]) => {
  const out = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => out.set(decode(r.embedding), i * dim));
  return out;
};
const queries = stack(fx.rows.filter((r) => r.kind === 'query'));
const docs = stack(fx.rows.filter((r) => r.kind === 'doc'));
const nq = queries.length / dim;
const nd = docs.length / dim;
/** Expansion of query i in round k: text (i + k) mod all, so every query meets every other text. */
const all = stack(fx.rows);
const nAll = all.length / dim;
const expansionsFor = (k: number) => {
  const e = new Float32Array(nq * dim);
  for (let i = 0; i < nq; i++) e.set(all.subarray(((i + k) % nAll) * dim, ((i + k) % nAll + 1) * dim), i * dim);
  return e;
};
const scores = (q: Float32Array, d: Float32Array, i: number) =>
  Array.from({ length: nd }, (_, j) => {
    let s = 0;
    for (let c = 0; c < dim; c++) s += q[i * dim + c] * d[j * dim + c];
    return s;
  });

beforeAll(async () => {
  await tf.setBackend('cpu');
});

it("all-MiniLM-L6-v2's vectors are unit vectors (its Normalize module)", () => {
  for (let i = 0; i < nAll; i++) {
    let ss = 0;
    for (let c = 0; c < dim; c++) ss += all[i * dim + c] ** 2;
    expect(Math.abs(Math.sqrt(ss) - 1)).toBeLessThanOrEqual(UNIT_ATOL);
  }
});

it("'raw' and 'contriever' give the same expanded query and the same ranking of the passages", () => {
  const docsContriever = normalizeRows(docs, dim);
  let worstQ = 0;
  let worstScore = 0;
  for (let k = 1; k < nAll; k++) {
    const e = expansionsFor(k);
    const raw = combineExpanded(queries, e, dim, 'raw');
    const con = combineExpanded(queries, e, dim, 'contriever');
    for (let c = 0; c < raw.length; c++) worstQ = Math.max(worstQ, Math.abs(raw[c] - con[c]));
    for (let i = 0; i < nq; i++) {
      const a = scores(raw, docs, i);
      const b = scores(con, docsContriever, i);
      for (let j = 0; j < nd; j++) worstScore = Math.max(worstScore, Math.abs(a[j] - b[j]));
      const order = (s: number[]) => s.map((_, j) => j).sort((x, y) => s[y] - s[x] || x - y);
      const oa = order(a);
      const ob = order(b);
      // Same order, except where two passages' scores are within rounding of each other.
      for (let r = 0; r < nd; r++) if (oa[r] !== ob[r]) expect(Math.abs(a[oa[r]] - a[ob[r]])).toBeLessThanOrEqual(2 * SCORE_ATOL);
    }
  }
  expect(worstQ).toBeLessThanOrEqual(Q_EXP_ATOL);
  expect(worstScore).toBeLessThanOrEqual(SCORE_ATOL);
});

it("'raw' and 'contriever' give the same InfoNCE loss at the config's τ 0.05 (training's tensor path)", () => {
  const n = Math.min(nq, nd);
  const loss = (norm: 'raw' | 'contriever') =>
    tf.tidy(() => {
      const q = tf.tensor2d(queries.subarray(0, n * dim), [n, dim]);
      const e = tf.tensor2d(expansionsFor(7).subarray(0, n * dim), [n, dim]);
      const d = tf.tensor2d(docs.subarray(0, n * dim), [n, dim]);
      return infoNceLoss(expandQueries(q, e, norm), prepareDocs(d, norm), TAU).dataSync()[0];
    });
  const raw = loss('raw');
  expect(Number.isFinite(raw)).toBe(true);
  expect(Math.abs(raw - loss('contriever'))).toBeLessThanOrEqual(LOSS_ATOL);
});
