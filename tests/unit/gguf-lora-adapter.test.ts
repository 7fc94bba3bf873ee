// A PEFT adapter as llama.cpp's LoRA adapter file (src/llm/gguf/lora-adapter-gguf.ts), on a tiny Llama GGUF
// (tests/unit/helpers/tiny-gguf.ts: q/k rows in llama.cpp's permuted order), with a LoRA on q/k/v. Read back
// with our GGUF reader: the metadata and tensor names and shapes llama-adapter.cpp requires, and the update
// the file encodes, (alpha / r)·B·A with B's rows back in HF order, equal to the tfjs adapter's own ΔW
// (LoraLinear.deltaWeight), an independent computation. That llama.cpp itself loads such a file and applies it
// (a zero adapter gives the base's tokens, a strong one greedy as tfjs with the adapter) is
// tests/unit/llamacpp-generator.test.ts, on SmolLM2.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { useBackend } from '../../src/cli/backend.ts';
import { ModelFormatError } from '../../src/errors.ts';
import type { DecoderConfig } from '../../src/llm/config.ts';
import { ggufDecoderConfig, unpermuteRows } from '../../src/llm/gguf/decoder.ts';
import { GgmlType } from '../../src/llm/gguf/ggml-types.ts';
import { writeLoraAdapterGguf } from '../../src/llm/gguf/lora-adapter-gguf.ts';
import { ggufWeightSource } from '../../src/llm/gguf/merge-export.ts';
import { readGgufHeader, readTensorFloat32, type GgufFile } from '../../src/llm/gguf/reader.ts';
import { ggufSourceFromBytes, type GgufSource } from '../../src/llm/gguf/source.ts';
import { LlamaModel } from '../../src/llm/llama.ts';
import { LoraAdapters } from '../../src/llm/lora.ts';
import { exportPeftAdapter } from '../../src/llm/lora-peft.ts';
import { expectedWeightShapes, randomWeights, type Weights } from '../../src/llm/weights.ts';
import { collectBytes, TINY_GGUF_CONFIG, tinyGguf } from './helpers/tiny-gguf.ts';

const TARGETS = ['q_proj', 'k_proj', 'v_proj'];
const R = 4;
const ALPHA = 16;
/** ΔW from the file (float32 A, B, one product) vs tfjs' deltaWeight (another summation order): float32 rounding. */
const DELTA_TOLERANCE = 1e-6;

