// An encoder as a sentence-transformers folder that Python loads as is (SentenceTransformer(DIR), or
// transformers' BertModel.from_pretrained(DIR)), and back: what train-retriever exports after training
// and init-encoder writes before it (the settings a trained model is used with: src/train/settings.ts).
//
// Layout written (what sentence-transformers 2.x/3.x saves for Transformer → Pooling [→ Normalize]):
//   config.json                          the source model's config (architectures BertModel, float32)
//   model.safetensors                    HF BertModel state-dict names (bertWeightsToHf), F32, {"format":"pt"}
//   tokenizer.json, vocab.txt, …         copied byte for byte from the source model
//   modules.json                         Transformer, Pooling, and Normalize when the encoder normalises
//   1_Pooling/config.json                pooling mode and word_embedding_dimension
//   sentence_bert_config.json            max_seq_length
//   config_sentence_transformers.json    prompts (query / document prefixes), similarity_fn_name
//   training_info.json                   optional: settings and loss curve that produced the weights
// 2_Normalize has no files (as on the Hub: the module has no state), so only modules.json names it.
// Deterministic: the same inputs give the same bytes, for the folder and for the zip.
import { unzipSync, zipSync, type Zippable } from 'fflate';
import { ModelFormatError } from '../errors.ts';
import { readSafetensors, writeSafetensors } from '../model/safetensors.ts';
import { findModelRoot } from '../model/sources.ts';
import type { HfTensor } from './bert-weights.ts';
import { bertWeightsToHf } from './bert.ts';
import type { BertEncoder } from './encoder.ts';
import type { EncoderSettings } from './types.ts';

