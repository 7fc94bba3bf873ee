// A GGUF's tokenizer metadata as Hugging Face tokenizer files (tokenizer.json + tokenizer_config.json), so
// the existing transformers.js path (hf-tokenizer.ts) tokenizes and renders chat templates for GGUF models.
// Byte-level BPE only (`tokenizer.ggml.model` = gpt2: SmolLM2, Llama 3, Qwen2); SentencePiece GGUFs are refused.
//
// The tokenizer built is llama.cpp's (src/llama-vocab.cpp), the file's own, not transformers' GGUF converter,
// which ignores `tokenizer.ggml.pre` (FACTS.md): each llama.cpp pre-tokenizer is a list of regexes applied one
// after another, every match and every unmatched gap becoming a piece; that is a Sequence of Split(Isolated)
// pre-tokenizers followed by ByteLevel without its own regex. Control (3), user-defined (4) and unknown (2)
// tokens become added tokens, so `<|im_start|>` stays whole, as llama.cpp's special-token partition does.
import { ModelFormatError } from '../../errors.ts';

/** llama.cpp's token types (llama_token_type in the GGUF's tokenizer.ggml.token_type). */
const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

/** The pieces of llama.cpp's regexes (C++ strings unescaped), shared by several pre-tokenizers. */
const GPT2_RE = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`;
const CONTRACTIONS = String.raw`(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])`;
const LLAMA3_RE = String.raw`${CONTRACTIONS}|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
const QWEN2_RE = String.raw`${CONTRACTIONS}|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;

interface PreTokenizerSpec {
  /** Applied in order; each splits the pieces of the one before (llama.cpp unicode_regex_split). */
  regexes: string[];
  /** A pre-token that is itself in the vocabulary is taken whole (llama.cpp ignore_merges; HF BPE ignore_merges). */
  ignoreMerges: boolean;
  /** Decoding tidies spaces before punctuation (llama.cpp clean_spaces; HF clean_up_tokenization_spaces). */
  cleanSpaces: boolean;
  /** add_bos when the GGUF has no tokenizer.ggml.add_bos_token. */
  addBos: boolean;
}

/**
 * `tokenizer.ggml.pre` → llama.cpp's pre-tokenizer (llama_vocab::impl::load and llm_tokenizer_bpe, names
 * grouped as llama.cpp groups them). 'default' is what llama.cpp uses when the key is missing.
 */
const PRE_TOKENIZERS: Record<string, PreTokenizerSpec> = (() => {
  const spec = (regexes: string[], flags: Partial<PreTokenizerSpec> = {}): PreTokenizerSpec => ({ regexes, ignoreMerges: false, cleanSpaces: true, addBos: false, ...flags });
  const smollm = spec([String.raw`\p{N}`, GPT2_RE], { cleanSpaces: false });
  const llama3 = spec([LLAMA3_RE], { ignoreMerges: true, addBos: true });
  const qwen2 = spec([QWEN2_RE], { cleanSpaces: false });
  const gpt2 = spec([GPT2_RE]);
  return {
    smollm,
    starcoder: spec(smollm.regexes),
    refact: spec(smollm.regexes),
    'llama-bpe': llama3,
    llama3,
    'llama-v3': llama3,
    qwen2,
    'deepseek-r1-qwen': qwen2,
    'gpt-2': gpt2,
    gpt2, // not a llama.cpp name (it writes 'gpt-2'), accepted for files written by other tools
    'phi-2': gpt2,
    mpt: gpt2,
    olmo: gpt2,
    default: spec([String.raw`[\p{P}\$\+<=>\^~\|]+`, GPT2_RE, String.raw`\p{N}+`, '[0-9][0-9][0-9]']),
  };
})();

export const SUPPORTED_PRE_TOKENIZERS = Object.keys(PRE_TOKENIZERS);

/**
 * Token texts that end a generation whatever the metadata says, and count as control tokens: llama.cpp's
 * end-of-generation detection by text (llama_vocab::impl::load), the entries of byte-level BPE families,
 * including its fill-in-the-middle pad/repo/file-separator tokens (SmolLM2's <reponame>, Qwen2.5's <|fim_pad|>).
 */
const END_OF_GENERATION_TEXTS = [
  '<|eot_id|>', '<|eom_id|>', '<|im_end|>', '<|end|>', '<end_of_turn>', '<|endoftext|>', '<|end_of_text|>', '<EOT>', '_<EOT>', '<end_of_utterance>',
  '<|fim_pad|>', '<fim-pad>', '<fim_pad>', '<PAD>', '<|fim_repo|>', '<|repo_name|>', '<fim-repo>', '<REPO>', '<reponame>', '<|file_sep|>',
];

export interface GgufTokenizerFiles {
  /** tokenizer.json as the `tokenizers` library writes it. */
  tokenizerJson: Record<string, unknown>;
  /** tokenizer_config.json: special tokens, add_bos/add_eos, chat template. */
  tokenizerConfig: Record<string, unknown>;
  bosId: number | null;
  eosId: number | null;
  /** Every id that ends a generation: eos, eot/eom when given, and the end-of-generation texts (as llama.cpp). */
  stopIds: number[];
  /** The `tokenizer.ggml.pre` used ('default' when the file has none, as llama.cpp). */
  pre: string;
}

/**
 * Builds the tokenizer files from GGUF metadata (key → value as the reader returns it: numbers or bigints,
 * strings, booleans, arrays). `file` names the .gguf in errors.
 */
export function ggufTokenizerFiles(metadata: ReadonlyMap<string, unknown>, file: string): GgufTokenizerFiles {
  const fail = (problem: string, fix: string) => new ModelFormatError(file, problem, fix);
  const model = metadata.get('tokenizer.ggml.model');
  const tokens = listOf(metadata.get('tokenizer.ggml.tokens'));
  if (model === undefined || !tokens || tokens.length === 0) {
    throw fail(
      'no tokenizer in the GGUF metadata (tokenizer.ggml.model / tokenizer.ggml.tokens)',
      "Use a GGUF that carries its tokenizer (llama.cpp's convert_hf_to_gguf.py writes it; every model on the Hub has one)",
    );
  }
  if (model !== 'gpt2') {
    throw fail(
      `tokenizer.ggml.model ${JSON.stringify(model)} is not supported`,
      'Only byte-level BPE tokenizers ("gpt2": SmolLM2, Llama 3, Qwen2/2.5) are implemented; SentencePiece ("llama": Llama 2, Mistral) is not',
    );
  }
  const preName = metadata.get('tokenizer.ggml.pre') ?? 'default';
  const pre = PRE_TOKENIZERS[String(preName)];
  if (typeof preName !== 'string' || !pre) {
    throw fail(
      `tokenizer.ggml.pre ${JSON.stringify(preName)} is not supported`,
      `Supported pre-tokenizers: ${SUPPORTED_PRE_TOKENIZERS.join(', ')}`,
    );
  }
  const merges = listOf(metadata.get('tokenizer.ggml.merges'));
  if (!merges) throw fail('no tokenizer.ggml.merges (a BPE tokenizer needs its merges)', 'Re-convert the model with llama.cpp');
  const types = listOf(metadata.get('tokenizer.ggml.token_type'));
  const eogTexts = new Set(END_OF_GENERATION_TEXTS);
  const typeOf = (id: number): number => (eogTexts.has(String(tokens[id])) ? TOKEN_TYPE.control : types ? Number(types[id]) : TOKEN_TYPE.normal);

  const vocab: Record<string, number> = {};
  for (let i = 0; i < tokens.length; i++) vocab[String(tokens[i])] = i; // a repeated text keeps its last id, as llama.cpp's token_to_id
  const id = (key: string): number | null => {
    const v = metadata.get(key);
    if (v === undefined) return null;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n >= tokens.length) throw fail(`${key} = ${String(v)} is not a token id (vocabulary ${tokens.length})`, 'Fix or re-convert the file');
    return n;
  };
  const flag = (key: string, fallback: boolean): boolean => {
    const v = metadata.get(key);
    return typeof v === 'boolean' ? v : fallback;
  };
  const bosId = id('tokenizer.ggml.bos_token_id');
  const eosId = id('tokenizer.ggml.eos_token_id');
  const padId = id('tokenizer.ggml.padding_token_id');
  const unkId = id('tokenizer.ggml.unknown_token_id');
  const addBos = flag('tokenizer.ggml.add_bos_token', pre.addBos) && bosId !== null;
  const addEos = flag('tokenizer.ggml.add_eos_token', false) && eosId !== null;
  const text = (i: number | null) => (i === null ? null : String(tokens[i]));

  const added = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = typeOf(i);
    if (t !== TOKEN_TYPE.control && t !== TOKEN_TYPE.userDefined && t !== TOKEN_TYPE.unknown) continue;
    added.push({ id: i, content: String(tokens[i]), single_word: false, lstrip: false, rstrip: false, normalized: false, special: t !== TOKEN_TYPE.userDefined });
  }
  const stopIds = new Set<number>();
  for (const k of ['tokenizer.ggml.eos_token_id', 'tokenizer.ggml.eot_token_id', 'tokenizer.ggml.eom_token_id']) {
    const v = id(k);
    if (v !== null) stopIds.add(v);
  }
  for (const t of END_OF_GENERATION_TEXTS) if (vocab[t] !== undefined) stopIds.add(vocab[t]);

  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        ...pre.regexes.map((r) => ({ type: 'Split', pattern: { Regex: r }, behavior: 'Isolated', invert: false })),
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
      ],
    },
    post_processor: postProcessor(addBos ? text(bosId) : null, addBos ? bosId : null, addEos ? text(eosId) : null, addEos ? eosId : null),
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null, // byte-level: every byte has a token, llama.cpp never emits unk for text
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: pre.ignoreMerges,
      vocab,
      merges: Array.from(merges, (m, i) => splitMerge(String(m), i, fail)),
    },
  };
  const template = metadata.get('tokenizer.chat_template');
  const context = Number(metadata.get(`${String(metadata.get('general.architecture'))}.context_length`));
  const tokenizerConfig: Record<string, unknown> = {
    tokenizer_class: 'PreTrainedTokenizerFast', // the generic class: no Llama-specific legacy handling
    bos_token: text(bosId),
    eos_token: text(eosId),
    pad_token: text(padId),
    unk_token: text(unkId),
    add_bos_token: addBos,
    add_eos_token: addEos,
    clean_up_tokenization_spaces: pre.cleanSpaces,
    model_max_length: Number.isInteger(context) && context > 0 ? context : undefined,
    chat_template: typeof template === 'string' ? template : undefined,
  };
  return { tokenizerJson, tokenizerConfig, bosId, eosId, stopIds: [...stopIds], pre: preName };
}

/** A metadata array (a plain array, or a typed array for numbers), else null. */
function listOf(v: unknown): ArrayLike<unknown> | null {
  if (Array.isArray(v)) return v;
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return v as unknown as ArrayLike<unknown>;
  return null;
}

/** "a b" → ["a", "b"], split at the first space after the first character (llama.cpp: word.find(' ', 1)). */
function splitMerge(m: string, i: number, fail: (p: string, f: string) => ModelFormatError): [string, string] {
  const at = m.indexOf(' ', 1);
  if (at < 0) throw fail(`tokenizer.ggml.merges[${i}] ${JSON.stringify(m)} is not "left right"`, 'Re-convert the model with llama.cpp');
  return [m.slice(0, at), m.slice(at + 1)];
}

/** BOS/EOS added around the text as the GGUF asks (TemplateProcessing); none → ids unchanged. */
function postProcessor(bos: string | null, bosId: number | null, eos: string | null, eosId: number | null): Record<string, unknown> | null {
  if (bos === null && eos === null) return null;
  const special = (t: string) => ({ SpecialToken: { id: t, type_id: 0 } });
  const seq = (id: 'A' | 'B', typeId: number) => ({ Sequence: { id, type_id: typeId } });
  const wrap = (s: Record<string, unknown>) => [...(bos ? [special(bos)] : []), s, ...(eos ? [special(eos)] : [])];
  const specialTokens: Record<string, unknown> = {};
  if (bos !== null) specialTokens[bos] = { id: bos, ids: [bosId], tokens: [bos] };
  if (eos !== null) specialTokens[eos] = { id: eos, ids: [eosId], tokens: [eos] };
  return { type: 'TemplateProcessing', single: wrap(seq('A', 0)), pair: [...wrap(seq('A', 0)), ...wrap(seq('B', 1))], special_tokens: specialTokens };
}
