// The tuned model back out as GGUF, on a tiny Llama GGUF (tests/unit/helpers/tiny-gguf.ts: Q4_1 matrices, Q8_0 embedding, F32 norms,
// q/k rows in llama.cpp's permuted order): a LoRA on q/k/v merged and written in each of the three type modes.
// Checked against independent computations: the tfjs adapter's own ΔW (LoraLinear.deltaWeight) for the merged
// values after the q/k permutation round trip, the adapter-on tfjs model for the logits, the source file for
// every untouched tensor and metadata key. The real SmolLM2 check in Python is tests/reference/gguf-export.test.ts.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { writeAdapterPath } from '../../src/cli/adapter-files.ts';
import { useBackend } from '../../src/cli/backend.ts';
import { exportGgufCommand } from '../../src/cli/export-gguf-command.ts';
import { ModelFormatError } from '../../src/errors.ts';
import type { DecoderConfig } from '../../src/llm/config.ts';
import { ggufDecoderConfig, hfWeightName, unpermuteRows } from '../../src/llm/gguf/decoder.ts';
import { GgmlType } from '../../src/llm/gguf/ggml-types.ts';
import { peftMergedWeights, type MergedWeights } from '../../src/llm/gguf/merge.ts';
import { exportTunedGguf, ggufWeightSource, permuteRows, type GgufExportTypes } from '../../src/llm/gguf/merge-export.ts';
import { readGgufHeader, readTensorBytes, type GgufFile } from '../../src/llm/gguf/reader.ts';
import { ggufSourceFromBytes, type GgufSource } from '../../src/llm/gguf/source.ts';
import { LlamaModel } from '../../src/llm/llama.ts';
import { LoraAdapters } from '../../src/llm/lora.ts';
import { exportPeftAdapter } from '../../src/llm/lora-peft.ts';
import { f16Round } from '../../src/llm/quant/f16.ts';
import { mergedWeightSource } from '../../src/llm/webllm/merged-weights.ts';
import { expectedWeightShapes, randomWeights, type Weights } from '../../src/llm/weights.ts';
import { collectBytes, TINY_GGUF_CONFIG, tinyGguf } from './helpers/tiny-gguf.ts';

const CONFIG: DecoderConfig = TINY_GGUF_CONFIG;
const TARGETS = ['q_proj', 'k_proj', 'v_proj']; // k too: both permuted projections go through the round trip
const IDS = [[5, 17, 42, 99, 3, 120, 7, 61], [100, 1, 33, 33, 80, 9, 12, 44]];
/**
 * Max |Δ last-position logit| against the adapter-on model (logits ~±3 here, the adapter moves them by 1.2).
 * 'source': float16 rounding of the merged q/k/v only (2^-11 relative), measured 4.9e-4; 'f16': every matrix
 * rounded to float16, measured 1.6e-3. Bounds ~3-4× those; 'requantize' (4-bit noise back on q/k/v) is 0.23.
 */
const SOURCE_LOGIT_TOLERANCE = 2e-3;
const F16_LOGIT_TOLERANCE = 5e-3;
/** A float32 ulp of slack on top of half a float16 ulp: ΔW from tfjs and from A/B differ in float32 rounding. */
const F32_SLACK = 2 ** -23;

/** Every weight of a GGUF as the decoder reads it. */
async function readWeights(src: GgufSource, file: GgufFile, config: DecoderConfig): Promise<Weights> {
  const read = ggufWeightSource(src, file, config);
  const out: Weights = new Map();
  for (const name of expectedWeightShapes(config).keys()) out.set(name, await read(name));
  return out;
}

