// Back to fast generation: a LlamaModel with its LoRA adapter merged (W + (α/r)·B·A) written as a WebLLM
// model straight into WebLLM's cache, under a local URL, so WebLLM loads the tuned model offline with the
// base model's prebuilt library (same architecture and quantisation → same kernels and parameter names).
//
// Files (cache.ts for scopes and keys): webllm/model ← params_shard_N.bin, tensor-cache.json, the
// tokenizer files; webllm/config ← mlc-chat-config.json; webllm/wasm is untouched (the base's library,
// cached when the base was first loaded, is reused through model_lib). mlc-chat-config.json has no model
// id field (mlc-llm python/mlc_llm/protocol/mlc_chat_config.py), so the base's is copied as is after
// checking it describes this architecture; the id lives only in the ModelRecord.
import { CancelledError, ModelFetchError, ModelFormatError, throwIfAborted } from '../../errors.ts';
import type { WorkOptions } from '../../util/progress.ts';
import type { DecoderConfig } from '../config.ts';
import type { LlamaModel } from '../llama.ts';
import { localModelUrl, modelFileUrl, type WebLlmCacheStore } from './cache.ts';
import { mergedWeightSource } from './merged-weights.ts';
import { mlcParamSpecs, mlcTensors, sourceParamCount, type MlcQuantization, type WeightSource } from './mlc-params.ts';
import { SHARD_CAP_BYTES, TENSOR_CACHE_FILE, TensorCacheWriter, type TensorCacheJson } from './tensor-cache.ts';
import type { AppConfig, ModelRecord } from './types.ts';

export const CHAT_CONFIG_FILE = 'mlc-chat-config.json';
/** The manifest's name before tvm renamed NDArray to Tensor (Sep 2025); older WebLLM builds read it. */
export const LEGACY_MANIFEST_FILE = 'ndarray-cache.json';

export interface InstallOptions extends WorkOptions {
  /** The tuned model; its enabled adapters are merged on the fly. */
  model: LlamaModel;
  /** The new WebLLM model id, e.g. 'Qwen2.5-0.5B-Instruct-q4f16_1-MLC-expandr-1'. */
  modelId: string;
  /** The base model's record (webLlmModelRecord(preset)). */
  base: ModelRecord;
  store: WebLlmCacheStore;
  /** Else read from the store, where WebLLM cached them when it loaded the base model. */
  baseChatConfig?: Uint8Array;
  baseTokenizerFiles?: Record<string, Uint8Array>;
  /** Override the weights (tests); default: mergedWeightSource(model). */
  weights?: WeightSource;
  shardBytes?: number;
}

/** The fields of mlc-chat-config.json we rely on. */
interface ChatConfigJson {
  model_type?: string;
  quantization?: string;
  tokenizer_files?: string[];
  model_config?: Record<string, unknown>;
}

const MLC_MODEL_TYPES: Record<DecoderConfig['arch'], string> = { qwen2: 'qwen2', llama: 'llama' };

/** Throws unless the base's mlc-chat-config.json describes this decoder with a quantisation we write. */
export function checkChatConfig(cfg: ChatConfigJson, config: DecoderConfig, file = CHAT_CONFIG_FILE): MlcQuantization {
  const fail = (problem: string) => new ModelFormatError(file, problem, 'Export onto the WebLLM model that matches the tuned checkpoint (same preset)');
  if (cfg.quantization !== 'q4f16_1' && cfg.quantization !== 'q0f16') throw fail(`quantization ${JSON.stringify(cfg.quantization)} is not one we can write (q4f16_1, q0f16)`);
  if (cfg.model_type !== MLC_MODEL_TYPES[config.arch]) throw fail(`model_type ${JSON.stringify(cfg.model_type)} but the tuned model is ${config.arch}`);
  const want: Record<string, unknown> = {
    hidden_size: config.dim,
    intermediate_size: config.hidden,
    num_hidden_layers: config.layers,
    num_attention_heads: config.heads,
    num_key_value_heads: config.kvHeads,
    vocab_size: config.vocab,
    tie_word_embeddings: config.tiedEmbeddings,
  };
  for (const [k, v] of Object.entries(want)) {
    const have = cfg.model_config?.[k];
    if (have !== undefined && have !== v) throw fail(`model_config.${k} is ${JSON.stringify(have)}, the tuned model has ${JSON.stringify(v)}`);
  }
  return cfg.quantization;
}

