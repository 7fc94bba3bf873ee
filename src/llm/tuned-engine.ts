// Where a tuned LLM (base + LoRA) generates: WebLLM (fast, quantised) when the merged, quantised export
// stays close to the tfjs model with its adapter, else the tfjs decoder with the adapter (exact, slower).
// The 4-bit rounding of q4f16_1 can swallow small LoRA deltas (FACTS.md): the KL check decides.
import type { LlamaModel } from './llama.ts';
import type { WorkOptions } from '../util/progress.ts';
import { KL_FALLBACK_THRESHOLD, measureQuantisationKl, type QuantKlReport } from './quant/kl.ts';
import { installWebLlmModel, type InstallOptions } from './webllm/model-writer.ts';
import type { ModelRecord } from './webllm/types.ts';
import type { MlcQuantization } from './webllm/mlc-params.ts';

export type TunedEngine =
  | { engine: 'webllm'; record: ModelRecord; kl: QuantKlReport; reason: string }
  | { engine: 'tfjs'; kl: QuantKlReport; reason: string };

export interface ChooseEngineOptions extends Omit<InstallOptions, 'model'> {
  /** Token ids of prompts representative of the task (e.g. a few Q2D prompts), for the KL measurement. */
  klPrompts: number[][];
  quantization?: MlcQuantization;
  threshold?: number;
}

/** Measures the export's KL and, when it is small enough, installs the merged model into WebLLM's cache. */
export async function chooseTunedEngine(model: LlamaModel, options: ChooseEngineOptions & WorkOptions): Promise<TunedEngine> {
  const kl = await measureQuantisationKl(model, options.klPrompts, options.quantization ?? 'q4f16_1');
  const threshold = options.threshold ?? KL_FALLBACK_THRESHOLD;
  const fmt = (x: number) => x.toPrecision(3);
  // NaN (nothing measured) falls back too, as shouldFallBack does for the default threshold.
  if (!(kl.kl.mean <= threshold)) {
    return {
      engine: 'tfjs',
      kl,
      reason:
        `the quantised export differs from the tuned model by KL ${fmt(kl.kl.mean)} nats/token (limit ${threshold}; ` +
        `the adapter itself moves the model by ${fmt(kl.adapterKl.mean)}): generating with the tfjs decoder and the adapter`,
    };
  }
  const { klPrompts: _p, quantization: _q, threshold: _t, ...install } = options;
  const record = await installWebLlmModel({ ...install, model });
  return { engine: 'webllm', record, kl, reason: `quantised export within KL ${fmt(kl.kl.mean)} nats/token of the tuned model: generating with WebLLM` };
}
