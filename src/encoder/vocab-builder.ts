// A BERT WordPiece vocab.txt built from a corpus, for a small encoder trained from scratch when no
// pretrained one can be downloaded. Not Google's WordPiece trainer (likelihood-driven merges), but a
// simple, deterministic frequency count that WordPieceTokenizer (tokenizer.ts) reads as it reads BERT's:
//
//   1. the special tokens [PAD] [UNK] [CLS] [SEP] [MASK] at ids 0–4 (bertConfigToHf's pad_token_id is 0;
//      tokenizerJsonFromVocab finds the others by name, so their ids need not be BERT's 100–103);
//   2. every character seen (after normalisation) and printable ASCII, each also as '##c', so that any
//      word of those characters has a WordPiece split — no [UNK] for ASCII text (up to WordPiece's limit
//      of 100 characters per word, past which BERT's tokenizers give [UNK] whatever the vocabulary);
//   3. whole words by corpus frequency, down to `minWordCount`, until only `suffixSlots` places are left;
//   4. '##' word endings (2 to `maxSuffixLength` characters) by how often they end a word that step 3 left
//      out, weighted by that word's count — the pieces greedy longest-match-first needs after a whole-word
//      prefix ('protein' + '##ases') — then, if room remains, more whole words.
// Ties break by string order (code points), so the same corpus always gives the same file.
//
// Words are cut as the tokenizer will cut them: transformers.js' BertNormalizer (clean text, spaces around
// CJK characters, lowercase, NFD with combining marks removed) and BertPreTokenizer (split on whitespace and
// on each punctuation character), i.e. BERT's BasicTokenizer (Devlin et al. 2019, tokenization.py).

export const VOCAB_SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

export interface VocabOptions {
  /** Total tokens, special tokens and characters included (default 16,000). */
  vocabSize: number;
  /** Whole words seen fewer times are left to WordPiece pieces (default 2). */
  minWordCount: number;
  /** Places kept for '##' endings before whole words fill the rest (default 10 % of vocabSize). */
  suffixSlots: number;
  /** Longest '##' ending counted, in characters (default 8). */
  maxSuffixLength: number;
  /** Endings must end at least this many word occurrences (default 5). */
  minSuffixCount: number;
}

export interface VocabResult {
  /** Tokens in id order. */
  tokens: string[];
  /** vocab.txt: one token per line, newline-terminated. */
  text: string;
  stats: { specials: number; characters: number; words: number; suffixes: number; distinctWords: number; wordOccurrences: number };
}

// The punctuation class of transformers.js' BertPreTokenizer: Unicode P* and ASCII symbols (BERT's _is_punctuation).
const PUNCT = '\\p{P}\\u0021-\\u002F\\u003A-\\u0040\\u005B-\\u0060\\u007B-\\u007E';
const WORD = new RegExp(`[^\\s${PUNCT}]+|[${PUNCT}]`, 'gu');
const CONTROL = /^(?:\p{Cc}|\p{Cf}|\p{Co}|\p{Cs})$/u;
const WHITESPACE = /^\s$/u;
const MARK = /\p{Mn}/gu;

const isChinese = (cp: number) =>
  (cp >= 0x4e00 && cp <= 0x9fff) ||
  (cp >= 0x3400 && cp <= 0x4dbf) ||
  (cp >= 0x20000 && cp <= 0x2a6df) ||
  (cp >= 0x2a700 && cp <= 0x2b73f) ||
  (cp >= 0x2b740 && cp <= 0x2b81f) ||
  (cp >= 0x2b820 && cp <= 0x2ceaf) ||
  (cp >= 0xf900 && cp <= 0xfaff) ||
  (cp >= 0x2f800 && cp <= 0x2fa1f);

/**
 * The words BERT's uncased tokenizer sees in `text` before WordPiece: as transformers.js' BertNormalizer
 * (clean_text, handle_chinese_chars, lowercase, strip_accents) followed by BertPreTokenizer.
 */
