// Lucene's PorterStemmer port. Expected stems are Lucene 9.12's (tests/reference/fixtures/
// lucene-analyzer.json, "tricky:stem-*"), which follow Porter's reference implementation.
import { describe, expect, it } from 'vitest';
import { stemmer } from 'stemmer';
import { porterStem } from '../../src/retrieval/analysis/porter-stemmer.ts';

const pairs = (words: string, stems: string) => {
  const w = words.split(' ');
  const s = stems.split(' ');
  expect(w.length).toBe(s.length);
  return w.map((x, i) => [x, s[i]!] as const);
};

describe('Porter stemmer (Lucene)', () => {
  it.each([
    // step 1: plurals, -ed, -ing
    ...pairs(
      'caresses ponies ties caress cats feed agreed disabled matting mating meeting milling messing meetings',
      'caress poni ti caress cat feed agre disabl mat mate meet mill mess meet',
    ),
    // steps 2-4: double suffixes, including the reference code's departures from the paper
    ...pairs(
      'relational conditional valenci digitizer conformabli radicalli differentli analogousli vietnamization',
      'relat condit valenc digit conform radic differ analog vietnam',
    ),
    ...pairs('biology archaeology apology triplicate hopeful goodness electrical', 'biologi archaeolog apolog triplic hope good electr'),
    // step 5 and 6
    ...pairs('revival allowance adjustable adoption homologous effective bowdlerize probate rate controll roll',
      'reviv allow adjust adopt homolog effect bowdler probat rate control roll'),
    // y as consonant or vowel, short words, digits and non-ASCII letters
    ...pairs('sky skies dying happy syzygy yyy ion eed aed is 1990s naïve ﬁnance', 'sky ski dy happi syzygi yyi ion eed a is 1990 naïv ﬁnanc'),
  ])('%s → %s', (word, stem) => {
    expect(porterStem(word)).toBe(stem);
  });

  it('leaves words shorter than 3 characters alone', () => {
    expect(['a', 'as', 'ss', 'ed'].map(porterStem)).toEqual(['a', 'as', 'ss', 'ed']);
  });

  it('differs from npm `stemmer` on "eed", a SciFact term (why we port Lucene)', () => {
    expect(porterStem('eed')).toBe('eed');
    expect(stemmer('eed')).toBe('e');
  });
});
