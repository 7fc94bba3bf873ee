// WordPiece tokenisation through transformers.js, from the model's tokenizer.json or, for older models,
// vocab.txt (turned into the tokenizer.json that transformers' BertConverter would write). Truncation and
// padding follow Python (tokenizers / sentence-transformers): a long text keeps [CLS], its first
// maxLength − 2 tokens and the closing [SEP] — transformers.js itself would cut the final ids (FACTS.md).
import { PreTrainedTokenizer, env } from '@huggingface/transformers';
import { ModelFormatError } from '../errors.ts';
import type { ReadText } from './files.ts';
import type { TokenizedBatch } from './types.ts';

// Everything comes from bytes the app already holds: never let transformers.js fetch from the Hub.
env.allowRemoteModels = false;


const BERT_SPECIALS = { unk_token: '[UNK]', sep_token: '[SEP]', pad_token: '[PAD]', cls_token: '[CLS]', mask_token: '[MASK]' } as const;

export class WordPieceTokenizer {
  /** Ids the post-processor puts before / after the text ([CLS] / [SEP] for BERT). */
  readonly prefixIds: number[];
  readonly suffixIds: number[];
  readonly padId: number;
  readonly vocabSize: number;
  readonly #tok: PreTrainedTokenizer;

  constructor(tokenizerJson: Record<string, unknown>, tokenizerConfig: Record<string, unknown>) {
    try {
      this.#tok = new PreTrainedTokenizer(tokenizerJson, tokenizerConfig);
    } catch (e) {
      throw new ModelFormatError('tokenizer.json', `transformers.js cannot build a tokenizer from it (${(e as Error).message})`, 'Use the tokenizer.json saved with the model');
    }
    this.vocabSize = this.#tok.get_vocab().size;
    // Where the template puts the text: compare one encoding with and without special tokens.
    const probe = 'a';
    const content = this.contentIds(probe);
    const full = this.#tok.encode(probe, { add_special_tokens: true });
    const at = findSubarray(full, content);
    if (at < 0 || content.length === 0) {
      throw new ModelFormatError('tokenizer.json', 'its post-processor does not keep the text contiguous', 'Only BERT-style [CLS] text [SEP] templates are supported');
    }
    this.prefixIds = full.slice(0, at);
    this.suffixIds = full.slice(at + content.length);
    const pad = this.#tok.pad_token_id;
    this.padId = typeof pad === 'number' && pad >= 0 ? pad : 0;
  }

  /** Token ids of the text alone (no special tokens, no truncation). */
  contentIds(text: string): number[] {
    return this.#tok.encode(text, { add_special_tokens: false });
  }

  /** Ids with special tokens, truncated as Python does: prefix + content[: maxLength − specials] + suffix. */
  encode(text: string, maxLength: number): number[] {
    return this.withSpecials(this.contentIds(text), maxLength);
  }

  /** Adds the special tokens around content ids, truncating the content so the whole fits in maxLength. */
  withSpecials(content: number[], maxLength: number): number[] {
    const room = maxLength - this.prefixIds.length - this.suffixIds.length;
    if (room < 0) throw new RangeError(`maxLength ${maxLength} leaves no room for the ${this.prefixIds.length + this.suffixIds.length} special tokens`);
    return [...this.prefixIds, ...(content.length > room ? content.slice(0, room) : content), ...this.suffixIds];
  }

  /** Pads id lists (already with special tokens) to the longest; token_type_ids are all 0 (one segment). */
  pad(rows: number[][]): TokenizedBatch {
    const batch = rows.length;
    const seqLen = rows.reduce((m, r) => Math.max(m, r.length), 0);
    const inputIds = new Int32Array(batch * seqLen).fill(this.padId);
    const attentionMask = new Int32Array(batch * seqLen);
    rows.forEach((r, i) => {
      inputIds.set(r, i * seqLen);
      attentionMask.fill(1, i * seqLen, i * seqLen + r.length);
    });
    return { batch, seqLen, inputIds, attentionMask, tokenTypeIds: new Int32Array(batch * seqLen) };
  }

