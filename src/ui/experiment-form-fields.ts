// Every setting of the experiment config (src/pipeline/config.ts, with the trainers' settings under
// retriever.* and dpo.*) as one form field: its label, its group in the method, the input it takes and
// where its default comes from. The defaults themselves are read from the config (config-notes.ts
// defaultAt); config-notes.ts DEFAULT_NOTES gives the reason for each default that differs from the paper,
// and `source` here says where the others come from. A test checks that every config key has a field.
import { SETTING_NAMES } from '../pipeline/types.ts';
import { EXPANSION_NORMS } from '../retrieval/dense/expanded-query.ts';
import { LLM_ENGINES } from '../pipeline/config-validate.ts';

export type GroupId = 'data' | 'expansion' | 'candidates' | 'rewards' | 'dpo' | 'retriever' | 'rounds' | 'seeds' | 'dev' | 'settings';

export const GROUPS: readonly { id: GroupId; title: string; blurb: string }[] = [
  { id: 'data', title: 'Data', blurb: 'Which queries are used. The datasets, the encoder and the LLM are the ones chosen above.' },
  { id: 'settings', title: 'Settings to run', blurb: 'The rows of Tables 2–3; the ablations switch one part of the method off.' },
  { id: 'expansion', title: 'Expansion (Q2D)', blurb: 'The LLM writes a passage for each query (paper §3.1, Eq. 8).' },
  { id: 'candidates', title: 'Candidates and answers', blurb: 'Sampled expansions of each train query, and the Q2A answer y from (q, d*) (§3.2).' },
  { id: 'rewards', title: 'Rewards', blurb: 'Eqs. 11–14: the retriever ranks each candidate; the best and worst make a DPO pair.' },
  { id: 'dpo', title: 'DPO and LoRA', blurb: 'The LLM trained on the preference pairs (Eq. 17), through a LoRA adapter.' },
  { id: 'retriever', title: 'Retriever (encoder, InfoNCE)', blurb: 'The encoder trained on expanded train queries with in-batch negatives (Eq. 9).' },
  { id: 'rounds', title: 'Joint loop', blurb: 'Retriever, then LLM, then retriever again: the paper runs one round.' },
  { id: 'seeds', title: 'Seeds', blurb: 'Every stage is seeded; several seeds give mean ± sd for the trained rows, each seed sampling its own evaluation expansions (name Raw+expansion among the rows run per seed to average its sampling too).' },
  { id: 'dev', title: 'Dev split', blurb: 'Cut from the train split: the numbers choices may be made on (test is reported).' },
];

export type FieldKind =
  | 'int'
  | 'number'
  | 'bool'
  | 'text'
  | 'choice'
  /** A comma-separated list of numbers. */
  | 'numbers'
  /** A comma-separated list of names. */
  | 'texts'
  /** The nine settings as checkboxes. */
  | 'settings';

export interface FormField {
  /** Dotted key path in the config ('dpo.steps'); the control's test id is cfg-<path>. */
  path: string;
  label: string;
  group: GroupId;
  kind: FieldKind;
  /** Number inputs: the browser's own bounds (the config's check, config-validate.ts, is the rule). */
  min?: number;
  max?: number;
  step?: number | 'any';
  choices?: readonly string[];
  /** An empty input means null (written only when the default is not null): what null stands for. */
  nullMeans?: string;
  /** The key is written only when set; an empty input leaves it to the config (what it then is). */
  unsetMeans?: string;
  /** Where the default comes from (paper section, reference code, library default) when config-notes.ts has no note. */
  source: string;
}

const REF = 'reference code';
const HF = 'HF TrainingArguments default, kept by the reference code';

const f = (path: string, label: string, group: GroupId, kind: FieldKind, source: string, extra: Partial<FormField> = {}): FormField => ({ path, label, group, kind, source, ...extra });
const int = (min: number, max?: number): Partial<FormField> => ({ min, max, step: 1 });
const real = (min?: number, max?: number): Partial<FormField> => ({ min, max, step: 'any' });

