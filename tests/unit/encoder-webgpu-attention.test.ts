// The fused WGSL attention kernel (src/util/webgpu-attention-kernel.ts) on tfjs-webgpu in Node (npm webgpu /
// Dawn on SwiftShader) against softmax(QKᵀ·scale + mask)·V composed from tfjs ops on the cpu backend, with
// padded keys; and BertModel.forward on webgpu (which uses it outside a gradient tape) against cpu.
// Skipped where no WebGPU adapter starts.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/cli/backend.ts';
import { BertModel } from '../../src/encoder/bert.ts';
import { PACKED_ATTENTION, webgpuFusedAttention, webgpuKernelSwitches, webgpuPackedAttention } from '../../src/util/webgpu-attention-kernel.ts';
import { packingOf } from '../../src/encoder/packing.ts';
import { composedAttention as composed, maxDiff } from './helpers/attention-reference.ts';
import type { BertConfig } from '../../src/encoder/config.ts';
import type { TokenizedBatch } from '../../src/encoder/types.ts';
import { lossAndQueryGrad } from './helpers/encoder-grads.ts';

/** float32 online softmax vs two-pass softmax, sums of ≤ 16 products: a few ulp of O(1) values. */
const ATTENTION_TOL = 2e-6;
/** The whole 2-layer model: the attention difference above carried through LayerNorms and GELUs. */
const FORWARD_TOL = 2e-5;

let available = true;
beforeAll(async () => {
  try {
    await useBackend('webgpu');
    tf.env().set('WEBGPU_CPU_FORWARD', false);
  } catch {
    available = false;
  }
});

const seq = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));

