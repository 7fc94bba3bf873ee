// Eq. 8 at query time on hand-checkable values and against a naive oracle, and the
// expansions file format.
import { describe, expect, it } from 'vitest';
import { combineExpanded, defaultExpansionNorm, normalizeRows, parseExpansionNorm } from '../../src/retrieval/dense/expanded-query.ts';
import { parseExpansions } from '../../src/retrieval/dense/expansions.ts';
import { FileFormatError } from '../../src/errors.ts';
import { createRng } from '../../src/util/random.ts';

const f32 = (xs: number[]) => Float32Array.from(xs);

describe('combineExpanded (Eq. 8)', () => {
  const q = f32([3, 4, 0, 0]); // rows: (3, 4), (0, 0)
  const e = f32([1, 0, 0, 2]); // rows: (1, 0), (0, 2)

  it("'contriever': normalise q and e, average, no renormalisation", () => {
    // (0.6, 0.8) and (1, 0) → (0.8, 0.4), norm 0.894: not renormalised. A zero query stays zero: (0, 0) + (0, 1) → (0, 0.5).
    expect([...combineExpanded(q, e, 2, 'contriever')]).toEqual([...f32([0.8, 0.4, 0, 0.5])]);
  });

  it("'raw': plain mean of the encoder's vectors", () => {
    expect([...combineExpanded(q, e, 2, 'raw')]).toEqual([2, 2, 0, 1]);
  });

  it('keeps a query without expansion plain (normalised under contriever)', () => {
    expect([...combineExpanded(q, e, 2, 'contriever', [false, true])]).toEqual([...f32([0.6, 0.8, 0, 0.5])]);
    expect([...combineExpanded(q, e, 2, 'raw', [false, true])]).toEqual([3, 4, 0, 1]);
  });

  it('equals a naive float64 oracle of Eq. 8 to float32 rounding', () => {
    const rng = createRng(3);
    const n = 5, dim = 7;
    const qs = Float32Array.from({ length: n * dim }, () => rng.normal() * 3);
    const es = Float32Array.from({ length: n * dim }, () => rng.normal());
    const row = (v: Float32Array, i: number) => Array.from(v.subarray(i * dim, (i + 1) * dim));
    const unit = (x: number[]) => x.map((y) => y / Math.hypot(...x));
    for (const v of ['contriever', 'raw'] as const) {
      const ours = combineExpanded(qs, es, dim, v);
      for (let i = 0; i < n; i++) {
        const [q, e] = v === 'contriever' ? [unit(row(qs, i)), unit(row(es, i))] : [row(qs, i), row(es, i)];
        q.forEach((x, j) => expect(Math.abs(ours[i * dim + j] - (x + e[j]) / 2)).toBeLessThan(1e-6));
      }
    }
  });

  it('picks contriever for normalising or cosine encoders, raw otherwise; validates names and shapes', () => {
    expect(defaultExpansionNorm({ normalize: true, similarity: 'cosine' })).toBe('contriever');
    expect(defaultExpansionNorm({ normalize: false, similarity: 'cosine' })).toBe('contriever');
    expect(defaultExpansionNorm({ normalize: false, similarity: 'dot' })).toBe('raw');
    expect(parseExpansionNorm('raw')).toBe('raw');
    expect(() => parseExpansionNorm('anchor')).toThrow(/contriever or raw/);
    expect(() => combineExpanded(f32([1, 2, 3]), f32([1, 2, 3]), 2, 'raw')).toThrow(RangeError);
    expect([...normalizeRows(f32([3, 4, 0, 0]), 2)]).toEqual([...f32([0.6, 0.8, 0, 0])]);
  });
});

describe('parseExpansions', () => {
  it('reads id/query_id and expansion/text, skipping blank lines', () => {
    const m = parseExpansions('{"id":"q1","expansion":"a"}\n\n{"query_id":2,"text":"b"}\r\n');
    expect([...m]).toEqual([['q1', 'a'], ['2', 'b']]);
  });

  it('names the file and line of a bad row', () => {
    for (const [text, msg] of [
      ['{"id":"q1","expansion":"a"}\nnot json', /exp.jsonl line 2: not valid JSON/],
      ['{"expansion":"a"}', /line 1: no "id" or "query_id"/],
      ['{"id":"q1"}', /line 1: no "expansion" or "text" string/],
      ['{"id":"q1","text":"a"}\n{"id":"q1","text":"b"}', /line 2: query q1 has a second expansion/],
      ['[1]', /line 1: not a JSON object/],
    ] as const) {
      const e = (() => { try { parseExpansions(text, 'exp.jsonl'); } catch (x) { return x as Error; } })();
      expect(e).toBeInstanceOf(FileFormatError);
      expect(e!.message).toMatch(msg);
    }
  });
});