export function bertBasicTokenize(text: string): string[] {
  let clean = '';
  for (const ch of text) {
    const cp = ch.charCodeAt(0); // as transformers.js: the first UTF-16 unit
    if (cp === 0 || cp === 0xfffd || (ch !== '\t' && ch !== '\n' && ch !== '\r' && CONTROL.test(ch))) continue;
    clean += WHITESPACE.test(ch) ? ' ' : ch;
  }
  let spaced = '';
  for (let i = 0; i < clean.length; i++) {
    const ch = clean[i];
    spaced += isChinese(ch.charCodeAt(0)) ? ` ${ch} ` : ch;
  }
  const normal = spaced.toLowerCase().normalize('NFD').replace(MARK, '');
  return normal.trim().match(WORD) ?? [];
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
/** Descending count, then ascending string. */
const byCount = ([a, ca]: [string, number], [b, cb]: [string, number]) => cb - ca || compare(a, b);

/** Printable ASCII as the tokenizer sees it (lowercase), so that any ASCII word has a split. */
const ASCII_CHARS = Array.from({ length: 126 - 33 + 1 }, (_, i) => String.fromCharCode(33 + i)).filter((c) => c.toLowerCase() === c);

/** Counts the words of every text (bertBasicTokenize). */
export function countWords(texts: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const t of texts) for (const w of bertBasicTokenize(t)) counts.set(w, (counts.get(w) ?? 0) + 1);
  return counts;
}

export const VOCAB_DEFAULTS: Readonly<Omit<VocabOptions, 'suffixSlots'>> = Object.freeze({
  vocabSize: 16_000,
  minWordCount: 2, // a word seen once teaches an embedding little; its pieces do better
  maxSuffixLength: 8,
  minSuffixCount: 5,
});

/** Builds the vocabulary from a corpus (an iterable of texts) or from word counts already made. Pure. */
export function buildWordPieceVocab(corpus: Iterable<string> | ReadonlyMap<string, number>, options: Partial<VocabOptions> = {}): VocabResult {
  const o: VocabOptions = { ...VOCAB_DEFAULTS, suffixSlots: Math.round((options.vocabSize ?? VOCAB_DEFAULTS.vocabSize) * 0.1), ...options };
  for (const k of ['vocabSize', 'minWordCount', 'suffixSlots', 'maxSuffixLength', 'minSuffixCount'] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 0) throw new RangeError(`buildWordPieceVocab: ${k} must be an integer ≥ 0, got ${o[k]}`);
  }
  const counts = corpus instanceof Map ? (corpus as ReadonlyMap<string, number>) : countWords(corpus as Iterable<string>);

  const tokens: string[] = [...VOCAB_SPECIAL_TOKENS];
  const have = new Set<string>(tokens);
  const add = (t: string) => {
    if (have.has(t)) return false;
    have.add(t);
    tokens.push(t);
    return true;
  };

  // 2. Characters: ASCII first (always), then every other character seen, by frequency.
  const charCounts = new Map<string, number>();
  let occurrences = 0;
  for (const [w, c] of counts) {
    occurrences += c;
    for (const ch of w) charCounts.set(ch, (charCounts.get(ch) ?? 0) + c);
  }
  const chars = [...new Set([...ASCII_CHARS, ...[...charCounts].sort(byCount).map(([ch]) => ch)])];
  for (const ch of chars) add(ch);
  for (const ch of chars) add(`##${ch}`);
  const characters = tokens.length - VOCAB_SPECIAL_TOKENS.length;
  if (tokens.length > o.vocabSize) {
    throw new RangeError(`buildWordPieceVocab: vocabSize ${o.vocabSize} is below the ${tokens.length} special tokens and characters (with '##' forms) the corpus needs`);
  }

  // 3. Whole words (more than one character; single characters are in already), most frequent first.
  const words = [...counts].filter(([w, c]) => c >= o.minWordCount && [...w].length > 1).sort(byCount);
  let nWords = 0;
  let wi = 0;
  const wordRoom = Math.max(0, o.vocabSize - o.suffixSlots);
  for (; wi < words.length && tokens.length < wordRoom; wi++) if (add(words[wi][0])) nWords++;

  // 4. Endings of the words left out, weighted by their counts.
  const endings = new Map<string, number>();
  for (const [w, c] of counts) {
    if (have.has(w)) continue;
    const cs = [...w];
    for (let len = 2; len <= Math.min(o.maxSuffixLength, cs.length - 1); len++) {
      const piece = `##${cs.slice(cs.length - len).join('')}`;
      endings.set(piece, (endings.get(piece) ?? 0) + c);
    }
  }
  let nSuffixes = 0;
  for (const [piece, c] of [...endings].sort(byCount)) {
    if (tokens.length >= o.vocabSize || c < o.minSuffixCount) break;
    if (add(piece)) nSuffixes++;
  }
  // Room left (too few endings): more whole words.
  for (; wi < words.length && tokens.length < o.vocabSize; wi++) if (add(words[wi][0])) nWords++;

  return {
    tokens,
    text: tokens.join('\n') + '\n',
    stats: { specials: VOCAB_SPECIAL_TOKENS.length, characters, words: nWords, suffixes: nSuffixes, distinctWords: counts.size, wordOccurrences: occurrences },
  };
}
