// Settings of a retriever training run: one typed interface, one frozen defaults object with the reason
// beside each value, overrides merged from a Partial that throws on unknown keys (STYLE.md).
import type { EncoderSettings } from '../encoder/types.ts';
import { ExpandrError } from '../errors.ts';
import { CROP_DEFAULTS } from './cropping.ts';
import { EXPANSION_NORMS, EXPANSION_NORM_SPECS, type ExpansionNorm } from '../retrieval/dense/expanded-query.ts';

export interface RetrieverTrainSettings {
  seed: number;
  /** Supervised optimizer steps; 0: derived from `epochs`. */
  steps: number;
  /** Passes over the train queries when `steps` is 0. */
  epochs: number;
  /** Queries per micro-batch: the pool of in-batch negatives. */
  batchSize: number;
  /** Micro-batches per optimizer step (gradient accumulation; each keeps its own in-batch negatives). */
  accumulation: number;
  /** Rows per forward pass with GradCache; 0: the whole micro-batch at once. */
  gradCacheChunk: number;
  lr: number;
  /** Share of the steps spent in linear warmup (then linear decay to 0). */
  warmupRatio: number;
  weightDecay: number;
  /** Global gradient-norm clip; 0: off. */
  maxGradNorm: number;
  /** Eq. 8 normalisation, which also fixes the default temperature and document normalisation. */
  expansionNorm: ExpansionNorm;
  /** InfoNCE τ; null: the normalisation's (0.02 contriever, 1 raw). */
  temperature: number | null;
  /** One BM25 hard negative per query besides the in-batch negatives. */
  hardNegatives: boolean;
  /** BM25 hits per query the hard negative is drawn from. */
  negativeDepth: number;
  /**
   * Tokens a training text is cut to; null: the encoder's own max length. The trained model keeps the
   * encoder's length for encoding (evaluation reads the same text Raw reads).
   */
  maxLength: number | null;
  /** Train-mode dropout in the encoder (seeded per step). */
  dropout: boolean;
  /** Save a checkpoint every N optimizer steps (and at the end); 0: only at the end. */
  checkpointEvery: number;
  /** Contriever-style independent-cropping steps on the corpus before supervised training; 0: none. */
  pretrainSteps: number;
  pretrainLr: number;
  pretrainBatchSize: number;
  pretrainTemperature: number;
  cropRatioMin: number;
  cropRatioMax: number;
  cropDeleteProb: number;
}

export const TRAIN_DEFAULTS: Readonly<RetrieverTrainSettings> = Object.freeze({
  seed: 42,
  steps: 0, // → epochs
  epochs: 3, // reference code: 3 epochs
  batchSize: 64, // reference code: 64 queries per device (in-batch negatives per device)
  accumulation: 1, // reference code: 8 × 2 GPUs; raise it (or use GradCache) for the paper's 1024
  gradCacheChunk: 0, // off: plain backprop; set e.g. 32 to bound activation memory
  lr: 1e-5, // paper / reference code
  warmupRatio: 0.1, // warmup + linear decay (DESIGN.md §1); the reference code's HF Trainer warms up 0 % (pipeline/config-notes.ts)
  weightDecay: 0, // HF TrainingArguments default
  maxGradNorm: 1, // HF TrainingArguments default
  expansionNorm: 'contriever', // the paper's backbone: normalise q, e and d
  temperature: null, // the normalisation's: 0.02 (contriever) / 1 (raw)
  hardNegatives: false, // paper Eq. 9: in-batch negatives; the reference code adds 1 hard negative (group size 2), twice the documents per step
  negativeDepth: 30, // draw the hard negative from BM25's top 30 (minus positives)
  maxLength: null, // the encoder's (reference code: 512 passage tokens); 128 halves a step's cost on CPU
  dropout: true, // as the HF Trainer trains (model.train())
  checkpointEvery: 0,
  pretrainSteps: 0,
  pretrainLr: 1e-4, // small encoders from random init need far more than 1e-5
  pretrainBatchSize: 64,
  pretrainTemperature: 0.05, // Contriever pretraining τ (on normalised vectors here, for a random init)
  cropRatioMin: CROP_DEFAULTS.ratioMin,
  cropRatioMax: CROP_DEFAULTS.ratioMax,
  cropDeleteProb: CROP_DEFAULTS.deleteProb,
});

