// The WebLLM models the app offers, and whether this GPU can run one.
//
// Ids, URLs, libraries, VRAM and context windows are copied from mlc-ai/web-llm src/config.ts
// `prebuiltAppConfig` (read at 0.2.83, modelVersion "v0_2_83/base"); `webLlmModelRecord` prefers the
// record of the WebLLM actually installed when given its prebuiltAppConfig. Architecture sizes are the
// Hugging Face config.json values (also in mlc-llm python/mlc_llm/model/model_preset.py). GPU minimums
// are those tvmjs asks for in apache/tvm web/src/webgpu.ts `detectGPUDevice`.
import { GpuCapabilityError } from '../../errors.ts';
import { q4Words } from '../quant/q4f16.ts';
import type { ModelRecord } from './types.ts';

export interface WebLlmPreset {
  /** WebLLM model_id, also the preset's name. */
  readonly id: string;
  /** ModelRecord.model: where WebLLM downloads weights and tokenizer. */
  readonly modelUrl: string;
  /** File name of the prebuilt WebGPU library (ModelRecord.model_lib = prefix + version + '/' + this). */
  readonly modelLibFile: string;
  /** prebuiltAppConfig vram_required_MB: shown before loading. */
  readonly vramMB: number;
  /** overrides.context_window_size in prebuiltAppConfig (tokens of prompt + output). */
  readonly contextWindow: number;
  readonly lowResource: boolean;
  /** The same model for the tfjs decoder (LoRA, DPO, log-probs), on the Hugging Face Hub. */
  readonly hfRepo: string;
  readonly arch: 'qwen2' | 'llama';
  /** From the HF config.json: enough to size the largest GPU buffer. */
  readonly dims: Readonly<{ vocab: number; dim: number; hidden: number; layers: number; tied: boolean }>;
  readonly reason: string;
}

/** web-llm src/config.ts modelLibURLPrefix and modelVersion (0.2.83). */
export const MODEL_LIB_URL_PREFIX = 'https://raw.githubusercontent.com/mlc-ai/binary-mlc-llm-libs/main/web-llm-models/';
export const MODEL_LIB_VERSION = 'v0_2_83/base';

const preset = (p: WebLlmPreset): WebLlmPreset => Object.freeze({ ...p, dims: Object.freeze({ ...p.dims }) });

export const WEBLLM_PRESETS: readonly WebLlmPreset[] = Object.freeze([
  preset({
    id: 'Qwen2.5-0.5B-Instruct-q4f16_1-MLC',
    modelUrl: 'https://huggingface.co/mlc-ai/Qwen2.5-0.5B-Instruct-q4f16_1-MLC',
    modelLibFile: 'Qwen2-0.5B-Instruct-q4f16_1_cs1k-webgpu.wasm',
    vramMB: 944.62,
    contextWindow: 4096,
    lowResource: true,
    hfRepo: 'Qwen/Qwen2.5-0.5B-Instruct',
    arch: 'qwen2',
    dims: { vocab: 151936, dim: 896, hidden: 4864, layers: 24, tied: true },
    reason: 'Default: small enough to sample 32 expansions per query and to train with LoRA in the same tab.',
  }),
  preset({
    id: 'SmolLM2-360M-Instruct-q4f16_1-MLC',
    modelUrl: 'https://huggingface.co/mlc-ai/SmolLM2-360M-Instruct-q4f16_1-MLC',
    modelLibFile: 'SmolLM2-360M-Instruct-q4f16_1_cs1k-webgpu.wasm',
    vramMB: 376.06,
    contextWindow: 4096,
    lowResource: true,
    hfRepo: 'HuggingFaceTB/SmolLM2-360M-Instruct',
    arch: 'llama',
    dims: { vocab: 49152, dim: 960, hidden: 2560, layers: 32, tied: true },
    reason: 'The smallest: for weak GPUs and quick end-to-end runs; expansions are less informed.',
  }),
  preset({
    id: 'Llama-3.2-1B-Instruct-q4f16_1-MLC',
    modelUrl: 'https://huggingface.co/mlc-ai/Llama-3.2-1B-Instruct-q4f16_1-MLC',
    modelLibFile: 'Llama-3.2-1B-Instruct-q4f16_1_cs1k-webgpu.wasm',
    vramMB: 879.04,
    contextWindow: 4096,
    lowResource: true,
    hfRepo: 'meta-llama/Llama-3.2-1B-Instruct',
    arch: 'llama',
    dims: { vocab: 128256, dim: 2048, hidden: 8192, layers: 16, tied: true },
    reason: "The paper's model family (Llama 3) at 1B; the HF repo is gated (accept the licence on the Hub).",
  }),
  preset({
    id: 'Qwen2.5-1.5B-Instruct-q4f16_1-MLC',
    modelUrl: 'https://huggingface.co/mlc-ai/Qwen2.5-1.5B-Instruct-q4f16_1-MLC',
    modelLibFile: 'Qwen2-1.5B-Instruct-q4f16_1_cs1k-webgpu.wasm',
    vramMB: 1629.75,
    contextWindow: 4096,
    lowResource: true,
    hfRepo: 'Qwen/Qwen2.5-1.5B-Instruct',
    arch: 'qwen2',
    dims: { vocab: 151936, dim: 1536, hidden: 8960, layers: 28, tied: true },
    reason: 'Better expansions than 0.5B for about 1.7× the memory; DPO in tfjs gets slow at this size.',
  }),
  preset({
    id: 'Llama-3-8B-Instruct-q4f16_1-MLC-1k',
    modelUrl: 'https://huggingface.co/mlc-ai/Llama-3-8B-Instruct-q4f16_1-MLC',
    modelLibFile: 'Llama-3-8B-Instruct-q4f16_1_cs1k-webgpu.wasm',
    vramMB: 4598.34,
    contextWindow: 1024,
    lowResource: false,
    hfRepo: 'meta-llama/Meta-Llama-3-8B-Instruct',
    arch: 'llama',
    dims: { vocab: 128256, dim: 4096, hidden: 14336, layers: 32, tied: false },
    reason:
      "The paper's LLM, for large GPUs. The 1k-context build (ExpandR needs ≤ 612 tokens: 100 of prompt, 512 " +
      'generated) saves ~400 MB over the 4k one; tfjs cannot train 8B in a tab, so DPO needs a smaller model.',
  }),
]);

