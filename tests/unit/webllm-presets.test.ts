// The WebLLM preset table against web-llm's prebuiltAppConfig (0.2.83) and the GPU check against tvmjs'
// device requirements — on fake adapters, and on a real one (Dawn/SwiftShader through npm webgpu) where
// this machine starts it.
import { describe, expect, test } from 'vitest';
import { useBackend } from '../../src/cli/backend.ts';
import {
  assertAdapterFits,
  DEFAULT_WEBLLM_PRESET,
  largestTensorBytes,
  missingForPreset,
  WEBLLM_PRESETS,
  webLlmModelRecord,
  webLlmPreset,
  type AdapterLike,
} from '../../src/llm/webllm/presets.ts';
import { GpuCapabilityError } from '../../src/errors.ts';
import { fakeAdapter } from './helpers/fake-webllm.ts';

const MiB = 2 ** 20;

describe('preset table', () => {
  test('the five models of issue 4 with prebuiltAppConfig ids and VRAM, frozen, default first', () => {
    expect(WEBLLM_PRESETS.map((p) => [p.id, p.vramMB, p.contextWindow])).toEqual([
      ['Qwen2.5-0.5B-Instruct-q4f16_1-MLC', 944.62, 4096],
      ['SmolLM2-360M-Instruct-q4f16_1-MLC', 376.06, 4096],
      ['Llama-3.2-1B-Instruct-q4f16_1-MLC', 879.04, 4096],
      ['Qwen2.5-1.5B-Instruct-q4f16_1-MLC', 1629.75, 4096],
      ['Llama-3-8B-Instruct-q4f16_1-MLC-1k', 4598.34, 1024],
    ]);
    expect(DEFAULT_WEBLLM_PRESET).toBe(WEBLLM_PRESETS[0].id);
    expect(Object.isFrozen(WEBLLM_PRESETS) && WEBLLM_PRESETS.every((p) => Object.isFrozen(p) && Object.isFrozen(p.dims))).toBe(true);
    expect(() => webLlmPreset('nope')).toThrow(/Unknown WebLLM preset "nope". Known: Qwen2.5-0.5B/);
  });

  test('ModelRecord as prebuiltAppConfig has it, or the installed WebLLM’s own record when it lists the id', () => {
    const p = webLlmPreset(DEFAULT_WEBLLM_PRESET);
    expect(webLlmModelRecord(p)).toEqual({
      model: 'https://huggingface.co/mlc-ai/Qwen2.5-0.5B-Instruct-q4f16_1-MLC',
      model_id: 'Qwen2.5-0.5B-Instruct-q4f16_1-MLC',
      model_lib: 'https://raw.githubusercontent.com/mlc-ai/binary-mlc-llm-libs/main/web-llm-models/v0_2_83/base/Qwen2-0.5B-Instruct-q4f16_1_cs1k-webgpu.wasm',
      vram_required_MB: 944.62,
      low_resource_required: true,
      overrides: { context_window_size: 4096 },
    });
    const installed = { model: 'm', model_id: p.id, model_lib: 'https://x/v0_2_86/lib.wasm' };
    expect(webLlmModelRecord(p, { model_list: [installed] })).toBe(installed);
  });

  test('largest weight buffer: the q4 embedding (vocab × dim/8 words × 4 bytes)', () => {
    expect(largestTensorBytes(webLlmPreset('Qwen2.5-0.5B-Instruct-q4f16_1-MLC'))).toBe(151936 * 112 * 4);
    expect(largestTensorBytes(webLlmPreset('Llama-3.2-1B-Instruct-q4f16_1-MLC'))).toBe(128256 * 256 * 4); // 125.3 MB: fits 128 MiB
    expect(largestTensorBytes(webLlmPreset('Llama-3-8B-Instruct-q4f16_1-MLC-1k'))).toBe(128256 * 512 * 4); // 250.5 MB
  });
});

describe('adapter check', () => {
  test('a capable adapter runs every preset', () => {
    for (const p of WEBLLM_PRESETS) expect(missingForPreset(p, fakeAdapter())).toEqual([]);
  });

  test('WebGPU defaults (256 MiB buffers, 128 MiB bindings): all but the 8B; tvmjs asks 1 GiB or falls back', () => {
    const defaults = fakeAdapter(['shader-f16'], { maxBufferSize: 256 * MiB, maxStorageBufferBindingSize: 128 * MiB });
    expect(WEBLLM_PRESETS.filter((p) => missingForPreset(p, defaults).length === 0).map((p) => p.id)).not.toContain('Llama-3-8B-Instruct-q4f16_1-MLC-1k');
    expect(WEBLLM_PRESETS.filter((p) => missingForPreset(p, defaults).length > 0).map((p) => p.id)).toEqual(['Llama-3-8B-Instruct-q4f16_1-MLC-1k']);
    // 512 MiB would hold the 250 MB embedding, but tvmjs only requests 1 GiB or its 128 MiB fallback.
    const mid = fakeAdapter(['shader-f16'], { maxBufferSize: 512 * MiB, maxStorageBufferBindingSize: 512 * MiB });
    expect(missingForPreset(webLlmPreset('Llama-3-8B-Instruct-q4f16_1-MLC-1k'), mid)).toHaveLength(1);
  });

  test('says everything that is missing, and what to pick instead', () => {
    const weak: AdapterLike = fakeAdapter([], { maxBufferSize: 128 * MiB, maxStorageBufferBindingSize: 64 * MiB, maxComputeWorkgroupStorageSize: 16384, maxStorageBuffersPerShaderStage: 8 });
    const missing = missingForPreset(webLlmPreset(DEFAULT_WEBLLM_PRESET), weak);
    expect(missing).toEqual([
      'the WebGPU feature "shader-f16" (float16 shaders)',
      'maxBufferSize ≥ 256 MB (adapter: 128 MB)',
      'maxStorageBufferBindingSize ≥ 128 MB (adapter: 64 MB)',
      'maxComputeWorkgroupStorageSize ≥ 32 KB (adapter: 16384 bytes)',
      'maxStorageBuffersPerShaderStage ≥ 10 (adapter: 8)',
    ]);
    expect(() => assertAdapterFits(webLlmPreset(DEFAULT_WEBLLM_PRESET), fakeAdapter([]))).toThrow(GpuCapabilityError);
    expect(() => assertAdapterFits(webLlmPreset(DEFAULT_WEBLLM_PRESET), fakeAdapter([]))).toThrow(/Use Chrome 121\+ on a GPU with float16 support/);
  });

  test('a real adapter (Dawn on SwiftShader) is read the same way', async (ctx) => {
    let adapter: AdapterLike | null = null;
    try {
      await useBackend('webgpu'); // sets navigator.gpu from npm webgpu
      adapter = await (globalThis as unknown as { navigator: { gpu: { requestAdapter(): Promise<AdapterLike | null> } } }).navigator.gpu.requestAdapter();
    } catch {
      adapter = null;
    }
    if (!adapter) ctx.skip();
    const missing = missingForPreset(webLlmPreset(DEFAULT_WEBLLM_PRESET), adapter!);
    expect(missing.includes('the WebGPU feature "shader-f16" (float16 shaders)')).toBe(!adapter!.features.has('shader-f16'));
    console.log(`SwiftShader adapter: shader-f16 ${adapter!.features.has('shader-f16')}, maxBufferSize ${adapter!.limits.maxBufferSize / MiB} MiB, binding ${adapter!.limits.maxStorageBufferBindingSize / MiB} MiB; missing for the default: ${JSON.stringify(missing)}`);
  });
});
