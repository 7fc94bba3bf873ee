// The compiled embedding-sum and residual + LayerNorm kernels (src/util/wasm-layer-norm-kernel.{c,ts}) on
// tfjs-wasm's plain-memory build against the composed tfjs ops on cpu (nn.LayerNorm's biased variance), over
// row counts and widths that reach the SIMD loops' edges; bad ids refused; then BertModel.forward with the
// kernels on vs off vs cpu. Split over a helper thread: wasm-helper-threads.test.ts.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
import { BertModel } from '../../src/encoder/bert.ts';
import type { BertConfig } from '../../src/encoder/config.ts';
import type { TokenizedBatch } from '../../src/encoder/types.ts';
import { WASM_ADD_LAYER_NORM, WASM_EMBEDDINGS, wasmAddLayerNorm, wasmEmbeddings } from '../../src/util/wasm-layer-norm-kernel.ts';
import { wasmKernelSwitches } from '../../src/util/wasm-kernel-internals.ts';
import { maxDiff } from './helpers/attention-reference.ts';

/** LayerNorm outputs ~γ·O(1) from sums of ≤ 384 terms in another order (4 SIMD lanes vs tfjs' sequential mean). */
const LAYER_NORM_TOL = 2e-6;
/** The whole 2-layer model: the LayerNorm differences carried through attention and GELUs. */
const FORWARD_TOL = 2e-5;

async function on<T>(backend: string, f: () => T | Promise<T>): Promise<T> {
  expect(await tf.setBackend(backend)).toBe(true);
  return f();
}

const values = (n: number, o: number, scale = 1) => Float32Array.from({ length: n }, (_, i) => scale * Math.sin(0.71 * i + o) + 0.3 * scale * Math.cos(0.13 * i));