/** Defaults with `over` merged; throws ExpandrError naming an unknown key or a bad value. */
export function trainSettings(over: Partial<RetrieverTrainSettings> = {}): RetrieverTrainSettings {
  for (const k of Object.keys(over)) {
    if (!(k in TRAIN_DEFAULTS)) throw new ExpandrError(`Unknown training setting "${k}" (known: ${Object.keys(TRAIN_DEFAULTS).join(', ')}).`);
  }
  const s: RetrieverTrainSettings = { ...TRAIN_DEFAULTS, ...over };
  const bad = (key: string, want: string) => new ExpandrError(`Training setting ${key} must be ${want}, got ${JSON.stringify((s as unknown as Record<string, unknown>)[key])}.`);
  const ints: (keyof RetrieverTrainSettings)[] = ['steps', 'batchSize', 'accumulation', 'gradCacheChunk', 'negativeDepth', 'checkpointEvery', 'pretrainSteps', 'pretrainBatchSize'];
  for (const k of ints) if (!Number.isInteger(s[k]) || (s[k] as number) < 0) throw bad(k, 'an integer ≥ 0');
  for (const k of ['batchSize', 'accumulation', 'pretrainBatchSize'] as const) if (s[k] < 1) throw bad(k, 'at least 1');
  if (!(s.epochs > 0)) throw bad('epochs', '> 0');
  if (!(s.lr >= 0) || !(s.pretrainLr >= 0)) throw bad('lr', '≥ 0');
  if (!(s.warmupRatio >= 0 && s.warmupRatio <= 1)) throw bad('warmupRatio', 'in [0, 1]');
  if (!(s.weightDecay >= 0) || !(s.maxGradNorm >= 0)) throw bad('weightDecay/maxGradNorm', '≥ 0');
  if (!EXPANSION_NORMS.includes(s.expansionNorm)) throw bad('expansionNorm', `one of ${EXPANSION_NORMS.join(', ')}`);
  if (s.temperature !== null && !(s.temperature > 0)) throw bad('temperature', '> 0 or null');
  if (s.maxLength !== null && !(Number.isInteger(s.maxLength) && s.maxLength >= 2)) throw bad('maxLength', 'an integer ≥ 2 or null');
  if (!(s.pretrainTemperature > 0)) throw bad('pretrainTemperature', '> 0');
  if (!(s.cropRatioMin > 0 && s.cropRatioMin <= s.cropRatioMax && s.cropRatioMax <= 1)) throw bad('cropRatioMin/Max', '0 < min ≤ max ≤ 1');
  if (!(s.cropDeleteProb >= 0 && s.cropDeleteProb < 1)) throw bad('cropDeleteProb', 'in [0, 1)');
  return s;
}

/** The InfoNCE temperature in effect. */
export function temperatureOf(settings: RetrieverTrainSettings): number {
  return settings.temperature ?? EXPANSION_NORM_SPECS[settings.expansionNorm].temperature;
}

/** Supervised optimizer steps: `steps`, or enough micro-batches for `epochs` passes over `examples`. */
export function supervisedSteps(settings: RetrieverTrainSettings, examples: number): number {
  return settings.steps > 0 ? settings.steps : Math.max(1, Math.ceil((examples * settings.epochs) / (settings.batchSize * settings.accumulation)));
}

/** Settings that must not change between a checkpoint and its resumption (all but checkpointEvery). */
export function resumeMismatch(saved: RetrieverTrainSettings, now: RetrieverTrainSettings): string | null {
  for (const k of Object.keys(TRAIN_DEFAULTS) as (keyof RetrieverTrainSettings)[]) {
    if (k === 'checkpointEvery') continue;
    // A checkpoint written before a setting existed had that setting's default.
    if ((saved[k] === undefined ? TRAIN_DEFAULTS[k] : saved[k]) !== now[k]) return `${k} was ${JSON.stringify(saved[k])}, now ${JSON.stringify(now[k])}`;
  }
  return null;
}

/**
 * The settings a model trained with `expansionNorm` is used with (and exported with): the 'contriever'
 * norm trains cosine scores (q, e and d normalised), so the export gets a Normalize module; 'raw' keeps
 * the encoder's.
 */
export function trainedSettings(settings: EncoderSettings, expansionNorm: ExpansionNorm): EncoderSettings {
  if (!EXPANSION_NORM_SPECS[expansionNorm].normalize) return { ...settings };
  return { ...settings, normalize: true, similarity: 'cosine' };
}
