// The compiled wasm SIMD attention kernel (src/util/wasm-attention-kernel.{c,ts}) on tfjs-wasm (its plain-memory
// build; the shared-memory build: encoder-wasm-attention-threads.test.ts) against softmax(QKᵀ·scale + mask)·V
// composed from tfjs ops on wasm and on the cpu backend, over shapes that reach every edge of its tiles; then
// BertModel.forward with the kernel on vs off vs cpu, gradients under a tape (composed ops). The embedded
// binaries: encoder-wasm-kernel-binaries.test.ts.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { describe, expect, it } from 'vitest';
import { BertModel } from '../../src/encoder/bert.ts';
import type { BertConfig } from '../../src/encoder/config.ts';
import type { TokenizedBatch } from '../../src/encoder/types.ts';
import { wasmFusedAttention } from '../../src/util/wasm-attention-kernel.ts';
import { prepareWasmKernels, wasmKernelsAvailable } from '../../src/util/wasm-kernel-module.ts';
import { wasmKernelSwitches } from '../../src/util/wasm-kernel-internals.ts';
import { attentionCase, composedAttention, maxDiff, type AttentionCase } from './helpers/attention-reference.ts';
import { lossAndQueryGrad } from './helpers/encoder-grads.ts';

/** Outputs ~1 from sums of ≤ 13 terms, exp by a Cephes polynomial vs the platform's: a few ulp, with margin. */
const ATTENTION_TOL = 1e-5;
/** The whole 2-layer model: the attention difference carried through LayerNorms and GELUs. */
const FORWARD_TOL = 2e-5;

async function on<T>(backend: string, f: () => T | Promise<T>): Promise<T> {
  expect(await tf.setBackend(backend)).toBe(true);
  return f();
}

// (B, T, heads, hs): T below, at and past a query block (4) and a key tile (8); hs 32 and 64 (MiniLM: 32),
// hs 12 (the 4-column tail of p·V), hs 4 (a one-vector head).
const SHAPES: AttentionCase[] = [
  { B: 3, T: 7, heads: 2, hs: 32 },
  { B: 2, T: 13, heads: 3, hs: 64 },
  { B: 2, T: 1, heads: 2, hs: 32 },
  { B: 1, T: 8, heads: 4, hs: 4 },
  { B: 4, T: 17, heads: 2, hs: 12 },
];

describe('wasmFusedAttention (one compiled SIMD call per layer)', () => {
  it('starts on the wasm backend, with the plain-memory build', async () => {
    await on('wasm', async () => {
      expect(await prepareWasmKernels()).toBe('plain');
      expect(wasmKernelsAvailable()).toBe(true);
    });
    await on('cpu', () => expect(wasmKernelsAvailable()).toBe(false));
  });

  for (const shape of SHAPES) {
    it(`equals the composed ops on wasm and on cpu, padded keys ignored: B ${shape.B}, T ${shape.T}, heads ${shape.heads}, hs ${shape.hs}`, async () => {
      const scale = 1 / Math.sqrt(shape.hs);
      const reference = () => tf.tidy(() => composedAttention(...attentionCase(shape), shape.heads, scale).dataSync());
      const cpu = await on('cpu', reference);
      const wasmComposed = await on('wasm', reference);
      const got = await on('wasm', () => {
        const inputs = attentionCase(shape);
        const before = tf.memory().numTensors;
        const out = wasmFusedAttention(...inputs, shape.heads, scale);
        expect(out.shape).toEqual([shape.B * shape.T, shape.heads * shape.hs]);
        expect(tf.memory().numTensors).toBe(before + 1);
        const v = out.dataSync();
        tf.dispose([...inputs, out]);
        return v;
      });
      expect(maxDiff(got, cpu)).toBeLessThan(ATTENTION_TOL);
      expect(maxDiff(got, wasmComposed)).toBeLessThan(ATTENTION_TOL);
    });
  }

  it('still right after the wasm memory grows (the kernel holds the Memory, not views of it)', async () => {
    const shape = { B: 2, T: 9, heads: 2, hs: 32 };
    const scale = 1 / Math.sqrt(shape.hs);
    await on('wasm', () => {
      const run = () => tf.tidy(() => wasmFusedAttention(...attentionCase(shape), shape.heads, scale).dataSync());
      const before = run();
      const memory = (tf.backend() as unknown as { wasm: { asm: { memory: WebAssembly.Memory } } }).wasm.asm.memory;
      const bytes = memory.buffer.byteLength;
      const big = tf.zeros([bytes / 4 + (1 << 24)]); // more than the whole heap: it must grow
      expect(memory.buffer.byteLength).toBeGreaterThan(bytes);
      const after = run();
      big.dispose();
      expect(maxDiff(after, before)).toBe(0);
    });
  });

  const config: BertConfig = { vocabSize: 50, hiddenSize: 64, numLayers: 2, numHeads: 2, intermediateSize: 96, hiddenAct: 'gelu', maxPositions: 16, typeVocabSize: 2, layerNormEps: 1e-12, hiddenDropout: 0.1, attentionDropout: 0.1, initializerRange: 0.02 };
  const batch: TokenizedBatch = { batch: 2, seqLen: 7, inputIds: Int32Array.from([2, 5, 9, 11, 3, 8, 1, 2, 7, 3, 0, 0, 0, 0]), tokenTypeIds: new Int32Array(14), attentionMask: Int32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]) };

  it('BertModel.forward on wasm: kernel on equals kernel off and cpu, and leaves no tensors behind', async () => {
    const run = (backend: string) =>
      on(backend, () => {
        const model = BertModel.random(config, 3);
        const before = tf.memory().numTensors;
        const h = model.forward(batch);
        expect(tf.memory().numTensors).toBe(before + 1);
        const v = h.dataSync();
        h.dispose();
        model.dispose();
        return v;
      });
    const cpu = await run('cpu');
    const fused = await run('wasm');
    wasmKernelSwitches.fusedAttention = false;
    let composed: Float32Array | Int32Array | Uint8Array;
    try {
      composed = await run('wasm');
    } finally {
      wasmKernelSwitches.fusedAttention = true;
    }
    expect(maxDiff(fused, composed)).toBeLessThan(FORWARD_TOL);
    expect(maxDiff(fused, cpu)).toBeLessThan(FORWARD_TOL);
    expect(maxDiff(fused, composed)).toBeGreaterThan(0); // the switch did change the path
  });

  it('under a gradient tape forward keeps the composed ops: gradients on wasm equal cpu', async () => {
    const grads = (backend: string) => on(backend, () => lossAndQueryGrad(config, batch));
    const cpu = await grads('cpu');
    const wasm = await grads('wasm');
    expect(Math.abs(wasm.loss - cpu.loss) / cpu.loss).toBeLessThan(FORWARD_TOL);
    expect(maxDiff(wasm.query, cpu.query)).toBeLessThan(FORWARD_TOL * 10);
    expect(Math.max(...cpu.query.map(Math.abs))).toBeGreaterThan(0);
  });
});