export const FORM_FIELDS: readonly FormField[] = [
  // Data
  f('trainQueries', 'Train queries used', 'data', 'int', 'all (0); a small number for a quick look', int(0)),
  f('testQueries', 'Test queries evaluated', 'data', 'int', 'all (0): BEIR evaluates every test query', int(0)),
  f('split', 'Test split', 'data', 'text', 'paper Tables 2–3: BEIR test splits'),
  f('trainSplit', 'Train split', 'data', 'text', 'the dataset’s train qrels (dev is cut from them)'),
  // Settings to run
  f('settings', 'Rows of the table', 'settings', 'settings', 'all nine: paper Tables 2–3'),
  // Expansion
  f('llm.engine', 'Generation engine', 'expansion', 'choice', 'tfjs', { choices: LLM_ENGINES }),
  f('llm.chat', 'Chat template', 'expansion', 'bool', 'the model’s own: on when its tokenizer has a chat template', { unsetMeans: 'the model’s own' }),
  f('expansion.temperature', 'Temperature', 'expansion', 'number', REF, real(0)),
  f('expansion.topP', 'Top-p', 'expansion', 'number', REF, real(0, 1)),
  f('expansion.maxTokens', 'Max new tokens', 'expansion', 'int', REF, int(1)),
  f('expansion.seed', 'Sampling seed', 'expansion', 'int', 'fixed, so a run repeats', int(0)),
  // Candidates and answers
  f('candidates.temperatures', 'Temperatures', 'candidates', 'numbers', 'paper §4.1: {0.8, 0.9, 1.0, 1.1}'),
  f('candidates.perTemperature', 'Samples per temperature', 'candidates', 'int', 'paper §4.1: 8 per temperature, 32 candidates', int(1)),
  f('candidates.topP', 'Top-p', 'candidates', 'number', REF, real(0, 1)),
  f('candidates.queries', 'Train queries with candidates (0: all)', 'candidates', 'int', 'paper: every train query; fewer bound the LLM side’s time', int(0)),
  f('candidates.maxTokens', 'Max new tokens', 'candidates', 'int', REF, int(1)),
  f('answer.temperature', 'Answer temperature', 'candidates', 'number', REF, real(0)),
  f('answer.topP', 'Answer top-p', 'candidates', 'number', REF, real(0, 1)),
  f('answer.maxTokens', 'Answer max new tokens', 'candidates', 'int', REF, int(1)),
  f('answer.seed', 'Answer seed', 'candidates', 'int', 'fixed, so a run repeats', int(0)),
  // Rewards
  f('rewards.retrieverReward', 'Retriever reward 1/rank(d_exp | d*)', 'rewards', 'bool', 'paper Eq. 13–14 (off: the “w/o retriever reward” row)'),
  f('rewards.selfReward', 'Self-reward 1/rank(d_exp | y)', 'rewards', 'bool', 'paper Eq. 12, 14 (off: the “w/o self-reward” row)'),
  f('rewards.filter', 'Skip a query below', 'rewards', 'number', REF + ': a query whose best cos(d*, e) + cos(y, e) is below 0.6 gives no pair', real(0, 2)),
  // DPO
  f('dpo.beta', 'DPO β', 'dpo', 'number', 'paper §3.3 Eq. 17 / ' + REF, real(0)),
  f('dpo.lr', 'Learning rate', 'dpo', 'number', REF, real(0)),
  f('dpo.steps', 'Steps (0: from epochs)', 'dpo', 'int', 'derived from epochs', int(0)),
  f('dpo.epochs', 'Epochs', 'dpo', 'number', REF, real(0)),
  f('dpo.batchSize', 'Pairs per micro-batch', 'dpo', 'int', REF + ' (per device)', int(1)),
  f('dpo.accumulation', 'Gradient accumulation', 'dpo', 'int', REF, int(1)),
  f('dpo.warmupRatio', 'Warmup share', 'dpo', 'number', HF, real(0, 1)),
  f('dpo.weightDecay', 'Weight decay', 'dpo', 'number', HF, real(0)),
  f('dpo.maxGradNorm', 'Gradient clip (0: off)', 'dpo', 'number', REF + ' max_grad_norm', real(0)),
  f('dpo.maxLength', 'Max tokens per row', 'dpo', 'int', REF + ' (TRL max_length)', int(1)),
  f('dpo.maxPromptLength', 'Max prompt tokens', 'dpo', 'int', REF + ' (TRL max_prompt_length)', int(1)),
  f('dpo.maxCompletionLength', 'Max completion tokens', 'dpo', 'int', 'TRL default: no separate limit', { ...int(1), nullMeans: 'no separate limit' }),
  f('dpo.disableDropout', 'Dropout off in training', 'dpo', 'bool', 'TRL DPOConfig default (the LoRA dropout is in the config but off)'),
  f('dpo.vocabChunk', 'Log-softmax vocabulary slice', 'dpo', 'int', 'memory, not the result: 8192 × 1,224 tokens × 4 B = 40 MB per slice', int(1)),
  f('dpo.checkpointEvery', 'Checkpoint every N steps (0: at the end)', 'dpo', 'int', 'resuming after a closed tab', int(0)),
  f('lora.r', 'LoRA rank r', 'dpo', 'int', REF + ' (PEFT LoraConfig)', int(1)),
  f('lora.alpha', 'LoRA α', 'dpo', 'number', REF, real(0)),
  f('lora.dropout', 'LoRA dropout', 'dpo', 'number', REF, real(0, 1)),
  f('lora.targetModules', 'LoRA target modules', 'dpo', 'texts', REF),
  // Retriever
  f('encoder.expansionNorm', 'Eq. 8 normalisation', 'retriever', 'choice', 'paper Eq. 8 with Contriever: q, e and d normalised', { choices: EXPANSION_NORMS }),
  f('encoder.batchSize', 'Encoding batch size', 'retriever', 'int', 'memory, not the result', int(1)),
  f('encoder.initSteps', 'Build steps when the encoder folder is missing (runner only)', 'retriever', 'int', 'the runner builds no encoder unless asked; the page uses the loaded one', { ...int(0), nullMeans: 'the folder must exist' }),
  f('retriever.lr', 'Learning rate', 'retriever', 'number', 'paper §4.1 / ' + REF, real(0)),
  f('retriever.steps', 'Steps (0: from epochs)', 'retriever', 'int', 'derived from epochs', int(0)),
  f('retriever.epochs', 'Epochs', 'retriever', 'number', REF, real(0)),
  f('retriever.batchSize', 'Queries per micro-batch', 'retriever', 'int', REF + ': 64 per device (the in-batch negatives)', int(1)),
  f('retriever.maxLength', 'Training text tokens', 'retriever', 'int', 'the encoder’s own (reference code: 512 passage tokens)', { ...int(2), nullMeans: 'the encoder’s own length' }),
  f('retriever.accumulation', 'Gradient accumulation', 'retriever', 'int', REF, int(1)),
  f('retriever.gradCacheChunk', 'GradCache chunk (0: off)', 'retriever', 'int', 'memory, not the result: bounds activations', int(0)),
  f('retriever.temperature', 'InfoNCE τ', 'retriever', 'number', 'the normalisation’s: 0.02 (contriever) / 1 (raw)', { ...real(0), nullMeans: 'the normalisation’s τ' }),
  f('retriever.hardNegatives', 'One BM25 hard negative per query', 'retriever', 'bool', 'paper Eq. 9: in-batch negatives only'),
  f('retriever.negativeDepth', 'Hard negative drawn from BM25 top', 'retriever', 'int', 'BM25 top 30 minus the positives', int(1)),
  f('retriever.warmupRatio', 'Warmup share', 'retriever', 'number', 'DESIGN.md §1', real(0, 1)),
  f('retriever.weightDecay', 'Weight decay', 'retriever', 'number', HF, real(0)),
  f('retriever.maxGradNorm', 'Gradient clip (0: off)', 'retriever', 'number', HF, real(0)),
  f('retriever.dropout', 'Dropout in training', 'retriever', 'bool', 'as the HF Trainer trains (model.train())'),
  f('retriever.checkpointEvery', 'Checkpoint every N steps (0: at the end)', 'retriever', 'int', 'resuming after a closed tab', int(0)),
  f('retriever.pretrainSteps', 'Cropping pretraining steps', 'retriever', 'int', 'none: the paper starts from pretrained Contriever', int(0)),
  f('retriever.pretrainLr', 'Pretraining learning rate', 'retriever', 'number', 'small encoders from random init need far more than 1e-5', real(0)),
  f('retriever.pretrainBatchSize', 'Pretraining batch size', 'retriever', 'int', 'Contriever-style cropping', int(1)),
  f('retriever.pretrainTemperature', 'Pretraining τ', 'retriever', 'number', 'Contriever pretraining τ', real(0)),
  f('retriever.cropRatioMin', 'Crop ratio min', 'retriever', 'number', 'Contriever --ratio_min', real(0, 1)),
  f('retriever.cropRatioMax', 'Crop ratio max', 'retriever', 'number', 'Contriever --ratio_max', real(0, 1)),
  f('retriever.cropDeleteProb', 'Crop word deletion', 'retriever', 'number', 'Contriever --prob_augmentation', real(0, 1)),
  // Joint loop
  f('rounds', 'Alternation rounds', 'rounds', 'int', 'paper: one round', int(1)),
  // Seeds
  f('seed', 'Seed', 'seeds', 'int', 'every stage is seeded from it', int(0)),
  f('seeds', 'Seeds of the trained rows', 'seeds', 'numbers', 'one run with the seed above', { unsetMeans: 'one run, with the seed above' }),
  f('seededSettings', 'Rows run once per seed', 'seeds', 'settings', 'every trained row; the others run with the first seed only'),
  // Dev split
  f('dev.fraction', 'Dev share of the train split', 'dev', 'number', 'the dataset’s own dev split, else 0.2', { ...real(0, 1), nullMeans: 'the dataset’s dev split, else 0.2' }),
  f('dev.seed', 'Dev cut seed', 'dev', 'int', 'src/data/dev-split.ts', int(0)),
  f('dev.queries', 'Dev queries evaluated (0: all)', 'dev', 'int', 'all', int(0)),
];

/** Keys the page sets itself from its choices (dataset pickers, encoder and LLM): not form fields. */
export const PAGE_SET_KEYS: readonly string[] = ['data', 'trainData', 'encoder.model', 'llm.model'];

/** Keys written in the config's JSON text only (a list of objects: config.ts VariantConfig); the form keeps them as they are. */
export const TEXT_ONLY_KEYS: readonly string[] = ['variants'];

/** The settings checkboxes, in table order. */
export const SETTING_CHOICES = SETTING_NAMES;

export const FIELD_BY_PATH: ReadonlyMap<string, FormField> = new Map(FORM_FIELDS.map((x) => [x.path, x]));
