// Every malformed input a researcher may drop: the error names the file and line and says what to do;
// what is only suspicious becomes a counted warning with examples and the data is kept.
import { describe, expect, it } from 'vitest';
import { BeirFormatError } from '../../src/errors.ts';
import { loadBeir } from '../../src/data/load.ts';
import { errorOf, gz, jsonl, sources, TINY, tinyFiles, type Files } from './helpers/beir-files.ts';

const load = (files: Files, opts = {}) => loadBeir(sources(files), opts);
const tiny = (over: Parameters<typeof tinyFiles>[1]) => tinyFiles('t', over);
const messageOf = async (files: Files, opts = {}) => (await errorOf(() => load(files, opts))).message;

describe('corpus and queries lines', () => {
  it('rejects a line that is not JSON, naming file and line', async () => {
    const corpus = TINY.corpus + '\n{"_id": "d9", "text": "oops"\n';
    const err = await errorOf(() => load(tiny({ corpus })));
    expect(err).toBeInstanceOf(BeirFormatError);
    expect((err as BeirFormatError).line).toBe(6); // line 5 is blank: numbers match an editor's
    expect(err.message).toMatch(/^t\/corpus\.jsonl line 6: not valid JSON \(.+\)\. Fix the line or remove it$/);
  });

  it('names the .gz file when the bad line is inside it', async () => {
    const files = gz(tiny({ corpus: '{"_id": "d1", "text": "a"}\nnot json\n' }), 't/corpus.jsonl');
    expect(await messageOf(files)).toMatch(/^t\/corpus\.jsonl\.gz line 2: not valid JSON/);
  });

  it('rejects a line that is JSON but not an object', async () => {
    expect(await messageOf(tiny({ queries: '["q1", "text"]\n' }))).toMatch(/^t\/queries\.jsonl line 1: expected a JSON object .* found an array/);
  });

  it.each([
    ['missing', { text: 'x' }, 'missing "_id"'],
    ['empty', { _id: '', text: 'x' }, '"_id" is empty'],
    ['an object', { _id: { a: 1 }, text: 'x' }, '"_id" must be a string or a number, found {"a":1}'],
  ])('rejects an _id that is %s', async (_, row, problem) => {
    const msg = await messageOf(tiny({ corpus: TINY.corpus + jsonl([row]) }));
    expect(msg).toBe(`t/corpus.jsonl line 5: ${problem}. Every record needs a non-empty "_id"`);
  });

  it('turns numeric ids into strings (as BEIR does) and matches them in qrels', async () => {
    const ds = await load(tiny({ corpus: jsonl([{ _id: 31715818, text: 'a' }]), queries: jsonl([{ _id: 1, text: 'q' }]), test: '1\t31715818\t1\n', train: '1\t31715818\t0\n' }));
    expect(ds.docs[0].id).toBe('31715818');
    expect(ds.qrels.get('test')?.get('1')?.get('31715818')).toBe(1);
  });

  it('rejects duplicate document ids, naming both lines', async () => {
    const corpus = jsonl([{ _id: 'd1', text: 'a' }, { _id: 'd2', text: 'b' }, { _id: 'd1', text: 'c' }]);
    expect(await messageOf(tiny({ corpus }))).toBe(
      't/corpus.jsonl line 3: document id "d1" already appeared on line 1. Ids must be unique: remove or rename one of the two',
    );
  });

  it('rejects duplicate query ids, naming both lines', async () => {
    expect(await messageOf(tiny({ queries: TINY.queries + jsonl([{ _id: 'q2', text: 'again' }]) }))).toMatch(
      /^t\/queries\.jsonl line 4: query id "q2" already appeared on line 2\./,
    );
  });

  it('keeps a document without "text" (warning) or without "title" (silently); rejects a non-string text', async () => {
    const corpus = TINY.corpus + jsonl([{ _id: 'd5', title: 'Only a title' }, { _id: 'd6', text: '' }]);
    const ds = await load(tiny({ corpus }));
    expect(ds.docs.slice(4)).toEqual([{ id: 'd5', title: 'Only a title', text: '' }, { id: 'd6', title: '', text: '' }]);
    expect(ds.warnings.map((w) => w.message)).toEqual(['t/corpus.jsonl: 1 document has no "text" field; kept with empty text (line 5: "d5")']);
    expect(await messageOf(tiny({ corpus: jsonl([{ _id: 'd1', text: 5 }]) }))).toMatch(/line 1: "text" must be a string, found 5/);
  });

  it('rejects a query without text and warns about an empty one', async () => {
    expect(await messageOf(tiny({ queries: jsonl([{ _id: 'q1' }]) }))).toBe('t/queries.jsonl line 1: query "q1" has no "text". Every query needs a "text" field');
    const ds = await load(tiny({ queries: TINY.queries + jsonl([{ _id: 'q4', text: ' ' }]) }));
    expect(ds.warnings[0]).toMatchObject({ kind: 'query-empty-text', count: 1, examples: ['line 4: "q4"'] });
  });

  it('skips blank lines and reads CRLF files with a byte-order mark', async () => {
    const crlf = (s: string) => '\uFEFF' + s.replace(/\n/g, '\r\n');
    const ds = await load(tinyFiles('t', { corpus: crlf('\n' + TINY.corpus + '\n\n'), queries: crlf(TINY.queries), test: crlf(TINY.test) }));
    expect(ds.docs.map((d) => d.id)).toEqual(['d1', 'd2', 'd3', 'd4']);
    expect(ds.docs[0].text).toBe('Cats purr.');
    expect([...ds.queries.keys()]).toEqual(['q1', 'q2', 'q3']);
    expect(ds.splits.test).toEqual({ queries: 2, qrels: 3 });
  });

  it('rejects a line over the limit with file and line', async () => {
    const corpus = TINY.corpus + jsonl([{ _id: 'big', text: 'x'.repeat(500) }]);
    const err = await errorOf(() => load(tiny({ corpus }), { maxLineBytes: 200 }));
    expect(err.message).toMatch(/^t\/corpus\.jsonl line 5: the line is longer than 200 B\./);
  });

  it('warns, with line numbers, about lines that are not valid UTF-8', async () => {
    const e = (s: string) => new TextEncoder().encode(s);
    const bad = new Uint8Array([...e(TINY.corpus + '{"_id":"d5","text":"caf'), 0xe9, ...e('"}\n')]);
    const ds = await load({ ...tiny({}), 't/corpus.jsonl': bad });
    expect(ds.docs[4].text).toBe('caf\uFFFD');
    expect(ds.warnings.map((w) => w.message)).toEqual(['t/corpus.jsonl: 1 line is not valid UTF-8; the bad bytes were replaced with U+FFFD (line 5)']);
  });
});

