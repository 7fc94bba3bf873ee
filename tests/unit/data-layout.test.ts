// Layout detection: the BEIR zip, a folder, loose files, gzipped files; junk skipped; missing or
// ambiguous files reported with what the layout should be. Each packaging loads the same data.
import { describe, expect, it } from 'vitest';
import { BeirFormatError } from '../../src/errors.ts';
import { detectLayout } from '../../src/data/layout.ts';
import { loadBeir } from '../../src/data/load.ts';
import { fromBytes, fromFile } from '../../src/data/source.ts';
import { WarningLog } from '../../src/data/warnings.ts';
import { errorOf, gz, sources, tinyFiles, zip, type Files } from './helpers/beir-files.ts';

const layoutOf = (files: Files) => detectLayout(sources(files), new WarningLog());

describe('detectLayout', () => {
  it('finds the files of a dropped folder and names the dataset after it', async () => {
    const l = await layoutOf(tinyFiles('scifact'));
    expect(l.name).toBe('scifact');
    expect([l.corpus.label, l.queries.label, ...l.qrels.map((q) => `${q.split}=${q.label}`)]).toEqual([
      'scifact/corpus.jsonl',
      'scifact/queries.jsonl',
      'test=scifact/qrels/test.tsv',
      'train=scifact/qrels/train.tsv',
    ]);
    expect(l.qrels.map((q) => q.canonical)).toEqual(['qrels/test.tsv', 'qrels/train.tsv']);
  });

  it('opens the zip as BEIR distributes it and names the entries in messages', async () => {
    const l = await detectLayout([fromBytes('downloads/scifact.zip', zip(tinyFiles('scifact')))], new WarningLog());
    expect(l.name).toBe('scifact');
    expect(l.corpus.label).toBe('scifact/corpus.jsonl (in downloads/scifact.zip)');
    expect(l.sources).toEqual(['downloads/scifact.zip']);
  });

  it('names a zip without a top folder after the zip', async () => {
    const l = await detectLayout([fromBytes('nfcorpus.zip', zip(tinyFiles('')))], new WarningLog());
    expect(l.name).toBe('nfcorpus');
  });

  it('accepts loose files, including a loose test.tsv, and calls the dataset "dataset"', async () => {
    const files = tinyFiles('');
    const loose: Files = { 'corpus.jsonl': files['corpus.jsonl'], 'queries.jsonl': files['queries.jsonl'], 'test.tsv': files['qrels/test.tsv'] };
    const l = await layoutOf(loose);
    expect(l.name).toBe('dataset');
    expect(l.qrels.map((q) => q.split)).toEqual(['test']);
  });

  it('reads .gz files under their plain names and estimates their size', async () => {
    const files = gz(tinyFiles('t'), 't/corpus.jsonl', 't/queries.jsonl', 't/qrels/test.tsv');
    const l = await layoutOf(files);
    expect(l.corpus.label).toBe('t/corpus.jsonl.gz');
    expect(l.corpus.canonical).toBe('corpus.jsonl');
    expect(l.qrels[0].label).toBe('t/qrels/test.tsv.gz');
    expect(l.corpus.size).toBe(l.corpus.storedSize * 4);
  });

  it('skips __MACOSX, .DS_Store and ._ files silently, and warns about other unused data files', async () => {
    const warn = new WarningLog();
    const files: Files = {
      ...tinyFiles('s'),
      '__MACOSX/s/._corpus.jsonl': 'junk',
      's/.DS_Store': 'junk',
      's/._queries.jsonl': 'junk',
      's/README.txt': 'hello',
      's/notes.md': 'not data-like: no warning',
    };
    await detectLayout(sources(files), warn);
    expect(warn.list().map((w) => w.message)).toEqual([
      '1 file was ignored (not corpus.jsonl, queries.jsonl or qrels/<split>.tsv) (s/README.txt)',
    ]);
  });

  it('prefers the plain file when both plain and .gz are dropped, with a warning', async () => {
    const warn = new WarningLog();
    const files = { ...tinyFiles('s'), 's/corpus.jsonl.gz': gz({ x: 'x' }, 'x')['x.gz'] };
    const l = await detectLayout(sources(files), warn);
    expect(l.corpus.label).toBe('s/corpus.jsonl');
    expect(warn.list()[0].kind).toBe('duplicate-compressed');
  });

  it.each([
    ['corpus.jsonl', 's/corpus.jsonl', /^corpus\.jsonl: not found among the dropped files \(found: s\/queries\.jsonl.*\)\. A BEIR dataset is corpus\.jsonl/],
    ['queries.jsonl', 's/queries.jsonl', /^queries\.jsonl: not found among the dropped files/],
  ])('says which file is missing (%s) and what the layout should be', async (_, drop, pattern) => {
    const files = tinyFiles('s');
    delete files[drop];
    const err = await errorOf(() => layoutOf(files));
    expect(err).toBeInstanceOf(BeirFormatError);
    expect(err.message).toMatch(pattern);
    expect(err.message).toContain('qrels/<split>.tsv');
  });

  it('says when there are no qrels', async () => {
    const files = tinyFiles('s');
    delete files['s/qrels/test.tsv'];
    delete files['s/qrels/train.tsv'];
    expect((await errorOf(() => layoutOf(files))).message).toMatch(/^qrels\/<split>\.tsv: no qrels file found/);
  });

  it('refuses two datasets at once', async () => {
    const err = await errorOf(() => layoutOf({ ...tinyFiles('a'), ...tinyFiles('b') }));
    expect(err.message).toMatch(/^corpus\.jsonl: found 2 copies \(a\/corpus\.jsonl, b\/corpus\.jsonl\)\. Import one dataset at a time/);
  });

  it('reports a corrupt zip by name', async () => {
    const z = zip(tinyFiles('s'));
    const err = await errorOf(() => detectLayout([fromBytes('s.zip', z.subarray(0, z.length - 30))], new WarningLog()));
    expect(err.message).toMatch(/^s\.zip: .*Re-download the file; the zip is truncated or damaged$/);
  });
});

