// Reads a WebLLM model back out of the cache the way WebLLM does (same scopes and URLs), and turns its
// parameters into our HF-named float32 weights: to verify an export, and to run the quantised model in
// tfjs for the KL check.
import { ModelFetchError } from '../../errors.ts';
import type { DecoderConfig } from '../config.ts';
import type { Weights } from '../weights.ts';
import { modelFileUrl, type WebLlmCacheStore } from './cache.ts';
import { weightsFromMlc, type MlcQuantization } from './mlc-params.ts';
import { CHAT_CONFIG_FILE } from './model-writer.ts';
import { parseTensorCache, readTensorCache, TENSOR_CACHE_FILE, type NamedTensor, type TensorCacheJson } from './tensor-cache.ts';

export interface StoredWebLlmModel {
  chatConfig: Record<string, unknown>;
  manifest: TensorCacheJson;
  tensors: Map<string, NamedTensor>;
}

/** Everything WebLLM would read for the model at `modelUrl` (a ModelRecord.model), md5s checked. */
export async function readWebLlmModel(store: WebLlmCacheStore, modelUrl: string): Promise<StoredWebLlmModel> {
  const need = async (scope: 'webllm/model' | 'webllm/config', file: string) => {
    const url = modelFileUrl(modelUrl, file);
    const b = await store.get(scope, url);
    if (!b) throw new ModelFetchError(`${url} is not in the cache (scope ${scope}): the model was not exported to this browser, or the cache was cleared.`);
    return b;
  };
  const dec = new TextDecoder();
  const chatConfig = JSON.parse(dec.decode(await need('webllm/config', CHAT_CONFIG_FILE))) as Record<string, unknown>;
  const manifest = parseTensorCache(dec.decode(await need('webllm/model', TENSOR_CACHE_FILE)));
  const tensors = await readTensorCache(manifest, (dataPath) => need('webllm/model', dataPath));
  return { chatConfig, manifest, tensors };
}

/** The stored model's weights, dequantised, under HF names. */
export function storedWeights(model: StoredWebLlmModel, config: DecoderConfig): Weights {
  return weightsFromMlc(config, model.tensors, model.chatConfig.quantization as MlcQuantization);
}
