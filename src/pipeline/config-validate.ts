// The whole experiment config checked before any stage runs: every key at every depth against the
// defaults' shape (retriever.* against TRAIN_DEFAULTS, dpo.* against DPO_DEFAULTS), every value's type
// against its default's, and ranges from one table (CONFIG_RULES). An error names the file, the key path
// and the fix. A key added to EXPERIMENT_DEFAULTS is checked for unknown sub-keys and type at once; give
// it a row in CONFIG_RULES when it has a range.
import { ExpandrError } from '../errors.ts';
import { DPO_DEFAULTS, dpoSettings, type DpoSettings } from '../llm/dpo-settings.ts';
import { EXPANSION_NORMS } from '../retrieval/dense/expanded-query.ts';
import { TRAIN_DEFAULTS, trainSettings, type RetrieverTrainSettings } from '../train/settings.ts';
import { SETTING_NAMES } from './types.ts';

/**
 * What generates the LLM's texts: our tfjs decoder, or llama.cpp (node-llama-cpp in the runner, wllama in the
 * page) on a GGUF file. Log-probs and DPO always run on tfjs; a tuned model reaches llama.cpp as a merged GGUF.
 * (Here, not in config.ts, which imports this file; config.ts re-exports it.)
 */
export const LLM_ENGINES = ['tfjs', 'llama.cpp'] as const;
export type LlmEngine = (typeof LLM_ENGINES)[number];

/** A value check: null when the value is fine, else what it must be ("a number > 0"). */
export type Check = (v: unknown) => string | null;

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isInt = (v: unknown): v is number => Number.isInteger(v);
const num =
  (ok: (x: number) => boolean, want: string): Check =>
  (v) => (isNum(v) && ok(v) ? null : want);
const int =
  (min: number): Check =>
  (v) => (isInt(v) && (v as number) >= min ? null : `an integer ≥ ${min}`);
const oneOf =
  (names: readonly string[]): Check =>
  (v) => (typeof v === 'string' && names.includes(v) ? null : `one of ${names.map((n) => JSON.stringify(n)).join(', ')}`);
const nullOr =
  (c: Check): Check =>
  (v) => (v === null ? null : (c(v) && `null or ${c(v)}`));
const listOf =
  (c: Check, what: string, opts: { unique?: boolean } = {}): Check =>
  (v) => {
    const want = `a non-empty list of ${what}${opts.unique ? ', each once' : ''}`;
    if (!Array.isArray(v) || v.length === 0 || v.some((x) => c(x) !== null)) return want;
    return opts.unique && new Set(v).size !== v.length ? want : null;
  };

export const positive = num((x) => x > 0, 'a number > 0');
const nonNegative = num((x) => x >= 0, 'a number ≥ 0');
const topP = num((x) => x > 0 && x <= 1, 'a number in (0, 1]');
const share = num((x) => x >= 0 && x <= 1, 'a number in [0, 1]');
const dropout = num((x) => x >= 0 && x < 1, 'a number in [0, 1)');
const nonEmpty: Check = (v) => (typeof v === 'string' && v.trim() !== '' ? null : 'a non-empty string');
const seedCheck = int(0);

/** Sampling keys shared by expansion and answer. */
const sampling = (at: string): Record<string, Check> => ({
  [`${at}.temperature`]: positive,
  [`${at}.topP`]: topP,
  [`${at}.maxTokens`]: int(1),
  [`${at}.seed`]: seedCheck,
});

/**
 * Ranges by key path. Keys not listed get the type check only (the default's type). retriever.* and dpo.*
 * are then also run through trainSettings() / dpoSettings(), so the trainers' own checks apply as well.
 */