describe('empty files', () => {
  it.each([
    ['queries', 't/queries.jsonl: the file is empty (no queries). Check that this is the right queries.jsonl'],
    ['corpus', 't/corpus.jsonl: the file is empty (no documents). Check that this is the right corpus.jsonl'],
    ['test', 't/qrels/test.tsv: the file is empty (no judgements). Check that this is the right qrels/test.tsv'],
  ] as const)('%s', async (which, message) => {
    expect(await messageOf(tiny({ [which]: '\n \n' }))).toBe(message);
  });

  it('a qrels file with only its header is empty too', async () => {
    expect(await messageOf(tiny({ train: 'query-id\tcorpus-id\tscore\n' }))).toMatch(/^t\/qrels\/train\.tsv: the file is empty/);
  });
});

describe('qrels lines', () => {
  it('drops judgements naming unknown queries or documents, counting them with the first examples', async () => {
    const extra = Array.from({ length: 7 }, (_, i) => `q1\tnope${i}\t1`).join('\n');
    const test = `${TINY.test}q404\td1\t1\n${extra}\n`;
    const ds = await load(tiny({ test }));
    expect(ds.splits.test).toEqual({ queries: 2, qrels: 3 });
    const w = Object.fromEntries(ds.warnings.map((x) => [x.kind, x]));
    expect(w['qrels-unknown-query']).toMatchObject({ file: 't/qrels/test.tsv', count: 1, examples: ['line 5: "q404"'] });
    expect(w['qrels-unknown-doc'].count).toBe(7);
    expect(w['qrels-unknown-doc'].examples).toHaveLength(5);
    expect(w['qrels-unknown-doc'].message).toBe(
      't/qrels/test.tsv: 7 judgements name documents not in the corpus; dropped (line 6: "nope0"; line 7: "nope1"; line 8: "nope2"; line 9: "nope3"; line 10: "nope4", …)',
    );
  });

  it('rejects a split where no judgement matches (qrels from another dataset)', async () => {
    expect(await messageOf(tiny({ train: 'x\ty\t1\nx\tz\t1\n' }))).toBe(
      't/qrels/train.tsv: none of its 2 judgements names a known query and document. Check that the qrels belong to this corpus and queries',
    );
  });

  it('rejects a non-integer score with its line', async () => {
    expect(await messageOf(tiny({ test: 'query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\thigh\n' }))).toBe(
      't/qrels/test.tsv line 3: score "high" is not an integer. Relevance scores must be integers (0, 1, 2, ...)',
    );
    expect(await messageOf(tiny({ test: 'q1\td1\t0.5\n' }))).toMatch(/line 1: score "0\.5" is not an integer/);
  });

  it('rejects the wrong number of columns with its line', async () => {
    expect(await messageOf(tiny({ test: 'query-id\tcorpus-id\tscore\nq1\td1\n' }))).toBe(
      't/qrels/test.tsv line 2: expected 3 tab-separated columns (query-id, corpus-id, score), found 2. ' +
        'BEIR qrels lines are "query-id<TAB>corpus-id<TAB>score" (TREC "qid 0 docid rel" is accepted too)',
    );
    expect(await messageOf(tiny({ test: 'q1\td1\t1\tx\ty\n' }))).toMatch(/line 1: expected 3 .* found 5/);
  });

  it('accepts qrels without a header, TREC 4-column lines, and space-separated columns', async () => {
    const ds = await load(tiny({ test: 'q1 0 d1 2\nq1\t0\td2\t1\nq2  d3  1\n' }));
    expect(ds.qrels.get('test')).toEqual(new Map([['q1', new Map([['d1', 2], ['d2', 1]])], ['q2', new Map([['d3', 1]])]]));
  });

  it('keeps zero and negative grades (trec_eval counts only > 0 as relevant; that is the metric\'s job)', async () => {
    const ds = await load(tiny({ test: 'q1\td1\t0\nq1\td2\t-1\n' }));
    expect(ds.qrels.get('test')?.get('q1')).toEqual(new Map([['d1', 0], ['d2', -1]]));
  });

  it('warns about a repeated (query, document) pair and keeps the later grade, as pytrec_eval does', async () => {
    const ds = await load(tiny({ test: 'q1\td1\t1\nq1\td1\t2\n' }));
    expect(ds.qrels.get('test')?.get('q1')?.get('d1')).toBe(2);
    expect(ds.splits.test).toEqual({ queries: 1, qrels: 1 });
    expect(ds.warnings[0]).toMatchObject({ kind: 'qrels-duplicate', count: 1 });
  });
});