/** Tokenizer files copied from the source model when present (at least tokenizer.json or vocab.txt). */
export const TOKENIZER_FILE_NAMES = ['tokenizer.json', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json', 'added_tokens.json'] as const;
export const TRAINING_INFO = 'training_info.json';
/** The zip's fixed timestamp (the DOS epoch), so that the same folder always zips to the same bytes. */
const ZIP_MTIME = new Date('1980-01-01T00:00:00Z');

export interface StExportInput {
  /** config.json of the source model (the architecture is unchanged by training). */
  config: Record<string, unknown>;
  /** Every tensor under its Hugging Face BertModel name. */
  weights: ReadonlyMap<string, HfTensor>;
  /** The source model's files (relative path → bytes): the tokenizer files are copied from here. */
  sourceFiles: ReadonlyMap<string, Uint8Array>;
  settings: EncoderSettings;
  /** Written to training_info.json when given (any JSON value). */
  trainingInfo?: unknown;
}

const enc = new TextEncoder();
const jsonFile = (v: unknown) => enc.encode(JSON.stringify(v, null, 2) + '\n');

/** The sentence-transformers folder as relative path → bytes. */
export function exportSentenceTransformers(input: StExportInput): Map<string, Uint8Array> {
  const hidden = input.config.hidden_size;
  if (typeof hidden !== 'number') throw new ModelFormatError('config.json', 'has no numeric hidden_size', 'Export needs the BertModel config the encoder was loaded with');
  const files = new Map<string, Uint8Array>();
  files.set('config.json', jsonFile({ ...input.config, architectures: ['BertModel'], torch_dtype: 'float32' }));
  // transformers refuses safetensors without format metadata ("does not contain the valid metadata").
  files.set('model.safetensors', writeSafetensors(new Map(input.weights), { format: 'pt' }));
  let tokenizer = false;
  for (const name of TOKENIZER_FILE_NAMES) {
    const b = input.sourceFiles.get(name);
    if (b) files.set(name, b);
    if (b && (name === 'tokenizer.json' || name === 'vocab.txt')) tokenizer = true;
  }
  if (!tokenizer) throw new ModelFormatError('tokenizer.json', 'not among the source model files', 'Export needs the files the encoder was loaded from (tokenizer.json or vocab.txt)');

  const s = input.settings;
  const modules = [
    { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
    { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
    ...(s.normalize ? [{ idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' }] : []),
  ];
  files.set('modules.json', jsonFile(modules));
  files.set(
    '1_Pooling/config.json',
    jsonFile({
      word_embedding_dimension: hidden,
      pooling_mode_cls_token: s.pooling === 'cls',
      pooling_mode_mean_tokens: s.pooling === 'mean',
      pooling_mode_max_tokens: false,
      pooling_mode_mean_sqrt_len_tokens: false,
      pooling_mode_weightedmean_tokens: false,
      pooling_mode_lasttoken: false,
      include_prompt: true,
    }),
  );
  files.set('sentence_bert_config.json', jsonFile({ max_seq_length: s.maxLength, do_lower_case: false }));
  const prompts: Record<string, string> = {};
  if (s.queryPrefix) prompts.query = s.queryPrefix;
  if (s.docPrefix) prompts.document = s.docPrefix;
  files.set(
    'config_sentence_transformers.json',
    jsonFile({ prompts, default_prompt_name: null, similarity_fn_name: s.normalize || s.similarity === 'cosine' ? 'cosine' : 'dot' }),
  );
  if (input.trainingInfo !== undefined) files.set(TRAINING_INFO, jsonFile(input.trainingInfo));
  return files;
}

/** A folder as a zip (stored uncompressed: safetensors hardly compresses), optionally under one top folder. */
export function zipFolder(files: ReadonlyMap<string, Uint8Array>, root = ''): Uint8Array {
  const z: Zippable = {};
  const prefix = root ? `${root.replace(/\/+$/, '')}/` : '';
  for (const name of [...files.keys()].sort()) z[prefix + name] = [files.get(name)!, { level: 0, mtime: ZIP_MTIME }];
  return zipSync(z);
}

export interface StImport {
  /** The folder, relative to its root (a zip's top folder removed): hand it to loadBertEncoder. */
  files: Map<string, Uint8Array>;
  config: Record<string, unknown>;
  /** model.safetensors as HF tensors (float32, bit-exact for F32 files). */
  weights: Map<string, HfTensor>;
  /** training_info.json when present. */
  trainingInfo?: unknown;
}

/** Reads an exported folder (path → bytes) or its zip back. Settings come from loadBertEncoder / st-settings. */
export function importSentenceTransformers(source: Uint8Array | ReadonlyMap<string, Uint8Array>): StImport {
  let all: Map<string, Uint8Array>;
  if (source instanceof Uint8Array) {
    try {
      all = new Map(Object.entries(unzipSync(source)).filter(([name]) => !name.endsWith('/')));
    } catch (e) {
      throw new ModelFormatError('checkpoint zip', `cannot be unzipped (${(e as Error).message})`, 'Use the zip the app exported, or the folder');
    }
  } else all = new Map(source);
  const root = findModelRoot([...all.keys()]);
  const prefix = root ? `${root}/` : '';
  const files = new Map([...all].filter(([n]) => n.startsWith(prefix)).map(([n, b]) => [n.slice(prefix.length), b]));
  const text = (name: string) => {
    const b = files.get(name);
    if (!b) throw new ModelFormatError(name, 'missing from the checkpoint', 'Export the checkpoint again');
    return new TextDecoder().decode(b);
  };
  const config = JSON.parse(text('config.json')) as Record<string, unknown>;
  const st = readSafetensors(files.get('model.safetensors') ?? new Uint8Array(0), 'model.safetensors');
  const weights = new Map<string, HfTensor>();
  for (const [name, info] of st.tensors) weights.set(name, { shape: [...info.shape], data: st.getFloat32(name) });
  const info = files.has(TRAINING_INFO) ? JSON.parse(text(TRAINING_INFO)) : undefined;
  return { files, config, weights, ...(info !== undefined ? { trainingInfo: info } : {}) };
}

/** The BERT encoder's current weights and config as a sentence-transformers folder (settings: the encoder's unless given). */
export async function exportBertEncoder(
  encoder: BertEncoder,
  sourceFiles: ReadonlyMap<string, Uint8Array>,
  opts: { settings?: EncoderSettings; trainingInfo?: unknown } = {},
): Promise<Map<string, Uint8Array>> {
  return exportSentenceTransformers({
    config: encoder.configJson,
    weights: await bertWeightsToHf(encoder.model),
    sourceFiles,
    settings: opts.settings ?? encoder.settings,
    trainingInfo: opts.trainingInfo,
  });
}