describe("a PEFT adapter as llama.cpp's LoRA file", () => {
  let src: GgufSource;
  let file: GgufFile;
  let config: DecoderConfig;
  let model: LlamaModel;
  let lora: LoraAdapters;
  let adapter: GgufFile;
  let adapterSrc: GgufSource;
  let summary: Awaited<ReturnType<typeof writeLoraAdapterGguf>>;

  beforeAll(async () => {
    await useBackend('cpu');
    src = ggufSourceFromBytes(await tinyGguf(randomWeights(TINY_GGUF_CONFIG, 11, 0.08)), 'tiny.gguf');
    file = await readGgufHeader(src);
    config = ggufDecoderConfig(file, src.label);
    const read = ggufWeightSource(src, file, config);
    const weights: Weights = new Map();
    for (const name of expectedWeightShapes(config).keys()) weights.set(name, await read(name));
    model = new LlamaModel(config, weights);
    lora = LoraAdapters.attachNew(model, { targetModules: TARGETS, r: R, alpha: ALPHA, seed: 4 });
    lora.layers.forEach((l, i) => tf.tidy(() => l.b.assign(tf.randomNormal(l.b.shape, 0, 0.05, 'float32', 200 + i))));
    const files = await exportPeftAdapter(lora, 'tiny');
    const bytes = await collectBytes(async (sink) => void (summary = await writeLoraAdapterGguf(file, config, files, sink, 'tiny adapter')));
    adapterSrc = ggufSourceFromBytes(bytes, 'tiny.lora.gguf');
    adapter = await readGgufHeader(adapterSrc);
  });
  afterAll(() => {
    lora?.dispose();
    model?.dispose();
  });

  test('has the metadata and the tensor names and shapes llama.cpp checks', () => {
    expect(adapter.metadata.get('general.type')).toBe('adapter');
    expect(adapter.metadata.get('adapter.type')).toBe('lora');
    expect(adapter.metadata.get('general.architecture')).toBe(file.metadata.get('general.architecture'));
    expect(adapter.metadata.get('adapter.lora.alpha')).toBeCloseTo(ALPHA, 6); // llama.cpp scales by alpha / r = PEFT's α / r
    expect(summary.adapted.length).toBe(TARGETS.length * config.layers);
    for (const base of summary.adapted) {
      const info = file.tensors.find((t) => t.name === base)!;
      const [inDim, outDim] = info.dims;
      const a = adapter.tensors.find((t) => t.name === `${base}.lora_a`)!;
      const b = adapter.tensors.find((t) => t.name === `${base}.lora_b`)!;
      expect([a.dims, a.type]).toEqual([[inDim, R], GgmlType.F32]);
      expect([b.dims, b.type]).toEqual([[R, outDim], GgmlType.F32]);
    }
    expect(adapter.tensors.length).toBe(2 * summary.adapted.length);
  });

  test("encodes the tfjs adapter's ΔW, q/k rows in llama.cpp's order", async () => {
    for (const l of lora.layers) {
      const [, layer, proj] = /layers\.(\d+)\.self_attn\.([qkv])_proj$/.exec(l.module)!;
      const base = `blk.${layer}.attn_${proj}.weight`;
      expect(summary.adapted).toContain(base);
      const a = await readTensorFloat32(adapterSrc, adapter, adapter.tensors.find((t) => t.name === `${base}.lora_a`)!);
      const b = await readTensorFloat32(adapterSrc, adapter, adapter.tensors.find((t) => t.name === `${base}.lora_b`)!);
      const [inDim, outDim] = [l.inFeatures, l.outFeatures];
      const scale = (adapter.metadata.get('adapter.lora.alpha') as number) / R;
      const gguf = new Float32Array(outDim * inDim); // rows in the file's order
      for (let o = 0; o < outDim; o++) for (let i = 0; i < inDim; i++) {
        let s = 0;
        for (let k = 0; k < R; k++) s += b[o * R + k] * a[k * inDim + i];
        gguf[o * inDim + i] = scale * s;
      }
      const q = base.includes('attn_q');
      const k = base.includes('attn_k');
      const hfRows = q || k ? unpermuteRows(gguf, q ? config.heads : config.kvHeads, config.headDim, inDim) : gguf;
      const want = tf.tidy(() => l.deltaWeight());
      const d = (await want.data()) as Float32Array;
      want.dispose();
      let max = 0;
      for (let i = 0; i < d.length; i++) max = Math.max(max, Math.abs(hfRows[i] - d[i]));
      expect(max, base).toBeLessThanOrEqual(DELTA_TOLERANCE);
      expect(Math.max(...d.map(Math.abs))).toBeGreaterThan(1e-3); // a real update
    }
  });

  test('refuses an adapter for a module the base does not have, naming it', async () => {
    const files = await exportPeftAdapter(lora, 'tiny');
    const other = await readGgufHeader(ggufSourceFromBytes(await tinyGguf(randomWeights({ ...TINY_GGUF_CONFIG, layers: 1 }, 12, 0.08), { ...TINY_GGUF_CONFIG, layers: 1 }), 'one-layer.gguf'));
    await expect(collectBytes((sink) => writeLoraAdapterGguf(other, { ...config, layers: 1 }, files, sink, 'tiny adapter').then(() => undefined))).rejects.toThrow(ModelFormatError);
    await expect(collectBytes((sink) => writeLoraAdapterGguf(other, { ...config, layers: 1 }, files, sink, 'tiny adapter').then(() => undefined))).rejects.toThrow(/model\.layers\.1\.self_attn\.\w_proj.*does not have/);
  });
});