export const CONFIG_RULES: Readonly<Record<string, Check>> = Object.freeze({
  split: nonEmpty,
  trainSplit: nonEmpty,
  'dev.fraction': nullOr(num((x) => x > 0 && x < 1, 'a number strictly between 0 and 1')),
  'dev.seed': seedCheck,
  'dev.queries': int(0),
  trainQueries: int(0),
  testQueries: int(0),
  seed: seedCheck,
  seeds: listOf(seedCheck, 'integer seeds ≥ 0', { unique: true }),
  rounds: int(1),
  seededSettings: listOf(oneOf(SETTING_NAMES), `setting names (${SETTING_NAMES.join(', ')})`, { unique: true }),
  'encoder.model': nonEmpty,
  'encoder.expansionNorm': oneOf(EXPANSION_NORMS),
  'encoder.batchSize': int(1),
  'encoder.initSteps': nullOr(int(0)),
  'llm.engine': oneOf(LLM_ENGINES),
  ...sampling('expansion'),
  ...sampling('answer'),
  'candidates.temperatures': listOf(positive, 'temperatures > 0'),
  'candidates.perTemperature': int(1),
  'candidates.topP': topP,
  'candidates.maxTokens': int(1),
  'candidates.queries': int(0),
  // cos(d*, e) + cos(y, e) lies in [-2, 2]; a filter outside [0, 2] keeps every query or none.
  'rewards.filter': num((x) => x >= 0 && x <= 2, 'a number in [0, 2]'),
  'lora.r': int(1),
  'lora.alpha': positive,
  'lora.dropout': dropout,
  'lora.targetModules': listOf(nonEmpty, 'module names'),
  settings: listOf(oneOf(SETTING_NAMES), `setting names (${SETTING_NAMES.join(', ')})`, { unique: true }),
  'retriever.lr': positive,
  'retriever.epochs': positive,
  'retriever.steps': int(0),
  'retriever.batchSize': int(1),
  'retriever.maxLength': nullOr(int(2)),
  'retriever.accumulation': int(1),
  'retriever.temperature': nullOr(positive),
  'retriever.warmupRatio': share,
  'retriever.weightDecay': nonNegative,
  'retriever.maxGradNorm': nonNegative,
  'retriever.pretrainLr': positive,
  'dpo.beta': positive,
  'dpo.lr': positive,
  'dpo.epochs': positive,
  'dpo.steps': int(0),
  'dpo.batchSize': int(1),
  'dpo.accumulation': int(1),
  'dpo.warmupRatio': share,
  'dpo.maxGradNorm': nonNegative,
  'dpo.maxCompletionLength': nullOr(int(1)),
});

/** Keys that exist in the trainers' settings but are set elsewhere in the experiment config: path → the fix. */
export const MOVED_KEYS: Readonly<Record<string, string>> = Object.freeze({
  'retriever.seed': 'set "seed" (or "seeds") at the top level: every stage is seeded from it',
  'dpo.seed': 'set "seed" (or "seeds") at the top level: every stage is seeded from it',
  'retriever.expansionNorm': 'set encoder.expansionNorm: one setting drives training, evaluation, rewards and export',
});

/** llama.cpp reads GGUF files only: any other model (a folder, a WebLLM preset) is refused before a stage runs. '' = no LLM. */
function checkEngineModel(llm: { model: string; engine: LlmEngine }, file: string): void {
  if (llm.engine !== 'llama.cpp' || llm.model === '' || /\.gguf$/i.test(llm.model)) return;
  throw new ExpandrError(
    `${file}: "llm.engine" "llama.cpp" reads GGUF files only, but "llm.model" is ${JSON.stringify(llm.model)}. ` +
      `Set llm.model to a .gguf file (e.g. \`expandr fetch-model smollm2-135m-instruct --json\` prints its "file"), or set llm.engine to "tfjs".`,
  );
}

/**
 * Each variant (config.ts VariantConfig) as an object of name, why and the LLM side's settings, checked key by
 * key like the config itself; names non-empty with distinct slugs; dpo through dpoSettings() over the config's.
 */
function checkVariants(config: Record<string, unknown>, defaults: Record<string, unknown>, file: string, walk: (obj: Record<string, unknown>, shape: Record<string, unknown>, prefix: string, rules: string) => void): void {
  const variants = config.variants;
  if (!Array.isArray(variants)) return; // the walk has said so already
  const cand = defaults.candidates as Record<string, unknown>;
  const shape = { name: '', why: '', candidates: { temperatures: cand.temperatures, perTemperature: cand.perTemperature, queries: cand.queries }, dpo: DPO_DEFAULTS, rewards: defaults.rewards };
  const slugs = new Set<string>();
  variants.forEach((v, i) => {
    const at = `variants[${i}]`;
    if (!isObject(v)) throw new ExpandrError(`${file}: "${at}" must be an object like {"name": "16 candidates", "why": "…", "candidates": {"perTemperature": 4}}, got ${JSON.stringify(v)}.`);
    walk(v, shape, `${at}.`, '');
    const slug = typeof v.name === 'string' ? variantSlug(v.name) : '';
    if (!slug) throw new ExpandrError(`${file}: "${at}.name" must be a name with a letter or digit (it names the variant's stages), got ${JSON.stringify(v.name)}.`);
    if (typeof v.why !== 'string' || !v.why.trim()) throw new ExpandrError(`${file}: "${at}.why" must say why the variant is tried, got ${JSON.stringify(v.why)}.`);
    if (slugs.has(slug)) throw new ExpandrError(`${file}: "${at}.name" ${JSON.stringify(v.name)} names the same stages as an earlier variant (${slug}): give it another name.`);
    slugs.add(slug);
    try {
      dpoSettings({ ...(config.dpo as Partial<DpoSettings>), ...(v.dpo as Partial<DpoSettings>) });
    } catch (e) {
      throw new ExpandrError(`${file}: ${at}.dpo: ${(e as Error).message}`);
    }
  });
}

