// Hugging Face BertModel config.json → a typed, validated BertConfig. Every field the forward pass needs is
// checked here, so a wrong or unsupported model fails at load time with the field named, not deep inside
// a matMul. Field names and defaults follow transformers' BertConfig.
import { ModelFormatError } from '../errors.ts';

export interface BertConfig {
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  /** Only exact (erf) GELU: what BERT, Contriever, MiniLM, bge and e5 use. */
  hiddenAct: 'gelu';
  maxPositions: number;
  typeVocabSize: number;
  layerNormEps: number;
  hiddenDropout: number;
  attentionDropout: number;
  /** Std of the normal used by random initialisation (BertConfig.initializer_range). */
  initializerRange: number;
}

/** transformers' BertConfig defaults for the optional fields (the structural ones have none). */
const DEFAULTS = {
  layer_norm_eps: 1e-12,
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  initializer_range: 0.02,
  type_vocab_size: 2,
} as const;

const FILE = 'config.json';
const SUPPORTED = 'BertModel-architecture encoders (model_type "bert": BERT, Contriever, MiniLM, bge, e5)';

/** Parses config.json text (or an already parsed object). Throws ModelFormatError naming the field. */
export function parseBertConfig(json: string | unknown): BertConfig {
  let raw: unknown = json;
  if (typeof json === 'string') {
    try {
      raw = JSON.parse(json);
    } catch (e) {
      throw new ModelFormatError(FILE, `not valid JSON (${(e as Error).message})`, 'Use the config.json that came with the model.');
    }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ModelFormatError(FILE, 'not a JSON object', 'Use the config.json that came with the model.');
  }
  const c = raw as Record<string, unknown>;

  const modelType = c.model_type;
  if (modelType !== 'bert') {
    throw new ModelFormatError(
      FILE,
      modelType === undefined ? 'missing "model_type"' : `model_type ${JSON.stringify(modelType)} is not supported (architectures: ${JSON.stringify(c.architectures ?? null)})`,
      `Only ${SUPPORTED} are supported; pick one of the presets or a model whose config.json says "model_type": "bert"`,
    );
  }
  if (c.position_embedding_type !== undefined && c.position_embedding_type !== 'absolute') {
    throw new ModelFormatError(FILE, `position_embedding_type ${JSON.stringify(c.position_embedding_type)} is not supported`, 'Only absolute position embeddings are implemented.');
  }
  if (c.hidden_act !== 'gelu') {
    throw new ModelFormatError(FILE, `hidden_act ${JSON.stringify(c.hidden_act)} is not supported`, 'Only "gelu" (exact, erf-based) is implemented, as in BERT and its descendants.');
  }

  const int = (key: string, min = 1, fallback?: number): number => {
    const v = c[key] ?? fallback;
    if (v === undefined) throw new ModelFormatError(FILE, `missing "${key}"`, 'A BertModel config.json must give it; re-download the model files.');
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      throw new ModelFormatError(FILE, `"${key}" must be an integer ≥ ${min}, got ${JSON.stringify(v)}`, 'Fix or re-download config.json.');
    }
    return v;
  };
  const real = (key: keyof typeof DEFAULTS, min: number, max: number): number => {
    const v = c[key] ?? DEFAULTS[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      throw new ModelFormatError(FILE, `"${key}" must be a number in [${min}, ${max}], got ${JSON.stringify(v)}`, 'Fix or re-download config.json.');
    }
    return v;
  };

  const config: BertConfig = {
    vocabSize: int('vocab_size'),
    hiddenSize: int('hidden_size'),
    numLayers: int('num_hidden_layers'),
    numHeads: int('num_attention_heads'),
    intermediateSize: int('intermediate_size'),
    hiddenAct: 'gelu',
    maxPositions: int('max_position_embeddings'),
    typeVocabSize: int('type_vocab_size', 1, DEFAULTS.type_vocab_size),
    layerNormEps: real('layer_norm_eps', 0, 1),
    hiddenDropout: real('hidden_dropout_prob', 0, 0.999),
    attentionDropout: real('attention_probs_dropout_prob', 0, 0.999),
    initializerRange: real('initializer_range', 0, 10),
  };
  if (config.hiddenSize % config.numHeads !== 0) {
    throw new ModelFormatError(FILE, `hidden_size ${config.hiddenSize} is not a multiple of num_attention_heads ${config.numHeads}`, 'Fix or re-download config.json.');
  }
  return config;
}

/** The config.json a BertModel with this config is saved with (for checkpoint export). */
export function bertConfigToHf(config: BertConfig): Record<string, unknown> {
  return {
    architectures: ['BertModel'],
    model_type: 'bert',
    vocab_size: config.vocabSize,
    hidden_size: config.hiddenSize,
    num_hidden_layers: config.numLayers,
    num_attention_heads: config.numHeads,
    intermediate_size: config.intermediateSize,
    hidden_act: config.hiddenAct,
    hidden_dropout_prob: config.hiddenDropout,
    attention_probs_dropout_prob: config.attentionDropout,
    max_position_embeddings: config.maxPositions,
    type_vocab_size: config.typeVocabSize,
    initializer_range: config.initializerRange,
    layer_norm_eps: config.layerNormEps,
    position_embedding_type: 'absolute',
    pad_token_id: 0,
    torch_dtype: 'float32',
  };
}
