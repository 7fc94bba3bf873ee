// One typed config for a whole ExpandR experiment, with the paper's defaults (DESIGN.md §1; paper §4,
// Tables 2–3). The four ablations are switches of this config, not separate code paths.
import { ExpandrError } from '../errors.ts';
import { fnv1aHex } from '../util/fnv1a.ts';
import type { RetrieverTrainSettings } from '../train/settings.ts';
import type { DpoSettings } from '../llm/dpo.ts';
import type { ExpansionNorm } from '../retrieval/dense/expanded-query.ts';
import { SETTING_NAMES, type SamplingSettings, type SettingName } from './types.ts';
import { LLM_ENGINES, validateExperimentConfig, variantSlug, type LlmEngine } from './config-validate.ts';

export interface CandidateSettings {
  /** Paper: {0.8, 0.9, 1.0, 1.1}. */
  temperatures: number[];
  /** Samples per temperature (paper: 8, so 32 candidates). */
  perTemperature: number;
  topP: number;
  maxTokens: number;
  /**
   * Train queries that get candidates, answers, rewards and DPO pairs: the first N of the train queries
   * (0 = all). The retriever still trains on every train query; on CPU the candidates are the loop's
   * largest generation (queries × temperatures × perTemperature), so this bounds the LLM side alone.
   */
  queries: number;
}

export interface RewardSettings {
  /** 1/rank(d_exp | d*) term (off: "w/o retriever reward"). */
  retrieverReward: boolean;
  /** 1/rank(d_exp | y) term (off: "w/o self-reward"). */
  selfReward: boolean;
  /** Skip a query when max_e (cos(d*, e) + cos(y, e)) is below this. */
  filter: number;
}

export interface LoraSettingsConfig {
  r: number;
  alpha: number;
  dropout: number;
  targetModules: string[];
}

/**
 * A change within the method tried on dev when ExpandR does not beat FT: round 1 of the loop again (the round-1
 * retriever E_1 of the first seed, LLM_0's candidates), with these settings for the LLM side only, then the
 * tuned LLM's dev expansions with E_1. Judged on dev against ExpandR after round 1 (results.variants); test
 * is not evaluated. Changes of the retriever (encoder.expansionNorm, retriever.*) train another E_1: a config of
 * their own.
 */
export interface VariantConfig {
  /** Shown in the report; its slug (lower case, [a-z0-9-]) names the variant's stages and must be unique. */
  name: string;
  /** Why it is tried. */
  why: string;
  /** More candidates per temperature, other temperatures, more train queries with candidates (more pairs). */
  candidates?: Partial<Pick<CandidateSettings, 'temperatures' | 'perTemperature' | 'queries'>>;
  /** DPO settings over the config's (e.g. epochs 2, lr). */
  dpo?: Partial<DpoSettings>;
  /** Reward terms and the filter over the config's. */
  rewards?: Partial<RewardSettings>;
}

/** The name of a variant's LLM (its candidates, preferences, DPO, expansions): its slug and a hash of its settings, so a changed variant trains anew. */
export function variantStageName(v: VariantConfig): string {
  const settings = { candidates: v.candidates ?? {}, dpo: v.dpo ?? {}, rewards: v.rewards ?? {} };
  // Keys sorted at every depth (JSON.stringify with the sorted list of every key as its replacer), so the order they were written in does not count.
  const keys = new Set<string>();
  JSON.stringify(settings, (k, x) => (keys.add(k), x));
  return `variant-${variantSlug(v.name)}-${fnv1aHex(JSON.stringify(settings, [...keys].sort())).padStart(8, '0')}`;
}

/** The config a variant runs with: this config with the variant's candidates, DPO and reward settings. */
export function variantConfig(config: ExperimentConfig, v: VariantConfig): ExperimentConfig {
  return { ...config, candidates: { ...config.candidates, ...v.candidates }, dpo: { ...config.dpo, ...v.dpo }, rewards: { ...config.rewards, ...v.rewards } };
}