/** The variant's stage slug (config.ts re-exports it): "16 candidates" → "16-candidates". */
export const variantSlug = (name: string): string =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');

/** The shape every key is checked against: the defaults, with the trainers' full settings under retriever and dpo. */
function shapeOf(defaults: Record<string, unknown>): Record<string, unknown> {
  return { ...defaults, retriever: TRAIN_DEFAULTS as RetrieverTrainSettings, dpo: DPO_DEFAULTS as DpoSettings };
}

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** What a value of the default's type is called, or null when `v` has it. */
function typeMismatch(v: unknown, d: unknown): string | null {
  if (d === null) return null; // nullable keys: their rule says what else they take
  if (Array.isArray(d)) return Array.isArray(v) ? null : 'a list';
  if (typeof d === 'number') return isNum(v) ? null : 'a number';
  if (typeof d === 'boolean') return typeof v === 'boolean' ? null : 'true or false';
  if (typeof d === 'string') return typeof v === 'string' ? null : 'a string';
  if (isObject(d)) return isObject(v) ? null : 'an object';
  return null;
}

/**
 * Throws ExpandrError at the first bad key of `config` (a merged config: defaults plus the file's values),
 * naming `file`, the key path and the fix. `defaults` gives the shape (EXPERIMENT_DEFAULTS).
 */
export function validateExperimentConfig(config: Record<string, unknown>, defaults: Record<string, unknown>, file = 'config'): void {
  const fail = (path: string, v: unknown, want: string, hint = ''): never => {
    throw new ExpandrError(`${file}: "${path}" must be ${want}, got ${JSON.stringify(v)}. Set it so in ${file}${hint ? ` (${hint})` : ''}, or remove it for the default.`);
  };
  // `rules`: where the key's range rule sits in CONFIG_RULES (a variant's "dpo.lr" is checked as "dpo.lr").
  const walk = (obj: Record<string, unknown>, shape: Record<string, unknown>, prefix: string, rules = prefix) => {
    for (const [k, v] of Object.entries(obj)) {
      const path = prefix + k;
      if (rules + k in MOVED_KEYS) throw new ExpandrError(`${file}: "${path}" is not set here: ${MOVED_KEYS[rules + k]}.`);
      if (!(k in shape)) throw new ExpandrError(`${file}: unknown setting "${path}" (known: ${Object.keys(shape).join(', ')}). Remove it or correct its name.`);
      const d = shape[k];
      const t = typeMismatch(v, d);
      if (t) fail(path, v, t, `default ${JSON.stringify(d)}`);
      const rule = CONFIG_RULES[rules + k];
      const want = rule?.(v);
      if (want) fail(path, v, want, d === undefined ? '' : `default ${JSON.stringify(d)}`);
      if (isObject(d) && isObject(v)) walk(v, d, `${path}.`, `${rules + k}.`);
    }
  };
  walk(config, shapeOf(defaults), '');
  checkVariants(config, defaults, file, walk);
  if (isObject(config.llm)) checkEngineModel(config.llm as { model: string; engine: LlmEngine }, file);
  // The trainers' own checks (cross-field ones such as cropRatioMin ≤ cropRatioMax) as a backstop.
  const wrap = (at: string, f: () => unknown) => {
    try {
      f();
    } catch (e) {
      throw new ExpandrError(`${file}: ${at}: ${(e as Error).message}`);
    }
  };
  wrap('retriever', () => trainSettings(config.retriever as Partial<RetrieverTrainSettings>));
  wrap('dpo', () => dpoSettings(config.dpo as Partial<DpoSettings>));
}
