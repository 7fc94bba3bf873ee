// DPO's settings and their defaults, with the reason for each (reference code: NEUIR/ExpandR's DPO
// script with TRL; paper §3.3). Kept apart from the loss (dpo.ts) so that code that only reads or validates
// settings (config checks, the page's results notes) does not load tfjs.

/** Vocabulary slice of the chunked log-softmax (logprobs.ts): 8192 × 1,224 tokens × 4 B = 40 MB per slice, small next to a 0.5B model, few enough passes for speed. */
export const DEFAULT_VOCAB_CHUNK = 8192;

export interface DpoLengths {
  /** Tokens of prompt + completion per row (TRL max_length; reference code 612). */
  maxLength: number;
  /** Prompt tokens kept, from the end (TRL max_prompt_length; reference code 100). */
  maxPromptLength: number;
  /** Completion tokens kept, from the start; null = no separate limit (TRL's default). */
  maxCompletionLength: number | null;
}

export const DPO_LENGTH_DEFAULTS: Readonly<DpoLengths> = Object.freeze({ maxLength: 612, maxPromptLength: 100, maxCompletionLength: null });

export interface DpoSettings extends DpoLengths {
  /** DPO β (Eq. 17). */
  beta: number;
  /** Peak AdamW learning rate. */
  lr: number;
  /** Pairs per micro-batch (each pair is two rows: chosen and rejected). */
  batchSize: number;
  /** Micro-batches per optimizer step. */
  accumulation: number;
  /** Optimizer steps; 0 = `epochs` passes over the pairs. */
  steps: number;
  epochs: number;
  /** Linear warmup share of the steps, then linear decay to 0 (HF Trainer's default schedule). */
  warmupRatio: number;
  weightDecay: number;
  /** Gradient-norm clip, 0 = off. */
  maxGradNorm: number;
  /** Seed of the pair order and of the dropout masks (LoRA's init has its own, in LoraSettings). */
  seed: number;
  /** Vocabulary slice of the chunked log-softmax. */
  vocabChunk: number;
  /** Save a checkpoint every N steps (and at the end when a sink is given); 0 = only at the end. */
  checkpointEvery: number;
  /** Train with every dropout off, LoRA's included (TRL's disable_dropout). */
  disableDropout: boolean;
}

export const DPO_DEFAULTS: Readonly<DpoSettings> = Object.freeze({
  beta: 0.1, // Eq. 17, paper §3.3 / reference code
  lr: 2e-5, // reference code
  batchSize: 2, // reference code (per device)
  accumulation: 8, // reference code
  steps: 0,
  epochs: 2, // reference code
  warmupRatio: 0, // HF TrainingArguments default, kept by the reference code
  weightDecay: 0, // ditto
  maxGradNorm: 10, // reference code's max_grad_norm
  seed: 0,
  vocabChunk: DEFAULT_VOCAB_CHUNK,
  checkpointEvery: 0,
  // TRL's DPOConfig default: the reference code's LoRA dropout 0.1 is in the config but off in training.
  disableDropout: true,
  ...DPO_LENGTH_DEFAULTS, // max_length 612, max_prompt_length 100 (reference code)
});

/** Defaults merged with overrides; throws on an unknown key or a value out of range. */
export function dpoSettings(over: Partial<DpoSettings> = {}): DpoSettings {
  for (const k of Object.keys(over)) if (!(k in DPO_DEFAULTS)) throw new RangeError(`Unknown DPO setting "${k}" (known: ${Object.keys(DPO_DEFAULTS).join(', ')})`);
  const s: DpoSettings = { ...DPO_DEFAULTS, ...over };
  const positiveInt = ['batchSize', 'accumulation', 'maxLength', 'maxPromptLength', 'vocabChunk'] as const;
  for (const k of positiveInt) if (!(Number.isInteger(s[k]) && s[k] > 0)) throw new RangeError(`DPO ${k} must be a positive integer, got ${s[k]}`);
  if (!(Number.isInteger(s.steps) && s.steps >= 0)) throw new RangeError(`DPO steps must be an integer ≥ 0, got ${s.steps}`);
  if (!(s.beta > 0 && s.lr >= 0 && s.epochs > 0 && s.maxGradNorm >= 0 && s.weightDecay >= 0)) throw new RangeError('DPO beta and epochs must be positive; lr, maxGradNorm, weightDecay ≥ 0');
  if (!(s.warmupRatio >= 0 && s.warmupRatio <= 1)) throw new RangeError(`DPO warmupRatio must be in [0, 1], got ${s.warmupRatio}`);
  if (s.maxCompletionLength !== null && !(Number.isInteger(s.maxCompletionLength) && s.maxCompletionLength > 0)) throw new RangeError('DPO maxCompletionLength must be a positive integer or null');
  return s;
}

/** Optimizer steps of a run: `steps`, or ⌈epochs · pairs / (batch · accumulation)⌉. */
export function dpoTotalSteps(settings: DpoSettings, pairs: number): number {
  if (settings.steps > 0) return settings.steps;
  return Math.max(1, Math.ceil((settings.epochs * pairs) / (settings.batchSize * settings.accumulation)));
}