describe('webgpuFusedAttention', () => {
  it('equals the composed ops on cpu, padding keys ignored', async (ctx) => {
    if (!available) ctx.skip();
    const B = 3, T = 7, heads = 2, hs = 4, d = heads * hs;
    const scale = 1 / Math.sqrt(hs);
    const data = (o: number) => seq(B * T * d, (i) => Math.sin(0.37 * i + o) * 2);
    const maskData = seq(B * T, (i) => (i % T >= T - (i / T | 0) * 2 ? -1e9 : 0)); // row b: last 2b keys padded
    const make = () => [tf.tensor2d(data(0), [B * T, d]), tf.tensor2d(data(1), [B * T, d]), tf.tensor2d(data(2), [B * T, d]), tf.tensor2d(maskData, [B, T])] as const;
    await useBackend('cpu');
    const want = tf.tidy(() => composed(...(make() as unknown as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D]), heads, scale).dataSync());
    await useBackend('webgpu');
    const [q, k, v, m] = make();
    const before = tf.memory().numTensors;
    const out = webgpuFusedAttention(q, k, v, m, heads, scale);
    expect(out.shape).toEqual([B * T, d]);
    const got = await out.data();
    expect(tf.memory().numTensors).toBe(before + 1);
    tf.dispose([q, k, v, m, out]);
    expect(maxDiff(got, want)).toBeLessThan(ATTENTION_TOL);
  });

  const config: BertConfig = { vocabSize: 50, hiddenSize: 16, numLayers: 2, numHeads: 4, intermediateSize: 32, hiddenAct: 'gelu', maxPositions: 16, typeVocabSize: 2, layerNormEps: 1e-12, hiddenDropout: 0.1, attentionDropout: 0.1, initializerRange: 0.02 };
  const batch: TokenizedBatch = { batch: 2, seqLen: 6, inputIds: Int32Array.from([2, 5, 9, 11, 3, 0, 2, 7, 3, 0, 0, 0]), tokenTypeIds: new Int32Array(12), attentionMask: Int32Array.from([1, 1, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0]) };

  it('BertModel.forward on webgpu (fused attention) equals cpu (composed)', async (ctx) => {
    if (!available) ctx.skip();
    const run = async (backend: 'cpu' | 'webgpu') => {
      await useBackend(backend);
      const model = BertModel.random(config, 3);
      const h = model.forward(batch);
      const v = await h.data();
      h.dispose();
      model.dispose();
      return v;
    };
    const cpu = await run('cpu');
    const gpu = await run('webgpu');
    expect(maxDiff(gpu, cpu)).toBeLessThan(FORWARD_TOL);
  });

  it('webgpuPackedAttention gives every token the padded kernel\'s floats exactly', async (ctx) => {
    if (!available) ctx.skip();
    await useBackend('webgpu');
    const B = 4, T = 9, heads = 2, hs = 8, d = heads * hs;
    const lengths = [9, 6, 1, 4];
    const mask01 = lengths.flatMap((n) => seq(T, (t) => (t < n ? 1 : 0)));
    const p = packingOf(mask01, B, T)!;
    const data = (o: number) => tf.tensor2d(seq(B * T * d, (i) => Math.sin(0.37 * i + o) * 2), [B * T, d]);
    const [q, k, v] = [data(0), data(1), data(2)];
    const padded = await webgpuFusedAttention(q, k, v, tf.tensor2d(mask01.map((m) => (m ? 0 : -1e9)), [B, T]), heads, 0.3).data();
    const keep = tf.tensor1d(p.keep, 'int32');
    const [pq, pk, pv] = [q, k, v].map((x) => tf.gather(x, keep) as tf.Tensor2D);
    const out = webgpuPackedAttention(pq, pk, pv, tf.tensor1d(p.rowSeqs, 'int32'), heads, 0.3);
    expect(out.shape).toEqual([p.keep.length, d]);
    const got = await out.data();
    const want = [...p.keep].flatMap((r) => [...padded.subarray(r * d, (r + 1) * d)]);
    expect(maxDiff(got, want)).toBe(0);
    expect(() => webgpuPackedAttention(pq, pk, pv, tf.tensor1d(p.starts, 'int32'), heads, 0.3)).toThrow(new RegExp(`${PACKED_ATTENTION}: expects .*seqs \\(2N\\)`));
  });

  it('BertModel.forward with skipPadding on webgpu: the padded pass for every token, zeros at the padding; the switch turns it off', async (ctx) => {
    if (!available) ctx.skip();
    await useBackend('webgpu');
    const run = async (skipPadding: boolean) => {
      const model = BertModel.random(config, 3);
      let kernels: string[] = [];
      let v: Float32Array = new Float32Array();
      const profile = await tf.profile(async () => {
        const h = model.forward(batch, { skipPadding });
        v = (await h.data()) as Float32Array;
        h.dispose();
      });
      kernels = profile.kernels.map((k) => k.name);
      model.dispose();
      return { v, packed: kernels.includes(PACKED_ATTENTION) };
    };
    const padded = await run(false);
    const skipped = await run(true);
    expect([padded.packed, skipped.packed]).toEqual([false, true]);
    const d = config.hiddenSize;
    for (let row = 0; row < batch.batch * batch.seqLen; row++) {
      const a = skipped.v.subarray(row * d, (row + 1) * d);
      if (batch.attentionMask[row]) expect(maxDiff(a, padded.v.subarray(row * d, (row + 1) * d)), `row ${row}`).toBeLessThan(FORWARD_TOL);
      else expect(a.every((x) => x === 0), `padding row ${row}`).toBe(true);
    }
    webgpuKernelSwitches.skipPadding = false;
    try {
      expect((await run(true)).packed).toBe(false);
    } finally {
      webgpuKernelSwitches.skipPadding = true;
    }
  });

  it('under a gradient tape forward keeps the composed ops: gradients on webgpu equal cpu', async (ctx) => {
    if (!available) ctx.skip();
    const grads = async (backend: 'cpu' | 'webgpu') => (await useBackend(backend), lossAndQueryGrad(config, batch));
    const cpu = await grads('cpu');
    const gpu = await grads('webgpu');
    expect(Math.abs(gpu.loss - cpu.loss) / cpu.loss).toBeLessThan(FORWARD_TOL);
    expect(maxDiff(gpu.query, cpu.query)).toBeLessThan(FORWARD_TOL * 10);
    expect(Math.max(...cpu.query.map(Math.abs))).toBeGreaterThan(0);
  });
});