/** The dev split every setting is also evaluated on (src/data/dev-split.ts): the numbers choices may read. */
export { LLM_ENGINES, variantSlug, type LlmEngine };

export interface DevSettings {
  /** Share of each train dataset's train split held out as dev; null: the dataset's own dev split when it has one, else 0.2. */
  fraction: number | null;
  seed: number;
  /** First N dev queries evaluated (0 = all); the cut itself does not depend on it. */
  queries: number;
}

export interface ExperimentConfig {
  /** Folder or zip of the BEIR dataset evaluated on (and trained on unless trainData is set); relative paths resolve from the project root. */
  data: string;
  /**
   * Datasets to train on (paper: train on one collection, test zero-shot on BEIR): [] = `data`. Several are
   * merged with ids namespaced "NAME/ID"; the test split's corpus is `data`'s. A string means [string].
   */
  trainData: string[];
  /** Evaluation split (Tables 2–3: test) and training split (of every train dataset; dev is cut from it). */
  split: string;
  trainSplit: string;
  dev: DevSettings;
  /** Limits for small runs: first N train queries (0 = all) and test queries (0 = all). */
  trainQueries: number;
  testQueries: number;
  seed: number;
  /**
   * Seeds of the trained settings (FT, ExpandR and the ablations that train): each runs once per seed and
   * its row reports the mean ± sd over them (src/pipeline/seeds.ts). Default [seed]: one run.
   */
  seeds: number[];
  /**
   * The trained rows that run once per seed of `seeds`; the other trained rows run with the first seed only
   * (e.g. ["FT", "ExpandR"]: the ablations once, when seeds are what the CPU budget cannot pay for). Default: all.
   */
  seededSettings: SettingName[];
  /** Alternation rounds: retriever on LLM_t's expansions, then DPO with rewards from retriever_t+1 (1 = the paper). */
  rounds: number;
  encoder: {
    /** Folder, zip or preset/Hub id. */
    model: string;
    /**
     * Eq. 8 normalisation of the expanded query: the one setting that drives training (and its τ),
     * evaluation, rewards and the exported model's Normalize.
     */
    expansionNorm: ExpansionNorm;
    batchSize: number;
    /**
     * When `model` is a folder that does not exist yet: build it there from the corpus (init-encoder's
     * WordPiece vocabulary + small random BERT, then this many Contriever-style cropping steps). null: the
     * folder must exist. The runner's --init-encoder-steps overrides it.
     */
    initSteps: number | null;
  };
  llm: {
    /** Decoder folder (HF or llama2.c) for the tfjs engine; a WebLLM preset id in the app. */
    model: string;
    /** Apply the model's chat template (off for models without one, e.g. stories260K). */
    chat: boolean;
    /** Generation engine (LLM_ENGINES); 'llama.cpp' needs `model` to be a .gguf file (config-validate.ts). */
    engine: LlmEngine;
  };
  /** The vanilla expansion of every query (Q2D prompt). */
  expansion: SamplingSettings;
  candidates: CandidateSettings;
  /** The Q2A answer y of a train query from (q, d*). */
  answer: SamplingSettings;
  rewards: RewardSettings;
  retriever: Partial<RetrieverTrainSettings>;
  dpo: Partial<DpoSettings>;
  lora: LoraSettingsConfig;
  /** Which rows of the table to produce (default: all nine). */
  settings: SettingName[];
  /** Changes within the method tried on dev after the first seed's rows, before the other seeds' (VariantConfig); default none. */
  variants: VariantConfig[];
}