describe('every packaging loads the same dataset', () => {
  const packagings: [string, () => ReturnType<typeof sources>][] = [
    ['folder', () => sources(tinyFiles('tiny'))],
    ['folder with .gz files', () => sources(gz(tinyFiles('tiny'), 'tiny/corpus.jsonl', 'tiny/queries.jsonl', 'tiny/qrels/train.tsv'))],
    ['deflated zip', () => [fromBytes('tiny.zip', zip(tinyFiles('tiny')))]],
    ['stored zip', () => [fromBytes('tiny.zip', zip(tinyFiles('tiny'), 0))]],
    ['zip holding a .gz corpus', () => [fromBytes('tiny.zip', zip(gz(tinyFiles('tiny'), 'tiny/corpus.jsonl'), 0))]],
    ['zip without random access', () => [fromBytes('tiny.zip', zip(tinyFiles('tiny')), { noSlice: true, chunkSize: 37 })]],
    ['folder read in 1-byte chunks', () => sources(tinyFiles('tiny'), { chunkSize: 1 })],
    ['browser Files (Blobs) of a folder', () => Object.entries(tinyFiles('tiny')).map(([p, d]) => fromFile(new Blob([d]), p))],
    ['browser File of the zip', () => [fromFile(new Blob([zip(tinyFiles('tiny'))]), 'tiny.zip')]],
  ];

  it.each(packagings)('%s', async (_, make) => {
    const ds = await loadBeir(make());
    expect(ds.name).toBe('tiny');
    expect(ds.docs).toEqual([
      { id: 'd1', title: 'Cats', text: 'Cats purr.' },
      { id: 'd2', title: 'Kittens', text: 'Kittens are young cats.' },
      { id: 'd3', title: '', text: 'Dogs bark.' },
      { id: 'd4', title: 'Birds', text: 'Birds sing.' },
    ]);
    expect([...ds.queries.keys()]).toEqual(['q1', 'q2', 'q3']);
    expect(ds.qrels.get('test')).toEqual(new Map([['q1', new Map([['d1', 2], ['d2', 1]])], ['q2', new Map([['d3', 1]])]]));
    expect(ds.splits).toEqual({ test: { queries: 2, qrels: 3 }, train: { queries: 1, qrels: 1 } });
    expect(ds.warnings).toEqual([]);
    // The checksum is over decompressed content, so it does not depend on the packaging.
    expect(ds.checksum).toBe((await loadBeir(sources(tinyFiles('tiny')))).checksum);
  });
});
