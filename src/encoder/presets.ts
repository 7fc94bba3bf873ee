// The encoders the app offers by name, each with how it turns texts into vectors. Sources: each model's
// card and its sentence-transformers files on the Hugging Face Hub; BEIR numbers are in FACTS.md.
// A model's own sentence-transformers files, when present, override its preset (see st-settings.ts).
import type { EncoderSettings } from './types.ts';

export interface EncoderPreset {
  /** Hugging Face model id, also the preset's name. */
  readonly id: string;
  readonly settings: Readonly<EncoderSettings>;
  /** Why these settings (shown in the UI next to the choice). */
  readonly reason: string;
}

/** BERT's position table: 512 tokens including [CLS] and [SEP]. */
const BERT_MAX_LENGTH = 512;

const preset = (id: string, settings: EncoderSettings, reason: string): EncoderPreset =>
  Object.freeze({ id, settings: Object.freeze(settings), reason });

export const ENCODER_PRESETS: readonly EncoderPreset[] = Object.freeze([
  preset(
    'facebook/contriever',
    { pooling: 'mean', normalize: false, queryPrefix: '', docPrefix: '', maxLength: BERT_MAX_LENGTH, similarity: 'dot' },
    "ExpandR's backbone. Contriever (Izacard et al. 2022) averages token states and scores by raw dot product; " +
      'the ExpandR evaluation normalises query and expansion vectors itself (DESIGN.md §1).',
  ),
  preset(
    'facebook/contriever-msmarco',
    { pooling: 'mean', normalize: false, queryPrefix: '', docPrefix: '', maxLength: BERT_MAX_LENGTH, similarity: 'dot' },
    'Contriever fine-tuned on MS MARCO: same architecture, pooling and dot-product scoring as Contriever.',
  ),
  preset(
    'BAAI/bge-small-en-v1.5',
    {
      pooling: 'cls',
      normalize: true,
      queryPrefix: 'Represent this sentence for searching relevant passages: ',
      docPrefix: '',
      maxLength: BERT_MAX_LENGTH,
      similarity: 'cosine',
    },
    'bge uses the [CLS] state, L2-normalised; its model card gives this instruction for short retrieval queries ' +
      'and none for passages.',
  ),
  preset(
    'intfloat/e5-small-v2',
    { pooling: 'mean', normalize: true, queryPrefix: 'query: ', docPrefix: 'passage: ', maxLength: BERT_MAX_LENGTH, similarity: 'cosine' },
    'e5 was trained with "query: " / "passage: " prefixes, average pooling and normalised vectors (model card); ' +
      'without the prefixes quality drops.',
  ),
  preset(
    'sentence-transformers/all-MiniLM-L6-v2',
    { pooling: 'mean', normalize: true, queryPrefix: '', docPrefix: '', maxLength: 256, similarity: 'cosine' },
    'Its sentence-transformers files: Pooling with mean tokens, a Normalize module, max_seq_length 256 ' +
      '(trained on 128-token pairs; longer inputs are truncated).',
  ),
  preset(
    'bert-base-uncased',
    { pooling: 'cls', normalize: false, queryPrefix: '', docPrefix: '', maxLength: BERT_MAX_LENGTH, similarity: 'dot' },
    'Plain pre-trained BERT, not trained for retrieval: a baseline and a starting point for contrastive training. ' +
      '[CLS] pooling as in DPR-style fine-tuning.',
  ),
]);

/**
 * What a model gets when it has neither a preset nor sentence-transformers files: what
 * sentence-transformers builds around a plain Hugging Face model (mean pooling, no Normalize).
 */
export const DEFAULT_ENCODER_SETTINGS: Readonly<EncoderSettings> = Object.freeze({
  pooling: 'mean',
  normalize: false,
  queryPrefix: '',
  docPrefix: '',
  maxLength: BERT_MAX_LENGTH,
  similarity: 'dot',
});

/** The preset with this Hugging Face id; throws listing the known ids when there is none. */
export function getEncoderPreset(id: string): EncoderPreset {
  const p = ENCODER_PRESETS.find((x) => x.id === id);
  if (!p) throw new Error(`Unknown encoder preset "${id}": use one of ${ENCODER_PRESETS.map((x) => x.id).join(', ')}`);
  return p;
}

const SETTING_KEYS: ReadonlySet<string> = new Set(Object.keys(DEFAULT_ENCODER_SETTINGS));

/** base + overrides; throws on a key EncoderSettings does not have (a typo would otherwise be ignored). */
export function mergeSettings(base: Readonly<EncoderSettings>, overrides: Partial<EncoderSettings> | undefined): EncoderSettings {
  const out: EncoderSettings = { ...base };
  for (const [key, value] of Object.entries(overrides ?? {})) {
    if (!SETTING_KEYS.has(key)) throw new Error(`Unknown encoder setting "${key}": use one of ${[...SETTING_KEYS].join(', ')}`);
    if (value !== undefined) (out as unknown as Record<string, unknown>)[key] = value;
  }
  if (!Number.isInteger(out.maxLength) || out.maxLength < 2) throw new RangeError(`maxLength must be an integer ≥ 2, got ${out.maxLength}`);
  return out;
}