export const EXPERIMENT_DEFAULTS: Readonly<ExperimentConfig> = Object.freeze({
  data: '',
  trainData: [],
  split: 'test',
  trainSplit: 'train',
  dev: { fraction: null, seed: 42, queries: 0 }, // DEFAULT_DEV_FRACTION / DEFAULT_DEV_SEED of src/data/dev-split.ts
  trainQueries: 0,
  testQueries: 0,
  seed: 42,
  seeds: [42], // [seed] unless the config lists seeds (experimentConfig)
  seededSettings: ['FT', 'ExpandR', 'w/o LLM training', 'w/o retriever training', 'w/o self-reward', 'w/o retriever reward'],
  rounds: 1,
  encoder: { model: 'facebook/contriever', expansionNorm: 'contriever', batchSize: 32, initSteps: null },
  // Paper: Llama-3-8B-Instruct; a 0.5B model is what a browser tab's GPU holds (config-notes.ts has every such difference).
  // engine: 'tfjs' (config-notes.ts says why, and when llama.cpp is the faster choice).
  llm: { model: 'Qwen2.5-0.5B-Instruct-q4f16_1-MLC', chat: true, engine: 'tfjs' },
  // Reference: T 1.0, 512 tokens. 256: generation time on CPU / in the tab; T 0.8: unmeasured choice (config-notes.ts).
  expansion: { temperature: 0.8, topP: 0.9, maxTokens: 256, seed: 42 },
  // Reference: 512 tokens; 32 candidates per query make this the largest generation, halved for time.
  candidates: { temperatures: [0.8, 0.9, 1.0, 1.1], perTemperature: 8, topP: 0.9, maxTokens: 256, queries: 0 },
  // Reference: T 1.0, 512 tokens; as expansion (config-notes.ts).
  answer: { temperature: 0.8, topP: 0.9, maxTokens: 256, seed: 42 },
  rewards: { retrieverReward: true, selfReward: true, filter: 0.6 },
  retriever: { lr: 1e-5, epochs: 3, batchSize: 64 },
  dpo: { beta: 0.1, lr: 2e-5 },
  lora: { r: 8, alpha: 32, dropout: 0.1, targetModules: ['q_proj', 'v_proj'] },
  settings: [...SETTING_NAMES],
  variants: [],
} satisfies ExperimentConfig);

/**
 * Defaults deep-merged with `over` (one level of nesting), then the whole config validated
 * (config-validate.ts): unknown keys at any depth, types and ranges are errors that name the file and key.
 */
export function experimentConfig(over: Record<string, unknown> = {}, file = 'config'): ExperimentConfig {
  const base = EXPERIMENT_DEFAULTS as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = structuredClone(base);
  for (const [k, v] of Object.entries(over)) {
    // Top-level keys starting with "$" are comments (as JSON Schema's "$comment"): the why beside a value.
    if (k.startsWith('$')) continue;
    if (!(k in base)) throw new ExpandrError(`${file}: unknown setting "${k}" (known: ${Object.keys(base).join(', ')}).`);
    const d = base[k];
    const nested = d && typeof d === 'object' && !Array.isArray(d);
    if (nested && k !== 'retriever' && k !== 'dpo') {
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ExpandrError(`${file}: "${k}" must be an object like ${JSON.stringify(d)}.`);
      for (const kk of Object.keys(v)) {
        if (!(kk in (d as object))) throw new ExpandrError(`${file}: unknown setting "${k}.${kk}" (known: ${Object.keys(d as object).join(', ')}).`);
      }
      out[k] = { ...(d as object), ...(v as object) };
    } else if (nested) {
      out[k] = { ...(d as object), ...(v as object) };
    } else out[k] = v;
  }
  if (typeof out.trainData === 'string') out.trainData = out.trainData ? [out.trainData] : [];
  if (!Array.isArray(out.trainData) || !out.trainData.every((d) => typeof d === 'string' && d)) {
    throw new ExpandrError(`${file}: "trainData" must be a dataset path or a list of them (e.g. ["../shared/data/beir/scifact"]); [] trains on "data".`);
  }
  const retriever = out.retriever as Record<string, unknown>;
  if ('expansionNorm' in retriever || 'variant' in retriever) {
    throw new ExpandrError(`${file}: set the Eq. 8 normalisation as encoder.expansionNorm, not under retriever: one setting drives training, evaluation, rewards and export.`);
  }
  if (!('seeds' in over)) out.seeds = [out.seed];
  validateExperimentConfig(out, base, file);
  return out as unknown as ExperimentConfig;
}
