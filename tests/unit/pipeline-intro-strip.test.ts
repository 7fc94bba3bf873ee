// stripIntro against the reference code's rule as Python computes it (tests/reference/gen/intro_strip.py):
// the phrase list is the reference's, and every text containing one of its phrases comes out exactly as the
// reference's split(phrase)[1].strip() leaves it (a phrase mid-text, a second occurrence, list order,
// Python's whitespace).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REFERENCE_INTRO_PHRASES, stripIntro } from '../../src/pipeline/prompts.ts';

interface Fixture {
  phrases: string[];
  cases: { input: string; output: string; phrase: string | null }[];
}
const fx: Fixture = JSON.parse(readFileSync(new URL('../reference/fixtures/intro-strip.json', import.meta.url), 'utf8'));

describe('intro stripping as the reference code does it', () => {
  it('uses the reference phrase list, in its order', () => {
    expect([...REFERENCE_INTRO_PHRASES]).toEqual(fx.phrases);
  });

  it.each(fx.cases.filter((c) => c.phrase !== null).map((c) => [JSON.stringify(c.input).slice(0, 60), c] as const))('%s…', (_label, c) => {
    expect(stripIntro(c.input)).toBe(c.output);
  });

  it('texts without a reference phrase fall through to the leading-intro patterns', () => {
    const none = fx.cases.filter((c) => c.phrase === null);
    expect(none.length).toBeGreaterThan(0);
    // Lower case is no reference phrase, but the start-anchored pattern still takes it off.
    expect(stripIntro(none[0].input)).toBe(none[0].input.slice(none[0].input.indexOf(':') + 1).trim());
  });
});