export const DEFAULT_WEBLLM_PRESET = 'Qwen2.5-0.5B-Instruct-q4f16_1-MLC';

/** The preset with this id; throws listing the ids when unknown. */
export function webLlmPreset(id: string): WebLlmPreset {
  const p = WEBLLM_PRESETS.find((x) => x.id === id);
  if (!p) throw new Error(`Unknown WebLLM preset "${id}". Known: ${WEBLLM_PRESETS.map((x) => x.id).join(', ')}`);
  return p;
}

/** The ModelRecord WebLLM loads: the installed WebLLM's own when its prebuilt list has the id, else ours. */
export function webLlmModelRecord(preset: WebLlmPreset, prebuilt?: { model_list: ModelRecord[] }): ModelRecord {
  const own = prebuilt?.model_list.find((r) => r.model_id === preset.id);
  if (own) return own;
  return {
    model: preset.modelUrl,
    model_id: preset.id,
    model_lib: `${MODEL_LIB_URL_PREFIX}${MODEL_LIB_VERSION}/${preset.modelLibFile}`,
    vram_required_MB: preset.vramMB,
    low_resource_required: preset.lowResource,
    overrides: { context_window_size: preset.contextWindow },
  };
}

/** Bytes of the largest q4f16_1 weight (one GPU buffer each): the embedding's, the head's or gate_up's. */
export function largestTensorBytes(preset: WebLlmPreset): number {
  const { vocab, dim, hidden } = preset.dims;
  return 4 * Math.max(vocab * q4Words(dim), 2 * hidden * q4Words(dim), dim * q4Words(hidden));
}

/** What the adapter exposes (a GPUAdapter fits). */
export interface AdapterLike {
  features: { has(name: string): boolean };
  limits: {
    maxBufferSize: number;
    maxStorageBufferBindingSize: number;
    maxComputeWorkgroupStorageSize: number;
    maxStorageBuffersPerShaderStage: number;
  };
}

const MiB = 1 << 20;
const GiB = 1 << 30;
const mb = (bytes: number) => `${Math.ceil(bytes / MiB)} MB`;

/**
 * What this adapter lacks for the preset: an empty list means it can run it (VRAM cannot be queried in
 * WebGPU; it is only shown). tvmjs requests 1 GiB buffer/binding limits when the adapter offers them and
 * otherwise falls back to 256 MiB / 128 MiB, so a tensor between those needs the 1 GiB limits.
 */
export function missingForPreset(preset: WebLlmPreset, adapter: AdapterLike): string[] {
  const missing: string[] = [];
  // q4f16_1 kernels compute in float16; WebLLM lists the feature for only some records but needs it for all.
  if (!adapter.features.has('shader-f16')) missing.push('the WebGPU feature "shader-f16" (float16 shaders)');
  const l = adapter.limits;
  const buffer = l.maxBufferSize >= GiB ? GiB : 256 * MiB;
  const binding = l.maxStorageBufferBindingSize >= GiB ? GiB : 128 * MiB;
  if (l.maxBufferSize < 256 * MiB) missing.push(`maxBufferSize ≥ 256 MB (adapter: ${mb(l.maxBufferSize)})`);
  if (l.maxStorageBufferBindingSize < 128 * MiB) missing.push(`maxStorageBufferBindingSize ≥ 128 MB (adapter: ${mb(l.maxStorageBufferBindingSize)})`);
  const need = largestTensorBytes(preset);
  if (need > binding || need > buffer) {
    missing.push(`storage buffers of ${mb(need)} (its largest weight) — WebLLM gets that only with adapter limits ≥ 1 GB (adapter: maxBufferSize ${mb(l.maxBufferSize)}, maxStorageBufferBindingSize ${mb(l.maxStorageBufferBindingSize)})`);
  }
  if (l.maxComputeWorkgroupStorageSize < 32 * 1024) missing.push(`maxComputeWorkgroupStorageSize ≥ 32 KB (adapter: ${l.maxComputeWorkgroupStorageSize} bytes)`);
  if (l.maxStorageBuffersPerShaderStage < 10) missing.push(`maxStorageBuffersPerShaderStage ≥ 10 (adapter: ${l.maxStorageBuffersPerShaderStage})`);
  return missing;
}

/** Throws GpuCapabilityError naming everything missing, with what to do. */
export function assertAdapterFits(preset: WebLlmPreset, adapter: AdapterLike): void {
  const missing = missingForPreset(preset, adapter);
  if (missing.length === 0) return;
  const smaller = WEBLLM_PRESETS.filter((x) => x.id !== preset.id && missingForPreset(x, adapter).length === 0).map((x) => x.id);
  const fix = smaller.length
    ? `Pick a model this GPU can run (${smaller.join(', ')}), or use the tfjs decoder.`
    : missing.some((m) => m.includes('shader-f16'))
      ? 'Use Chrome 121+ on a GPU with float16 support (or chrome://flags/#enable-unsafe-webgpu), or the tfjs decoder.'
      : 'Use another browser or GPU, or the tfjs decoder.';
  throw new GpuCapabilityError(`${preset.id} needs ${missing.join('; ')}. ${fix}`);
}
