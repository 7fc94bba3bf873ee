// Lucene's EnglishAnalyzer, which is also Anserini's default analyzer (DefaultEnglishAnalyzer):
//   StandardTokenizer → EnglishPossessiveFilter → LowerCaseFilter
//   → StopFilter(EnglishAnalyzer.ENGLISH_STOP_WORDS_SET) → PorterStemFilter
// References: lucene/analysis/common/.../en/EnglishAnalyzer.java, EnglishPossessiveFilter.java;
// castorini/anserini .../analysis/DefaultEnglishAnalyzer.java. Golden tokens from Lucene itself:
// tests/reference/fixtures/lucene-analyzer.json.
import { standardTokenize } from './standard-tokenizer.ts';
import { porterStem } from './porter-stemmer.ts';

/** Stored with indexes: an index built with another analyzer must not be reused. */
export const ANALYZER_ID = 'lucene-9.12-english';

/** EnglishAnalyzer.ENGLISH_STOP_WORDS_SET (33 words), matched after lower-casing. */
export const ENGLISH_STOP_WORDS: ReadonlySet<string> = new Set([
  'a', 'an', 'and', 'are', 'as', 'at', 'be', 'but', 'by', 'for', 'if', 'in', 'into', 'is', 'it', 'no',
  'not', 'of', 'on', 'or', 'such', 'that', 'the', 'their', 'then', 'there', 'these', 'they', 'this',
  'to', 'was', 'will', 'with',
]);

/** EnglishPossessiveFilter: drops a trailing 's / ’s / ＇s (s or S), before lower-casing. */
export function stripPossessive(token: string): string {
  const n = token.length;
  if (n < 2) return token;
  const q = token.charCodeAt(n - 2);
  const s = token.charCodeAt(n - 1);
  if ((q === 0x27 || q === 0x2019 || q === 0xff07) && (s === 0x73 || s === 0x53)) return token.slice(0, n - 2);
  return token;
}

/**
 * LowerCaseFilter: Java's Character.toLowerCase per code point (simple case mapping). String's
 * toLowerCase differs in two places: İ (U+0130) becomes "i̇" instead of "i", and Σ becomes final
 * ς at the end of a word instead of σ.
 */
export function lowerCaseLucene(token: string): string {
  if (!/[^\x00-\x7f]/.test(token)) return token.toLowerCase();
  let out = '';
  for (const ch of token) {
    if (ch === '\u0130') out += 'i';
    else {
      const lower = ch.toLowerCase();
      out += [...lower].length === 1 ? lower : ch; // no simple mapping: leave unchanged
    }
  }
  return out;
}

// Analysis is a pure function of the raw token, and a corpus repeats few distinct tokens, so
// cache raw token → term ('' = removed). Bounded so that a huge corpus cannot grow it forever.
const CACHE_LIMIT = 200_000;
const termCache = new Map<string, string>();

function termOf(raw: string): string {
  let t = termCache.get(raw);
  if (t === undefined) {
    const lower = lowerCaseLucene(stripPossessive(raw));
    t = lower.length === 0 || ENGLISH_STOP_WORDS.has(lower) ? '' : porterStem(lower);
    if (termCache.size >= CACHE_LIMIT) termCache.clear();
    termCache.set(raw, t);
  }
  return t;
}

/** Calls `emit` with each indexed term of `text`, in order (stop words removed). */
export function forEachTerm(text: string, emit: (term: string) => void): void {
  standardTokenize(text, (raw) => {
    const t = termOf(raw);
    if (t !== '') emit(t);
  });
}

/** The terms Lucene's EnglishAnalyzer produces for `text`. */
export function analyzeEnglish(text: string): string[] {
  const out: string[] = [];
  forEachTerm(text, (t) => out.push(t));
  return out;
}