/** The record WebLLM needs for the tuned model: local URL, the base's library and requirements. */
export function tunedModelRecord(modelId: string, base: ModelRecord): ModelRecord {
  const r: ModelRecord = { model: localModelUrl(modelId), model_id: modelId, model_lib: base.model_lib };
  for (const k of ['overrides', 'vram_required_MB', 'low_resource_required', 'buffer_size_required_bytes', 'required_features'] as const) {
    if (base[k] !== undefined) (r as unknown as Record<string, unknown>)[k] = base[k];
  }
  return r;
}

/** WebLLM's list plus tuned models (a tuned id replaces an older record with the same id). */
export function appConfigWith(prebuilt: AppConfig, tuned: ModelRecord[]): AppConfig {
  const ids = new Set(tuned.map((r) => r.model_id));
  return { ...prebuilt, model_list: [...prebuilt.model_list.filter((r) => !ids.has(r.model_id)), ...tuned] };
}

async function readBase(store: WebLlmCacheStore, base: ModelRecord, scope: 'webllm/model' | 'webllm/config', file: string): Promise<Uint8Array | null> {
  return store.get(scope, modelFileUrl(base.model, file));
}

/**
 * Writes the merged, quantised model and its config/tokenizer into the store and returns its ModelRecord
 * (add it to the app config: appConfigWith). Progress: stage 'llm:export', unit 'tensors'.
 */
export async function installWebLlmModel(options: InstallOptions): Promise<ModelRecord> {
  const c = options.model.config;
  if (c.ropeLayout !== 'half') {
    throw new ModelFormatError(options.modelId, 'interleaved RoPE (llama2.c) is not what MLC libraries compute', 'Convert with interleavedToHalf first');
  }
  const missingBase = (file: string) =>
    new ModelFetchError(`${file} of the base model ${options.base.model_id} is not in this browser's WebLLM cache: load the base model in WebLLM once (online), then export again.`);
  const chatBytes = options.baseChatConfig ?? (await readBase(options.store, options.base, 'webllm/config', CHAT_CONFIG_FILE));
  if (!chatBytes) throw missingBase(CHAT_CONFIG_FILE);
  const chat = JSON.parse(new TextDecoder().decode(chatBytes)) as ChatConfigJson;
  const quant = checkChatConfig(chat, c);

  const tokenizer: Record<string, Uint8Array> = {};
  for (const f of chat.tokenizer_files ?? ['tokenizer.json']) {
    const bytes = options.baseTokenizerFiles?.[f] ?? (await readBase(options.store, options.base, 'webllm/model', f));
    if (bytes) tokenizer[f] = bytes;
  }
  if (!tokenizer['tokenizer.json'] && !tokenizer['tokenizer.model']) throw missingBase('tokenizer.json');

  const record = tunedModelRecord(options.modelId, options.base);
  const url = (file: string) => modelFileUrl(record.model, file);
  // A re-export first hides the old manifest, so a half-written model is never taken as complete.
  for (const f of [TENSOR_CACHE_FILE, LEGACY_MANIFEST_FILE]) await options.store.delete('webllm/model', url(f));

  const total = mlcParamSpecs(c, quant).length;
  const writer = new TensorCacheWriter(options.shardBytes ?? SHARD_CAP_BYTES);
  const putShard = (s: { record: { dataPath: string }; bytes: Uint8Array }) => options.store.put('webllm/model', url(s.record.dataPath), s.bytes, 'application/octet-stream');
  let done = 0;
  options.onProgress?.({ stage: 'llm:export', done, total, unit: 'tensors' });
  for await (const t of mlcTensors(c, options.weights ?? mergedWeightSource(options.model), quant)) {
    throwIfAborted(options.signal, 'Exporting to WebLLM');
    for (const s of writer.add(t)) await putShard(s);
    options.onProgress?.({ stage: 'llm:export', done: ++done, total, unit: 'tensors', text: t.name });
  }
  const { last, manifest } = writer.finish(sourceParamCount(c));
  if (last) await putShard(last);
  if (options.signal?.aborted) throw new CancelledError('Exporting to WebLLM');

  const enc = (s: string) => new TextEncoder().encode(s);
  for (const [f, bytes] of Object.entries(tokenizer)) await options.store.put('webllm/model', url(f), bytes, f.endsWith('.json') ? 'application/json' : 'application/octet-stream');
  await options.store.put('webllm/config', url(CHAT_CONFIG_FILE), chatBytes, 'application/json');
  const manifestBytes = enc(JSON.stringify(manifest satisfies TensorCacheJson, null, 4));
  await options.store.put('webllm/model', url(LEGACY_MANIFEST_FILE), manifestBytes, 'application/json');
  await options.store.put('webllm/model', url(TENSOR_CACHE_FILE), manifestBytes, 'application/json'); // last: marks it complete
  return record;
}