async function lastLogits(model: LlamaModel): Promise<Float32Array> {
  const t = tf.tidy(() => tf.slice(model.logits(tf.tensor2d(IDS.flat(), [IDS.length, IDS[0].length], 'int32')), [0, IDS[0].length - 1, 0], [IDS.length, 1, CONFIG.vocab]));
  const d = (await t.data()) as Float32Array;
  t.dispose();
  return d;
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe('export-gguf on a tiny Llama GGUF', () => {
  let src: GgufSource;
  let file: GgufFile;
  let config: DecoderConfig;
  let model: LlamaModel;
  let lora: LoraAdapters;
  let adapterFiles: Map<string, Uint8Array>;
  let onLogits: Float32Array;
  let offLogits: Float32Array;
  const exports = new Map<GgufExportTypes, { src: GgufSource; file: GgufFile; summary: Awaited<ReturnType<typeof exportTunedGguf>> }>();

  const exportAs = async (types: GgufExportTypes, tuned: MergedWeights) => {
    let summary!: Awaited<ReturnType<typeof exportTunedGguf>>;
    const bytes = await collectBytes(async (sink) => void (summary = await exportTunedGguf(src, file, config, tuned, sink, { types })));
    const out = ggufSourceFromBytes(bytes, `tiny-${types}.gguf`);
    return { src: out, file: await readGgufHeader(out), summary };
  };

  beforeAll(async () => {
    await useBackend('cpu');
    const base = randomWeights(CONFIG, 11, 0.08);
    src = ggufSourceFromBytes(await tinyGguf(base), 'tiny.gguf');
    file = await readGgufHeader(src);
    config = ggufDecoderConfig(file, src.label);
    model = new LlamaModel(config, await readWeights(src, file, config));
    offLogits = await lastLogits(model);
    lora = LoraAdapters.attachNew(model, { targetModules: TARGETS, seed: 4 });
    lora.layers.forEach((l, i) => tf.tidy(() => l.b.assign(tf.randomNormal(l.b.shape, 0, 0.05, 'float32', 200 + i))));
    onLogits = await lastLogits(model);
    adapterFiles = await exportPeftAdapter(lora, 'tiny');
    for (const types of ['source', 'requantize', 'f16'] as const) {
      exports.set(types, await exportAs(types, peftMergedWeights(ggufWeightSource(src, file, config), adapterFiles, 'adapter')));
    }
  });
  afterAll(() => {
    lora?.dispose();
    model?.dispose();
  });

  test('tensor table: same names, order and shapes; norms F32; types per mode; untouched tensors byte-identical', async () => {
    const merged = file.tensors.filter((t) => /attn_[qkv]\.weight$/.test(t.name)).map((t) => t.name);
    for (const [types, out] of exports) {
      expect(out.file.tensors.map((t) => [t.name, t.dims])).toEqual(file.tensors.map((t) => [t.name, t.dims]));
      expect(out.summary.merged).toEqual(merged);
      expect(out.file.alignment).toBe(file.alignment);
      for (const [i, t] of out.file.tensors.entries()) {
        const s = file.tensors[i];
        const isMerged = merged.includes(t.name);
        const want = s.dims.length === 1 ? GgmlType.F32 : types === 'f16' ? GgmlType.F16 : isMerged && types === 'source' ? GgmlType.F16 : s.type;
        expect([t.name, t.type]).toEqual([t.name, want]);
        if (!isMerged && t.type === s.type) expect(Buffer.from(await readTensorBytes(out.src, t)).equals(Buffer.from(await readTensorBytes(src, s)))).toBe(true);
      }
    }
  });

  test('metadata carried over in order with its types; name says ExpandR, description names the LoRA; file_type 1 only for f16', () => {
    for (const [types, out] of exports) {
      const got = new Map(out.file.metadataEntries.map((e) => [e.key, e]));
      for (const e of file.metadataEntries) {
        if (e.key === 'general.name' || (types === 'f16' && e.key === 'general.file_type')) continue;
        expect(got.get(e.key)).toEqual(e);
      }
      expect(out.file.metadata.get('general.name')).toBe('Tiny Llama (ExpandR-tuned)');
      expect(String(out.file.metadata.get('general.description'))).toMatch(/LoRA r 8, alpha 32 on k_proj, q_proj, v_proj \(6 matrices\) merged in/);
      expect(out.file.metadata.get('general.file_type')).toBe(types === 'f16' ? 1 : 3);
      expect(out.file.metadataEntries.map((e) => e.key).slice(0, 3)).toEqual(['general.architecture', 'general.name', 'general.description']);
    }
  });

  test('merged q/k/v equal W + ΔW of the tfjs adapter to float16 rounding, after the q/k permutation round trip', async () => {
    const out = exports.get('source')!;
    const read = ggufWeightSource(out.src, out.file, config);
    const base = ggufWeightSource(src, file, config);
    for (const l of lora.layers) {
      const name = `${l.module}.weight`;
      const delta = tf.tidy(() => l.deltaWeight());
      const d = (await delta.data()) as Float32Array;
      delta.dispose();
      const w = (await base(name)).data;
      const got = (await read(name)).data;
      for (let i = 0; i < got.length; i++) {
        const want = Math.fround(w[i] + d[i]);
        const bound = Math.max(Math.abs(want) * 2 ** -11, 2 ** -25) + Math.abs(want) * F32_SLACK;
        if (!(Math.abs(got[i] - want) <= bound)) throw new Error(`${name}[${i}]: ${got[i]} vs ${want}`);
      }
      expect(maxDiff(got, w)).toBeGreaterThan(0); // the merge is in the file
    }
  });

  test('logits of each export against the adapter-on model: F16 modes within tolerance, the adapter has teeth', async () => {
    const effect = maxDiff(onLogits, offLogits);
    const drift: Record<string, number> = {};
    for (const [types, out] of exports) {
      const m = new LlamaModel(config, await readWeights(out.src, out.file, config));
      drift[types] = maxDiff(await lastLogits(m), onLogits);
      m.dispose();
    }
    console.log(`tiny export, max |Δlogit| vs adapter-on: ${JSON.stringify(drift)}; adapter effect ${effect.toExponential(2)}`);
    expect(drift.source).toBeLessThan(SOURCE_LOGIT_TOLERANCE);
    expect(drift.f16).toBeLessThan(F16_LOGIT_TOLERANCE);
    expect(effect).toBeGreaterThan(100 * SOURCE_LOGIT_TOLERANCE);
    expect(drift.requantize).toBeGreaterThan(drift.source); // 4-bit noise on the merged matrices
  });

  test('the page path (tfjs model with its adapters attached) writes the same file to within float16 rounding', async () => {
    const changed = new Set(lora.layers.map((l) => `${l.module}.weight`));
    const page = await exportAs('source', { read: mergedWeightSource(model), changed, description: 'the same LoRA' });
    const cli = exports.get('source')!;
    for (const name of changed) {
      const a = (await ggufWeightSource(page.src, page.file, config)(name)).data;
      const b = (await ggufWeightSource(cli.src, cli.file, config)(name)).data;
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && Math.abs(a[i] - b[i]) > Math.abs(b[i]) * 2 ** -10) throw new Error(`${name}[${i}]: ${a[i]} vs ${b[i]}`);
    }
  });

  test('an adapter on a module the file lacks is refused, naming the file', async () => {
    const tuned: MergedWeights = { read: ggufWeightSource(src, file, config), changed: new Set(['lm_head.weight']), description: '' };
    await expect(exportAs('source', tuned)).rejects.toThrow(ModelFormatError);
    await expect(exportAs('source', tuned)).rejects.toThrow(/tiny\.gguf.*lm_head/);
  });

  test('the runner writes the same file (streamed to OUT.partial, renamed) and leaves nothing behind on failure', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'expandr-export-gguf-'));
    try {
      const model = join(dir, 'tiny.gguf');
      writeFileSync(model, await src.read(0, src.size));
      writeAdapterPath(join(dir, 'adapter'), adapterFiles);
      const out = join(dir, 'tuned.gguf');
      const log = console.log;
      console.log = () => {};
      try {
        await exportGgufCommand(['--model', model, '--adapter', join(dir, 'adapter'), '--out', out, '--json'], new AbortController().signal);
      } finally {
        console.log = log;
      }
      const want = exports.get('source')!.src;
      expect(Buffer.from(readFileSync(out)).equals(Buffer.from(await want.read(0, want.size)))).toBe(true);
      expect(existsSync(`${out}.partial`)).toBe(false);
      writeFileSync(join(dir, 'adapter', 'adapter_config.json'), '{"peft_type": "LORA", "r": 8, "lora_alpha": 32, "target_modules": ["lm_head"]}');
      const bad = join(dir, 'bad.gguf');
      await expect(exportGgufCommand(['--model', model, '--adapter', join(dir, 'adapter'), '--out', bad], new AbortController().signal)).rejects.toThrow(ModelFormatError);
      expect(existsSync(bad) || existsSync(`${bad}.partial`)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('permuteRows undoes unpermuteRows (the reader) exactly', () => {
    expect(hfWeightName('blk.1.attn_q.weight')).toBe('model.layers.1.self_attn.q_proj.weight');
    const x = Float32Array.from({ length: 4 * 16 * 3 }, (_, i) => i);
    const p = permuteRows(x, 4, 16, 3);
    expect(p).not.toEqual(x);
    expect(unpermuteRows(p, 4, 16, 3)).toEqual(x);
    // HF row a·8 + i of each head is GGUF row 2i + a.
    expect(p[(2 * 3 + 1) * 3]).toBe(x[(8 + 3) * 3]);
    expect(f16Round(1 + 2 ** -12)).toBe(1); // the float16 rounding the bounds above assume
  });
});
