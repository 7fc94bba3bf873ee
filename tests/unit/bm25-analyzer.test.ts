// Lucene EnglishAnalyzer port, hand-checkable cases. The full comparison with Lucene's own output
// is tests/reference/bm25-lucene.test.ts; the expectations here are Lucene 9.12's outputs too.
import { describe, expect, it } from 'vitest';
import {
  analyzeEnglish, ENGLISH_STOP_WORDS, lowerCaseLucene, stripPossessive,
} from '../../src/retrieval/analysis/english-analyzer.ts';
import { MAX_TOKEN_LENGTH, standardTokenize } from '../../src/retrieval/analysis/standard-tokenizer.ts';

const tokens = (text: string) => {
  const out: string[] = [];
  standardTokenize(text, (t) => out.push(t));
  return out;
};

describe('StandardTokenizer (UAX#29)', () => {
  it('keeps letters, digits and underscores together and drops punctuation', () => {
    expect(tokens('Hello, world! abc123def x86_64 __init__')).toEqual(['Hello', 'world', 'abc123def', 'x86_64', '__init__']);
  });

  it('joins numbers over , and . but not letters over , (WB11/12)', () => {
    expect(tokens('3.14 1,000 1,000,000.50 1.2.3 a,b')).toEqual(['3.14', '1,000', '1,000,000.50', '1.2.3', 'a', 'b']);
  });

  it('joins letters over . : \' and ’ (WB6/7), never a trailing one', () => {
    expect(tokens("U.S.A. e.g. a:b John's it’s dogs' x.")).toEqual(['U.S.A', 'e.g', 'a:b', "John's", 'it’s', 'dogs', 'x']);
  });

  it('splits at hyphens, slashes, @ and +', () => {
    expect(tokens('state-of-the-art john.doe@example.com C++ and/or')).toEqual([
      'state', 'of', 'the', 'art', 'john.doe', 'example.com', 'C', 'and', 'or',
    ]);
  });

  it('absorbs combining marks and format characters into the word (WB4)', () => {
    expect(tokens('e\u0301te soft\u00adhyphen 5\u202fmg zero\u200bwidth')).toEqual([
      'e\u0301te', 'soft\u00adhyphen', '5\u202fmg', 'zero', 'width',
    ]);
  });

  it('emits one token per Han / hiragana character and runs of katakana, Hangul, Thai', () => {
    expect(tokens('中文 ひらがな カタカナ 한국어 ภาษาไทย')).toEqual(['中', '文', 'ひ', 'ら', 'が', 'な', 'カタカナ', '한국어', 'ภาษาไทย']);
  });

  it('keeps emoji sequences whole and © ® ™ as tokens; other symbols are dropped', () => {
    expect(tokens('I ❤️ 👍🏽 👨\u200d👩\u200d👧 🇺🇸 #️⃣ © ™ → ☆ ★')).toEqual([
      'I', '❤️', '👍🏽', '👨\u200d👩\u200d👧', '🇺🇸', '#️⃣', '©', '™', '★',
    ]);
  });

  it(`cuts tokens longer than ${MAX_TOKEN_LENGTH} UTF-16 units into pieces`, () => {
    const t = tokens('a'.repeat(600));
    expect(t.map((x) => x.length)).toEqual([255, 255, 90]);
    // A letter after a '.' at the window's edge cannot be seen, so the word ends before the '.'.
    expect(tokens('a'.repeat(254) + '.bcd').map((x) => x.length)).toEqual([254, 3]);
    // A surrogate pair is never split: the high surrogate waits for the next piece.
    expect(tokens('a'.repeat(254) + '𝐀b').map((x) => x.length)).toEqual([254, 3]);
  });

  it('produces nothing for empty, blank or punctuation-only text', () => {
    expect(tokens('')).toEqual([]);
    expect(tokens(' \t\n ')).toEqual([]);
    expect(tokens('!!! ... --- ***')).toEqual([]);
  });
});

describe('filters', () => {
  it('EnglishPossessiveFilter strips trailing \'s, ’s, ＇s (s or S) only', () => {
    expect(["John's", "JOHN'S", 'James’s', 'x＇s', "'s", 's', "dogs'", "o'neil"].map(stripPossessive)).toEqual([
      'John', 'JOHN', 'James', 'x', '', 's', "dogs'", "o'neil",
    ]);
  });

  it('LowerCaseFilter maps per code point like Java (İ → i, Σ → σ even at a word end)', () => {
    expect(lowerCaseLucene('İstanbul')).toBe('istanbul');
    expect(lowerCaseLucene('ΟΔΟΣ')).toBe('οδοσ');
    expect(lowerCaseLucene('ÅNGSTRÖM 𝐀')).toBe('ångström 𝐀');
  });

  it("has Lucene's 33 English stop words", () => {
    expect(ENGLISH_STOP_WORDS.size).toBe(33);
    expect(analyzeEnglish('The cat is on the mat and it was not there. THE AND OF SUCH THEIR')).toEqual(['cat', 'mat']);
  });
});

describe('EnglishAnalyzer', () => {
  it('chains tokenizer, possessive, lower case, stop words and Porter stemming', () => {
    expect(analyzeEnglish("John's dogs' bones were running in the U.S.A.'s hospitals")).toEqual([
      'john', 'dog', 'bone', 'were', 'run', 'u.s.a', 's', 'hospit',
    ]);
    expect(analyzeEnglish('TNF-α and IL-1β: 1,25(OH)2D3')).toEqual(['tnf', 'α', 'il', '1β', '1,25', 'oh', '2d3']);
  });
});