  /** Tokenises, truncates and pads a batch of texts. */
  tokenize(texts: string[], maxLength: number): TokenizedBatch {
    return this.pad(texts.map((t) => this.encode(t, maxLength)));
  }

  /** The token strings for ids (for display and tests). */
  idsToTokens(ids: number[]): string[] {
    const inverse = new Map<number, string>();
    for (const [t, id] of this.#tok.get_vocab()) inverse.set(id, t);
    return ids.map((id) => inverse.get(id) ?? `<${id}>`);
  }
}

/**
 * Builds the tokenizer from a model folder: tokenizer.json (+ tokenizer_config.json, special_tokens_map.json),
 * else vocab.txt (+ tokenizer_config.json for do_lower_case etc.).
 */
export function loadTokenizer(read: ReadText): WordPieceTokenizer {
  const config = { ...BERT_SPECIALS, ...parseObject(read, 'special_tokens_map.json'), ...parseObject(read, 'tokenizer_config.json') };
  const json = parseObject(read, 'tokenizer.json');
  if (json) return new WordPieceTokenizer(json, config);
  const vocab = read('vocab.txt');
  if (vocab === undefined) {
    throw new ModelFormatError('tokenizer.json', 'missing, and there is no vocab.txt either', 'Include the tokenizer files (tokenizer.json or vocab.txt) with the model');
  }
  return new WordPieceTokenizer(tokenizerJsonFromVocab(vocab, config), config);
}

/**
 * The tokenizer.json transformers' BertConverter (convert_slow_tokenizer.py) makes from a BertTokenizer:
 * BertNormalizer, BertPreTokenizer, WordPiece over vocab.txt, "[CLS] $A [SEP]" template.
 */
export function tokenizerJsonFromVocab(vocabText: string, config: Record<string, unknown>): Record<string, unknown> {
  const lines = vocabText.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const vocab: Record<string, number> = {};
  lines.forEach((t, i) => {
    vocab[t] = i; // as Python's load_vocab: a duplicate line (none in real vocabularies) keeps the last index
  });
  const token = (key: string): string => {
    const v = config[key];
    const s = typeof v === 'string' ? v : v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string' ? (v as { content: string }).content : undefined;
    return s ?? BERT_SPECIALS[key as keyof typeof BERT_SPECIALS];
  };
  const id = (t: string): number => {
    const i = vocab[t];
    if (i === undefined) throw new ModelFormatError('vocab.txt', `special token ${t} is not in the vocabulary`, 'Use the vocab.txt saved with the model');
    return i;
  };
  const cls = token('cls_token');
  const sep = token('sep_token');
  const specials = ['pad_token', 'unk_token', 'cls_token', 'sep_token', 'mask_token'].map(token).filter((t) => t in vocab);
  const flag = (key: string, fallback: boolean | null) => (typeof config[key] === 'boolean' ? config[key] : fallback);
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials
      .map((t) => ({ id: vocab[t], content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }))
      .sort((a, b) => a.id - b.id),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: flag('tokenize_chinese_chars', true),
      strip_accents: flag('strip_accents', null),
      lowercase: flag('do_lower_case', true),
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: cls, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: sep, type_id: 0 } }],
      pair: [
        { SpecialToken: { id: cls, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: sep, type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: sep, type_id: 1 } },
      ],
      special_tokens: {
        [cls]: { id: cls, ids: [id(cls)], tokens: [cls] },
        [sep]: { id: sep, ids: [id(sep)], tokens: [sep] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: token('unk_token'), continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
}

function parseObject(read: ReadText, file: string): Record<string, unknown> | undefined {
  const text = read(file);
  if (text === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ModelFormatError(file, `not valid JSON (${(e as Error).message})`, 'Re-download or re-export the model folder');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ModelFormatError(file, 'not a JSON object', 'Re-download or re-export the model folder');
  return v as Record<string, unknown>;
}

function findSubarray(haystack: number[], needle: number[]): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