/** nn.LayerNorm(x + residual) composed from tfjs ops, as BertModel.layerNorm. */
function composedLayerNorm(x: tf.Tensor2D, residual: tf.Tensor2D | null, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor2D {
  const y = residual ? tf.add(x, residual) : x;
  const mean = tf.mean(y, -1, true);
  const centred = tf.sub(y, mean);
  const variance = tf.mean(tf.square(centred), -1, true);
  return tf.add(tf.mul(tf.mul(centred, tf.rsqrt(tf.add(variance, eps))), gamma), beta);
}

describe('wasmAddLayerNorm (one compiled SIMD pass)', () => {
  // (rows, d): one row, a few, many; d one vector, MiniLM's 384, an odd number of vectors.
  for (const [rows, d] of [[1, 4], [5, 64], [70, 384], [3, 36]] as const) {
    for (const withResidual of [false, true]) {
      it(`equals the composed ops on cpu: ${rows} rows × ${d}, ${withResidual ? 'with' : 'without'} a residual`, async () => {
        const inputs = () => [tf.tensor2d(values(rows * d, 1, 3), [rows, d]), withResidual ? tf.tensor2d(values(rows * d, 2), [rows, d]) : null, tf.tensor1d(values(d, 3)), tf.tensor1d(values(d, 4, 0.1))] as const;
        const cpu = await on('cpu', () => tf.tidy(() => composedLayerNorm(...inputs(), 1e-12).dataSync()));
        const got = await on('wasm', () =>
          tf.tidy(() => {
            const before = tf.memory().numTensors;
            const out = wasmAddLayerNorm(...inputs(), 1e-12);
            expect(out.shape).toEqual([rows, d]);
            expect(tf.memory().numTensors).toBe(before + (withResidual ? 5 : 4));
            return out.dataSync();
          }),
        );
        expect(maxDiff(got, cpu)).toBeLessThan(LAYER_NORM_TOL);
      });
    }
  }

  it('a constant row gives β (variance 0: eps keeps it finite), as nn.LayerNorm', async () => {
    const got = await on('wasm', () => tf.tidy(() => wasmAddLayerNorm(tf.fill([2, 8], 5) as tf.Tensor2D, null, tf.ones([8]), tf.fill([8], 0.25) as tf.Tensor1D, 1e-12).dataSync()));
    expect([...got]).toEqual(new Array(16).fill(0.25));
  });

  it('refuses a width that is not a multiple of 4 and a residual of another shape', async () => {
    await on('wasm', () => {
      expect(() => wasmAddLayerNorm(tf.zeros([2, 6]), null, tf.zeros([6]), tf.zeros([6]), 1e-12)).toThrow(/multiple of 4/);
      expect(() => wasmAddLayerNorm(tf.zeros([2, 8]), tf.zeros([3, 8]), tf.zeros([8]), tf.zeros([8]), 1e-12)).toThrow(WASM_ADD_LAYER_NORM);
    });
  });
});

describe('wasmEmbeddings (word + position + type in one pass)', () => {
  const [V, P, d, B, T] = [40, 12, 36, 3, 5];
  const ids = Int32Array.from({ length: B * T }, (_, i) => (i * 17) % V);
  const types = Int32Array.from({ length: B * T }, (_, i) => (i % 3 === 0 ? 1 : 0));
  const tables = () => [tf.tensor2d(values(V * d, 1), [V, d]), tf.tensor2d(values(P * d, 2), [P, d]), tf.tensor2d(values(2 * d, 3), [2, d])] as const;

  it('equals gather + add on cpu bit for bit (the same two additions in the same order)', async () => {
    const cpu = await on('cpu', () =>
      tf.tidy(() => {
        const [word, pos, type] = tables();
        const w = tf.reshape(tf.gather(word, tf.tensor1d(ids, 'int32')), [B, T, d]);
        const p = tf.slice(pos, [0, 0], [T, d]);
        const t = tf.reshape(tf.gather(type, tf.tensor1d(types, 'int32')), [B, T, d]);
        return tf.add(tf.add(w, p), t).dataSync();
      }),
    );
    const got = await on('wasm', () => tf.tidy(() => wasmEmbeddings(...tables(), tf.tensor1d(ids, 'int32'), tf.tensor1d(types, 'int32'), T).dataSync()));
    expect(maxDiff(got, cpu)).toBe(0);
  });

  it('refuses an id outside its table, naming it and its position, and a T past the position table', async () => {
    await on('wasm', () => {
      const bad = Int32Array.from(ids);
      bad[7] = V;
      expect(() => tf.tidy(() => wasmEmbeddings(...tables(), tf.tensor1d(bad, 'int32'), tf.tensor1d(types, 'int32'), T))).toThrow(`token id ${V} at position 7 is outside the table's ${V} rows`);
      const badTypes = Int32Array.from(types);
      badTypes[2] = -1;
      expect(() => tf.tidy(() => wasmEmbeddings(...tables(), tf.tensor1d(ids, 'int32'), tf.tensor1d(badTypes, 'int32'), T))).toThrow('token type id -1 at position 2');
      expect(() => tf.tidy(() => wasmEmbeddings(...tables(), tf.tensor1d(new Int32Array(2 * 15), 'int32'), tf.tensor1d(new Int32Array(2 * 15), 'int32'), 15))).toThrow(WASM_EMBEDDINGS);
    });
  });
});

describe('BertModel.forward with the compiled embeddings and LayerNorms', () => {
  const config: BertConfig = { vocabSize: 50, hiddenSize: 64, numLayers: 2, numHeads: 2, intermediateSize: 96, hiddenAct: 'gelu', maxPositions: 16, typeVocabSize: 2, layerNormEps: 1e-12, hiddenDropout: 0.1, attentionDropout: 0.1, initializerRange: 0.02 };
  const batch: TokenizedBatch = { batch: 2, seqLen: 7, inputIds: Int32Array.from([2, 5, 9, 11, 3, 8, 1, 2, 7, 3, 0, 0, 0, 0]), tokenTypeIds: Int32Array.from([0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]), attentionMask: Int32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]) };
  const run = (backend: string) =>
    on(backend, async () => {
      const model = BertModel.random(config, 3);
      let v: ArrayLike<number> = [];
      const { kernels } = await tf.profile(() => {
        const h = model.forward(batch);
        v = h.dataSync();
        h.dispose();
      });
      model.dispose();
      return { v, names: kernels.map((k) => k.name) };
    });

  it('equals the composed path on wasm and cpu; the switch picks the path', async () => {
    const cpu = await run('cpu');
    const compiled = await run('wasm');
    expect(compiled.names).toContain(WASM_EMBEDDINGS);
    expect(compiled.names.filter((n) => n === WASM_ADD_LAYER_NORM)).toHaveLength(1 + 2 * config.numLayers);
    wasmKernelSwitches.layerNorm = false;
    let composed: Awaited<ReturnType<typeof run>>;
    try {
      composed = await run('wasm');
    } finally {
      wasmKernelSwitches.layerNorm = true;
    }
    expect(composed.names).not.toContain(WASM_ADD_LAYER_NORM);
    expect(maxDiff(compiled.v, composed.v)).toBeLessThan(FORWARD_TOL);
    expect(maxDiff(compiled.v, cpu.v)).toBeLessThan(FORWARD_TOL);
  });
});
