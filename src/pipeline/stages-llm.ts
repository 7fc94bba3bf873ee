// The LLM side of the loop on the tfjs decoder (LlmSide in loop.ts; generation may be handed to another engine): generation through the generators,
// expansions, candidates and preferences modules (all cached by generator id and prompt), and DPO of a
// LoRA adapter on preference pairs (Eq. 17), resumable from its checkpoints, exported in PEFT layout.
import type { DpoCheckpointSink, DpoStepMetrics } from '../train/dpo-checkpoint.ts';
import { tokenizePair, type PreferencePair } from '../llm/dpo-data.ts';
import { dpoSettings, type DpoSettings } from '../llm/dpo.ts';
import { referenceLogProbs } from '../llm/dpo-eval.ts';
import { trainDpo } from '../train/dpo-trainer.ts';
import type { ModelFiles as DecoderFiles } from '../llm/files.ts';
import { loadDecoder } from '../llm/load.ts';
import { exportPeftAdapter, readPeftAdapter } from '../llm/lora-peft.ts';
import { LoraAdapters, type LoraSettings } from '../llm/lora.ts';
import { ExpandrError } from '../errors.ts';
import type { WorkOptions } from '../util/progress.ts';
import type { ExperimentConfig } from './config.ts';
import type { AdapterFiles, LlmSide } from './loop.ts';
import { sampleCandidateSets, type QueryCandidates } from './candidates.ts';
import { generateExpansions } from './expansions.ts';
import { loadTfjsGenerator } from './generators.ts';
import { buildPreferences, encoderEmbed } from './preferences.ts';
import { rankSimilarity } from './rewards.ts';
import type { GenerationCache, QueryWithGold } from './types.ts';

/** Checkpoint DPO every this many steps unless the config says otherwise. */
export const DEFAULT_DPO_CHECKPOINT_EVERY = 5;

export interface DpoStageOptions {
  files: DecoderFiles;
  /** base_model_name_or_path of the exported adapter. */
  baseModel: string;
  chat: boolean;
  dpo: Partial<DpoSettings>;
  lora: Partial<LoraSettings>;
  seed: number;
}

/** DPO on `pairs` from `from` (a fresh adapter when null); π_ref is the base model (adapters off). */
export async function trainDpoAdapter(
  options: DpoStageOptions,
  pairs: readonly PreferencePair[],
  from: AdapterFiles,
  checkpoints: DpoCheckpointSink,
  work: WorkOptions,
): Promise<{ adapter: Map<string, Uint8Array>; curve: DpoStepMetrics[] }> {
  const settings = dpoSettings({ checkpointEvery: DEFAULT_DPO_CHECKPOINT_EVERY, ...options.dpo, seed: options.seed });
  const { model, tokenizer } = await loadDecoder(options.files, work);
  let lora: LoraAdapters | null = null;
  try {
    if (!tokenizer) throw new ExpandrError(`${options.files.label} has no tokenizer files: DPO on text needs them.`);
    const tokenized = pairs.map((p) => tokenizePair(tokenizer, p, settings, { chat: options.chat }));
    lora = from ? (await readPeftAdapter(model, from)).lora : LoraAdapters.attachNew(model, { ...options.lora, seed: options.seed });
    const stored = await checkpoints.latest();
    const reference = stored?.reference ?? (await referenceLogProbs(model, tokenized, settings, { ...work, padId: tokenizer.padId }));
    const r = await trainDpo(model, lora, tokenized, { settings, checkpoints, resume: true, reference, padId: tokenizer.padId, ...work });
    const info = { format: 'expandr-dpo', baseModel: options.baseModel, pairCount: pairs.length, chatTemplate: options.chat, settings: r.settings, lora: lora.settings, curve: r.curve };
    const adapter = await exportPeftAdapter(lora, options.baseModel, { 'training_info.json': info });
    return { adapter, curve: r.curve };
  } finally {
    lora?.dispose();
    model.dispose();
  }
}

export interface TfjsLlmSideOptions {
  /** The decoder's files (HF folder or llama2.c) and its name in generator ids and adapters. */
  files: DecoderFiles;
  name: string;
  config: ExperimentConfig;
  cache: GenerationCache;
  /** Prompts per generate() call (the decoder's batch). */
  batchSize?: number;
  /** Gold-document characters in the Q2A prompt (default Q2A_DOC_MAX_CHARS); lower for small-context models. */
  maxDocChars?: number;
  /**
   * Another generation engine (config llm.engine 'llama.cpp': the runner passes llamacpp-generator.ts's
   * factory, which loads the GGUF or the adapter merged into it). Log-probs and DPO stay on tfjs with `files`.
   */
  generator?: LlmSide['generator'];
}

/** LlmSide over the tfjs decoder: one generator at a time (the loop disposes the previous one). */
export function tfjsLlmSide(options: TfjsLlmSideOptions): LlmSide {
  const c = options.config;
  return {
    generator: options.generator ?? ((adapter) => loadTfjsGenerator(options.files, { name: options.name, chat: c.llm.chat, adapter, batchSize: options.batchSize })),
    expand: (gen, queries, work, seed) => generateExpansions(gen, queries, seed === undefined ? c.expansion : { ...c.expansion, seed }, options.cache, work),
    candidates: (gen, queries: readonly QueryWithGold[], work, settings) => sampleCandidateSets(gen, queries, { candidates: settings ?? c.candidates, answer: c.answer, seed: c.seed }, options.cache, work, { maxDocChars: options.maxDocChars }),
    preferences: (encoder, sets, queries, rewards, work) =>
      buildPreferences(sets as QueryCandidates[], queries, encoderEmbed(encoder, { ...work, batchSize: c.encoder.batchSize }), {
        ...work,
        rewards,
        similarity: rankSimilarity(encoder.settings, c.encoder.expansionNorm),
      }),
    trainDpo: (pairs, from, checkpoints, work, seed, dpo) =>
      trainDpoAdapter({ files: options.files, baseModel: options.name, chat: c.llm.chat, dpo: dpo ?? c.dpo, lora: c.lora, seed: seed ?? c.seed }, pairs, from, checkpoints, work),
  };
}
