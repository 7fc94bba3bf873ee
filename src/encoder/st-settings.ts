// Encoder settings from a sentence-transformers folder: modules.json (which modules, in order),
// the Pooling module's config.json, a Normalize module, sentence_bert_config.json (max_seq_length) and
// config_sentence_transformers.json (prompts). These override a preset: they are what the model was saved with.
import { ModelFormatError } from '../errors.ts';
import type { ReadText } from './files.ts';
import type { EncoderSettings, Pooling } from './types.ts';


interface StModule {
  path?: string;
  type?: string;
}

/** Settings the sentence-transformers files state; empty when the folder has none of them. */
export function sentenceTransformersSettings(read: ReadText): Partial<EncoderSettings> {
  const out: Partial<EncoderSettings> = {};
  const modulesText = read('modules.json');
  if (modulesText !== undefined) {
    const modules = parseJson<StModule[]>('modules.json', modulesText);
    if (!Array.isArray(modules)) throw new ModelFormatError('modules.json', 'not a JSON array of modules', 'Use the modules.json sentence-transformers wrote.');
    const kind = (m: StModule) => (m.type ?? '').split('.').pop() ?? '';
    for (const m of modules) {
      const k = kind(m);
      if (k === 'Transformer' || k === 'Pooling' || k === 'Normalize') continue;
      throw new ModelFormatError('modules.json', `module "${m.type}" is not supported`, 'Only Transformer → Pooling (→ Normalize) pipelines are implemented; a Dense or other module would change the embeddings');
    }
    // A sentence-transformers model normalises exactly when it has a Normalize module.
    out.normalize = modules.some((m) => kind(m) === 'Normalize');
    const poolingModule = modules.find((m) => kind(m) === 'Pooling');
    if (poolingModule) {
      const name = `${poolingModule.path ? `${poolingModule.path.replace(/\/$/, '')}/` : ''}config.json`;
      const text = read(name);
      if (text === undefined) throw new ModelFormatError(name, 'missing (modules.json lists a Pooling module here)', 'Include the pooling folder when copying the model');
      out.pooling = poolingFromConfig(name, parseJson<Record<string, unknown>>(name, text));
    }
  }
  const sbert = read('sentence_bert_config.json');
  if (sbert !== undefined) {
    const maxSeq = parseJson<Record<string, unknown>>('sentence_bert_config.json', sbert).max_seq_length;
    if (maxSeq !== undefined && maxSeq !== null) {
      if (typeof maxSeq !== 'number' || !Number.isInteger(maxSeq) || maxSeq < 2) {
        throw new ModelFormatError('sentence_bert_config.json', `max_seq_length must be an integer ≥ 2, got ${JSON.stringify(maxSeq)}`, 'Fix the file or remove the field');
      }
      out.maxLength = maxSeq;
    }
  }
  const stConfig = read('config_sentence_transformers.json');
  if (stConfig !== undefined) {
    const prompts = parseJson<Record<string, unknown>>('config_sentence_transformers.json', stConfig).prompts;
    if (prompts && typeof prompts === 'object') {
      const p = prompts as Record<string, unknown>;
      if (typeof p.query === 'string') out.queryPrefix = p.query;
      const doc = p.document ?? p.passage ?? p.doc;
      if (typeof doc === 'string') out.docPrefix = doc;
    }
  }
  if (out.normalize !== undefined) out.similarity = out.normalize ? 'cosine' : 'dot';
  return out;
}

/** The pooling a sentence-transformers Pooling config selects (boolean flags, or the newer pooling_mode). */
function poolingFromConfig(file: string, c: Record<string, unknown>): Pooling {
  const modes: string[] = [];
  if (typeof c.pooling_mode === 'string') modes.push(c.pooling_mode);
  const flags: Record<string, string> = {
    pooling_mode_cls_token: 'cls',
    pooling_mode_mean_tokens: 'mean',
    pooling_mode_max_tokens: 'max',
    pooling_mode_mean_sqrt_len_tokens: 'mean_sqrt_len_tokens',
    pooling_mode_weightedmean_tokens: 'weightedmean',
    pooling_mode_lasttoken: 'lasttoken',
  };
  for (const [flag, mode] of Object.entries(flags)) if (c[flag] === true && !modes.includes(mode)) modes.push(mode);
  if (modes.length !== 1 || (modes[0] !== 'cls' && modes[0] !== 'mean')) {
    throw new ModelFormatError(file, `pooling ${modes.length ? modes.join(' + ') : 'not set'} is not supported`, 'Only one of CLS or mean pooling is implemented');
  }
  return modes[0] as Pooling;
}

function parseJson<T>(file: string, text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new ModelFormatError(file, `not valid JSON (${(e as Error).message})`, 'Re-download or re-export the model folder');
  }
}
