// src/llm/hf-export.ts without Python: a random interleaved-RoPE (llama2.c-style) decoder exported as an HF
// folder reads back through our HF loader to the same logits, and a LoRA adapter on q/k/v/o of the original,
// rewritten by peftAdapterForHfExport, gives the same adapted logits on the export (the unconverted one does
// not). Python's side of the same checks: tests/reference/interop-llama.test.ts.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/cli/backend.ts';
import type { DecoderConfig } from '../../src/llm/config.ts';
import { modelFilesFromBytes } from '../../src/llm/files.ts';
import { exportHfDecoder, peftAdapterForHfExport } from '../../src/llm/hf-export.ts';
import { LlamaModel } from '../../src/llm/llama.ts';
import { loadDecoder } from '../../src/llm/load.ts';
import { LoraAdapters } from '../../src/llm/lora.ts';
import { exportPeftAdapter, readPeftAdapter } from '../../src/llm/lora-peft.ts';
import { randomWeights } from '../../src/llm/weights.ts';

const CONFIG: DecoderConfig = {
  arch: 'llama', dim: 32, layers: 2, heads: 4, kvHeads: 2, headDim: 8, hidden: 48, vocab: 64, normEps: 1e-5, ropeTheta: 10000,
  ropeScaling: { type: 'none' }, ropeLayout: 'interleaved', attentionBias: false, tiedEmbeddings: true, maxSeqLen: 64, bosId: 1, eosIds: [2],
};
const IDS = [[1, 5, 9, 33, 2, 60, 17, 17], [1, 40, 3, 3, 12, 8, 61, 0]];

async function logits(model: LlamaModel): Promise<Float32Array> {
  const t = tf.tidy(() => model.logits(tf.tensor2d(IDS.flat(), [2, 8], 'int32')));
  const v = (await t.data()) as Float32Array;
  t.dispose();
  return v;
}
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

describe('HF export of an interleaved-RoPE decoder', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('reads back to the same logits, and a converted LoRA adapter fits the export', async () => {
    const weights = randomWeights(CONFIG, 7, 0.2);
    const original = new LlamaModel(CONFIG, weights);
    const plain = await logits(original);
    const hf = await exportHfDecoder(CONFIG, weights);
    expect(hf.permutedQk).toBe(true);
    expect(hf.config.ropeLayout).toBe('half');
    expect([...hf.files.keys()].sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors']);
    const { model: exported, format } = await loadDecoder(modelFilesFromBytes(Object.fromEntries(hf.files), 'hf'));
    expect(format).toBe('hf');
    expect(exported.config.ropeLayout).toBe('half');
    expect(maxDiff(await logits(exported), plain)).toBeLessThan(1e-5);

    const lora = LoraAdapters.attachNew(original, { targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'], seed: 3 });
    lora.layers.forEach((l, i) => tf.tidy(() => l.b.assign(tf.randomNormal(l.b.shape, 0, 0.3, 'float32', 50 + i))));
    const adapted = await logits(original);
    expect(maxDiff(adapted, plain)).toBeGreaterThan(1e-2);
    const files = await exportPeftAdapter(lora, 'original');
    const converted = peftAdapterForHfExport(files, CONFIG, 'hf');
    expect(JSON.parse(new TextDecoder().decode(converted.get('adapter_config.json')!)).base_model_name_or_path).toBe('hf');

    const on = await readPeftAdapter(exported, converted);
    expect(maxDiff(await logits(exported), adapted)).toBeLessThan(1e-5);
    on.lora.dispose();
    const wrong = await readPeftAdapter(exported, files);
    expect(maxDiff(await logits(exported), adapted)).toBeGreaterThan(1e-3); // the q/k row order matters
    wrong.lora.dispose();
    lora.dispose();
    original.dispose();
    exported.dispose();
  });

  it('leaves a half-layout model and its adapter as they are', async () => {
    const config = { ...CONFIG, ropeLayout: 'half' as const };
    const hf = await exportHfDecoder(config, randomWeights(config, 1));
    expect(hf.permutedQk).toBe(false);
    const model = new LlamaModel(config, randomWeights(config, 1));
    const lora = LoraAdapters.attachNew(model, { seed: 1 });
    const files = await exportPeftAdapter(lora, 'm');
    expect(peftAdapterForHfExport(files, config).get('adapter_model.safetensors')).toBe(files.get('adapter_model.safetensors'));
    lora.dispose();
    model.dispose();
  });
});
