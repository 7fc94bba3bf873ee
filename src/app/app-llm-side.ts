// The loop's LLM side for the page: generation (expansions, candidates, Q2A answers) cached in the
// dataset's artifacts, rewards with the current retriever, DPO of a LoRA adapter on the tfjs decoder.
// Wires the pipeline's modules (generators / expansions / candidates / preferences, stages-llm's
// trainDpoAdapter) to LlmSide.
//  - A dropped decoder folder: everything on the tfjs decoder in the core worker.
//  - A WebLLM preset: tuned adapters generate and train on the tfjs decoder of the same model
//    (preset.hfRepo from the Hub, cached in IndexedDB). The base model generates on that same decoder by
//    default (baseEngine 'tfjs'), so the rows before and after LLM training differ by DPO only, not by
//    engine, quantisation and numerics too (issue 14.3); baseEngine 'webllm' generates them on WebLLM
//    (fast, q4f16_1; `webLlm` comes from the worker, which owns the Worker it runs in), and the results
//    table flags the rows of the two engines (each row records its generation's engine and precision).
//  - llm.engine 'llama.cpp' (a dropped .gguf): every generation, base and tuned, on llama.cpp compiled to
//    wasm (wllama-generator.ts; a tuned model as its adapter merged into the GGUF); log-probs and DPO stay
//    on the tfjs decoder.
import { ExpandrError } from '../errors.ts';
import { sampleCandidateSets, type QueryCandidates } from '../pipeline/candidates.ts';
import type { ExperimentConfig } from '../pipeline/config.ts';
import { generateExpansions } from '../pipeline/expansions.ts';
import { StoreGenerationCache } from '../pipeline/generation-cache.ts';
import { loadTfjsGenerator, webLlmTextGenerator, type WebLlmLike } from '../pipeline/generators.ts';
import type { LlmSide } from '../pipeline/loop.ts';
import { buildPreferences, encoderEmbed } from '../pipeline/preferences.ts';
import { rankSimilarity } from '../pipeline/rewards.ts';
import { trainDpoAdapter } from '../pipeline/stages-llm.ts';
import type { TextGenerator } from '../pipeline/types.ts';
import type { BertEncoder } from '../encoder/encoder.ts';
import { modelFilesFromBytes, type ModelFiles } from '../llm/files.ts';
import { webLlmPreset } from '../llm/webllm/presets.ts';
import type { Store } from '../store/store.ts';
import type { BaseEngine } from './session-types.ts';
import type { WorkOptions } from '../util/progress.ts';
import { q2aDocChars, type LoadedLlm } from './llm-session.ts';
import { loadModelFiles } from './model-source.ts';

/** Loads a WebLLM model (the worker creates the engine in its own nested Worker). */
export type WebLlmEngineFactory = (modelId: string, work: WorkOptions) => Promise<WebLlmLike & { unload(): Promise<void> }>;

export interface AppLlmSideContext {
  store: Store;
  datasetId: string;
  work: WorkOptions;
  webLlm?: WebLlmEngineFactory;
  /** Where a preset's base model generates (default 'tfjs': the engine of the adapter rows). */
  baseEngine?: BaseEngine;
}

/** The engine a loaded LLM's base model generates on in the pipeline: WebLLM only for a preset whose run asked for it. */
export function baseGenerationEngine(llm: Pick<LoadedLlm, 'preset'>, baseEngine: BaseEngine = 'tfjs'): BaseEngine {
  return llm.preset && baseEngine === 'webllm' ? 'webllm' : 'tfjs';
}

export function appLlmSide(llm: LoadedLlm, config: ExperimentConfig, at: AppLlmSideContext): LlmSide {
  const cache = new StoreGenerationCache(at.store, at.datasetId, 'experiment/generations');
  const chat = config.llm.chat;
  let tfjsFiles: Promise<ModelFiles> | undefined;
  // The tfjs decoder's files: the dropped folder, or the WebLLM preset's model in full precision from the Hub.
  const files = () =>
    (tfjsFiles ??= llm.files
      ? Promise.resolve(llm.files)
      : loadModelFiles(at.store, { kind: 'hub', id: webLlmPreset(llm.preset!).hfRepo }, at.work).then((m) => modelFilesFromBytes(Object.fromEntries(m.files), m.name)));

  const generator = async (adapter: ReadonlyMap<string, Uint8Array> | null): Promise<TextGenerator & { dispose?(): void }> => {
    if (config.llm.engine === 'llama.cpp') {
      const { loadWllamaGenerator } = await import('./wllama-model.ts'); // wllama and its wasm only on this path
      return loadWllamaGenerator(llm, { chat, adapter }, at.work);
    }
    if (!adapter && baseGenerationEngine(llm, at.baseEngine) === 'webllm') {
      if (!at.webLlm) throw new ExpandrError('WebLLM is not available in this build of the worker: drop the model folder to run it on the tfjs decoder.');
      const engine = await at.webLlm(llm.preset!, at.work);
      return Object.assign(webLlmTextGenerator(engine), { dispose: () => void engine.unload() });
    }
    // A preset on tfjs runs the Hub model's own weights: named by its repo, not by the quantised WebLLM id.
    return loadTfjsGenerator(await files(), { chat, adapter, name: llm.preset ? webLlmPreset(llm.preset).hfRepo : llm.summary.name }, at.work);
  };

  return {
    generator: (adapter) => generator(adapter),
    expand: (gen, queries, w, seed) => generateExpansions(gen, queries.map((q) => ({ id: q.id, text: q.text })), seed === undefined ? config.expansion : { ...config.expansion, seed }, cache, w),
    // Small models (stories260K: 512 positions) cannot take the paper's 2000 characters of d* in the Q2A prompt.
    candidates: (gen, queries, w, settings) =>
      sampleCandidateSets(gen, queries, { candidates: settings ?? config.candidates, answer: config.answer, seed: config.seed }, cache, w, {
        maxDocChars: q2aDocChars(llm.summary, config.answer.maxTokens),
      }),
    preferences: (encoder, candidates, queries, rewards, w) =>
      buildPreferences(candidates as QueryCandidates[], queries, encoderEmbed(encoder as BertEncoder, { ...w, batchSize: config.encoder.batchSize }), {
        ...w,
        rewards,
        similarity: rankSimilarity(encoder.settings, config.encoder.expansionNorm),
      }),
    trainDpo: async (pairs, from, checkpoints, w, seed, dpo) =>
      trainDpoAdapter({ files: await files(), baseModel: llm.summary.name, chat, dpo: dpo ?? config.dpo, lora: config.lora, seed: seed ?? config.seed }, pairs, from, checkpoints, w),
  };
}
