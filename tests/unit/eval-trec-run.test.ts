// TREC run / qrels files: round trips, tolerant reading, errors that name the line.

import { describe, expect, it } from 'vitest';
import { RunFormatError } from '../../src/errors.ts';
import { evaluate, EXTENDED_METRICS } from '../../src/eval/metrics.ts';
import { readTrecQrels, readTrecRun, RunParser, trecRunLines, writeTrecQrels, writeTrecRun } from '../../src/eval/trec-run.ts';
import type { Run } from '../../src/eval/types.ts';
import { createRng } from '../../src/util/random.ts';

describe('writing runs', () => {
  it('writes qid Q0 docid rank score tag, ranks 1-based in trec_eval order', () => {
    const run: Run = new Map([['q1', [{ docId: 'a', score: 0.5 }, { docId: 'b', score: 2 }, { docId: 'c', score: 0.5 }]]]);
    // b (2) first; a and c tie at 0.5 → doc id descending: c, a.
    expect(writeTrecRun(run, 'bm25')).toBe('q1 Q0 b 1 2 bm25\nq1 Q0 c 2 0.5 bm25\nq1 Q0 a 3 0.5 bm25\n');
  });

  it('writes shortest round-trip scores, so awkward doubles survive', () => {
    const scores = [0.1 + 0.2, 1 / 3, -1e-7, 1.5e21, 5e-324, Number.MAX_VALUE, -0.75, 123456.789];
    const run: Run = new Map([['q', scores.map((score, i) => ({ docId: `d${i}`, score }))]]);
    const back = readTrecRun(writeTrecRun(run));
    const byId = new Map(back.get('q')!.map((h) => [h.docId, h.score]));
    scores.forEach((s, i) => expect(byId.get(`d${i}`)).toBe(s));
  });

  it('streams lines and refuses ids with whitespace or NaN scores', () => {
    const run: Run = new Map([['q', [{ docId: 'a', score: 1 }]]]);
    expect([...trecRunLines(run, 't')]).toEqual(['q Q0 a 1 1 t']);
    expect(() => writeTrecRun(new Map([['q 1', []]]))).toThrow(RunFormatError);
    expect(() => writeTrecRun(new Map([['q', [{ docId: 'a b', score: 1 }]]]))).toThrow(/Doc id "a b"/);
    expect(() => writeTrecRun(run, 'my tag')).toThrow(/Run tag/);
    expect(() => writeTrecRun(new Map([['q', [{ docId: 'a', score: NaN }]]]))).toThrow(/NaN/);
  });
});

describe('reading runs', () => {
  it('tolerates tabs, repeated spaces, CRLF, blank lines and ignores the rank column', () => {
    const text = 'q1\tQ0\ta\t9\t1.5\trun\r\n\n  q1  Q0  b 1   2.5e0 run  \r\nq2 Q0 a 1 -inf run\n';
    expect(readTrecRun(text)).toEqual(
      new Map([
        ['q1', [{ docId: 'a', score: 1.5 }, { docId: 'b', score: 2.5 }]],
        ['q2', [{ docId: 'a', score: -Infinity }]],
      ]),
    );
  });

  it('names the file and line of a wrong column count', () => {
    expect(() => readTrecRun('q1 Q0 a 1 1 t\nq1 Q0 b 2 0.5\n', 'bm25.run')).toThrow(
      /^bm25\.run line 2: expected 6 columns "qid Q0 docid rank score tag", found 5/,
    );
  });

  it('refuses non-numeric scores, including ones Number() would accept', () => {
    for (const bad of ['abc', '0x10', '1,5', '--1', 'NaN']) {
      const err = (() => {
        try {
          readTrecRun(`q Q0 a 1 ${bad} t`, 'r');
        } catch (e) {
          return e;
        }
      })();
      expect(err, bad).toBeInstanceOf(RunFormatError);
      expect((err as RunFormatError).line).toBe(1);
    }
  });

  it('refuses a doc listed twice for one query (same doc in another query is fine)', () => {
    expect(readTrecRun('q1 Q0 a 1 1 t\nq2 Q0 a 1 1 t\n').size).toBe(2);
    expect(() => readTrecRun('q1 Q0 a 1 1 t\nq1 Q0 b 2 1 t\nq1 Q0 a 3 0 t\n')).toThrow(/line 3: doc "a" appears twice for query "q1"/);
  });

  it('reads line by line (streaming) with the same result', () => {
    const parser = new RunParser('stream');
    for (const line of ['q Q0 a 1 3 t', 'q Q0 b 2 2 t']) parser.push(line);
    expect(parser.run()).toEqual(readTrecRun('q Q0 a 1 3 t\nq Q0 b 2 2 t\n'));
  });
});

describe('round trip', () => {
  it('evaluating the written-and-read run gives exactly the in-memory values', () => {
    const rng = createRng(21);
    const run: Run = new Map();
    const qrels = new Map<string, Map<string, number>>();
    for (let q = 0; q < 50; q++) {
      const ids = [...new Set(Array.from({ length: 80 }, () => `doc-${rng.int(300)}`))];
      run.set(`q${q}`, ids.map((docId) => ({ docId, score: rng.normal() })));
      qrels.set(`q${q}`, new Map(ids.slice(0, 6).map((d, i) => [d, i % 3])));
    }
    const back = readTrecRun(writeTrecRun(run, 'rt'));
    const metrics = [...EXTENDED_METRICS];
    expect(evaluate(qrels, back, { metrics })).toEqual(evaluate(qrels, run, { metrics }));
    // Same hits per query (the file holds them in trec_eval order).
    for (const [qid, hits] of run) {
      const sortById = (h: { docId: string }[]) => [...h].sort((x, y) => (x.docId < y.docId ? -1 : 1));
      expect(sortById(back.get(qid)!)).toEqual(sortById(hits));
    }
  });
});

describe('qrels', () => {
  it('reads qid iter docid rel and writes it back', () => {
    const text = '1 0 31715818 1\n1 0 14717500 2\n3 Q0 23389795 0\n4 0 x -1\n';
    const qrels = readTrecQrels(text);
    expect(qrels).toEqual(
      new Map([
        ['1', new Map([['31715818', 1], ['14717500', 2]])],
        ['3', new Map([['23389795', 0]])],
        ['4', new Map([['x', -1]])],
      ]),
    );
    expect(readTrecQrels(writeTrecQrels(qrels))).toEqual(qrels);
  });

  it('refuses non-integer grades, wrong column counts and duplicate judgements, naming the line', () => {
    expect(() => readTrecQrels('1 0 a 1\n1 0 b 0.5\n', 'test.qrels')).toThrow(/^test\.qrels line 2: relevance "0.5" is not an integer/);
    expect(() => readTrecQrels('1 0 a\n')).toThrow(/line 1: expected 4 columns/);
    expect(() => readTrecQrels('1 0 a 1\n1 0 a 2\n')).toThrow(/line 2: doc "a" is judged twice/);
    expect(readTrecQrels('1 0 a 1.0\n').get('1')!.get('a')).toBe(1);
  });
});
