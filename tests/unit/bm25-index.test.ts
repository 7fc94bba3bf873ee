// BM25 index: layout, batches vs one by one, stored form, cancellation, progress, validation.
import { describe, expect, it } from 'vitest';
import type { BeirDoc } from '../../src/data/types.ts';
import { CancelledError, ExpandrError, NotFoundError } from '../../src/errors.ts';
import type { Progress } from '../../src/util/progress.ts';
import { Bm25Index, Bm25Searcher, buildBm25Index, FORMAT_VERSION, searchBm25 } from '../../src/retrieval/bm25/index.ts';

const DOCS: BeirDoc[] = [
  { id: 'd1', title: 'Cats', text: 'Cats purr and sleep all day.' },
  { id: 'd2', title: 'Dogs', text: 'Dogs bark at the mailman.' },
  { id: 'd3', title: '', text: 'The and of it.' }, // stop words only: length 0, not in docCount
  { id: 'd4', title: 'Birds', text: 'Birds sing; cats watch birds.' },
];

async function* batches(docs: BeirDoc[], size: number, onBatch?: (i: number) => void): AsyncGenerator<BeirDoc[]> {
  for (let i = 0; i < docs.length; i += size) {
    onBatch?.(i / size);
    yield docs.slice(i, i + size);
  }
}

function manyDocs(n: number): BeirDoc[] {
  return Array.from({ length: n }, (_, i) => ({ id: `doc${i}`, title: `title ${i % 7}`, text: `word${i % 13} cell gene ${i}` }));
}

describe('buildBm25Index', () => {
  it('lays out postings in CSR form with Lucene statistics', async () => {
    const index = await buildBm25Index(DOCS);
    expect(index.docIds).toEqual(['d1', 'd2', 'd3', 'd4']);
    expect(index.terms).toEqual(['cat', 'purr', 'sleep', 'all', 'dai', 'dog', 'bark', 'mailman', 'bird', 'sing', 'watch']);
    expect([...index.docLengths]).toEqual([6, 4, 0, 6]); // title + text, stop words excluded
    expect(index.docCount).toBe(3);
    expect(index.sumTotalTermFreq).toBe(16);
    const postings = (term: string) => {
      const t = index.termOrdinals.get(term)!;
      const range = [index.postingStart[t]!, index.postingStart[t + 1]!];
      return [...index.postingDocs.slice(...range)].map((d, i) => [index.docIds[d], index.postingTfs[range[0]! + i]]);
    };
    expect(postings('cat')).toEqual([['d1', 2], ['d4', 1]]);
    expect(postings('bird')).toEqual([['d4', 3]]);
    expect(index.docFreq('cat')).toBe(2);
    expect(index.docFreq('zebra')).toBe(0);
    expect(index.postingTfs).toBeInstanceOf(Uint16Array);
  });

  it('gives the same index from store batches (async) as from an array', async () => {
    const docs = manyDocs(1000);
    const a = await buildBm25Index(docs);
    const b = await buildBm25Index(batches(docs, 128));
    expect(b.toStored()).toEqual(a.toStored());
  });

  it('switches to 32-bit term frequencies when one exceeds 65535', async () => {
    const index = await buildBm25Index([{ id: 'big', title: '', text: 'cat '.repeat(70_000) }]);
    expect(index.postingTfs).toBeInstanceOf(Uint32Array);
    expect(index.postingTfs[0]).toBe(70_000);
  });

  it('refuses duplicate document ids', async () => {
    await expect(buildBm25Index([DOCS[0]!, DOCS[0]!])).rejects.toThrow(ExpandrError);
  });

  it('reports progress that never decreases and ends at the total', async () => {
    const seen: Progress[] = [];
    await buildBm25Index(batches(manyDocs(3000), 500), { totalDocs: 3000, onProgress: (p) => seen.push(p) });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((p) => p.stage === 'bm25:index' && p.unit === 'docs' && p.total === 3000)).toBe(true);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.done).toBeGreaterThanOrEqual(seen[i - 1]!.done);
    expect(seen.at(-1)!.done).toBe(3000);
  });

  it('stops with CancelledError when aborted before or during indexing', async () => {
    const before = new AbortController();
    before.abort();
    await expect(buildBm25Index(DOCS, { signal: before.signal })).rejects.toThrow(CancelledError);

    const during = new AbortController();
    const gen = batches(manyDocs(2000), 100, (i) => i === 3 && during.abort());
    await expect(buildBm25Index(gen, { signal: during.signal })).rejects.toThrow(CancelledError);
  });
});

describe('stored form', () => {
  it('survives structured cloning and gives identical results', async () => {
    const docs = manyDocs(500);
    const index = await buildBm25Index(docs, { k1: 1.1, b: 0.5 });
    const restored = Bm25Index.fromStored(structuredClone(index.toStored()));
    expect(restored.params).toEqual({ k1: 1.1, b: 0.5, docLength: 'lucene' });
    const queries = [{ id: 'q1', text: 'cell gene word3' }, { id: 'q2', text: 'title 5 word12' }];
    expect(await searchBm25(restored, queries)).toEqual(await searchBm25(index, queries));
  });

  it('refuses another format version, another analyzer or truncated arrays', async () => {
    const stored = (await buildBm25Index(DOCS)).toStored();
    expect(stored.version).toBe(FORMAT_VERSION);
    expect(() => Bm25Index.fromStored({ ...stored, version: FORMAT_VERSION + 1 })).toThrow(NotFoundError);
    expect(() => Bm25Index.fromStored({ ...stored, analyzer: 'whitespace' })).toThrow(/analyzer/);
    expect(() => Bm25Index.fromStored({ ...stored, postingDocs: stored.postingDocs.slice(1) })).toThrow(/corrupted/);
    expect(() => Bm25Index.fromStored({ nonsense: true } as never)).toThrow(NotFoundError);
  });
});

describe('searchBm25', () => {
  it('validates k (1..1000, integer)', async () => {
    const index = await buildBm25Index(DOCS);
    for (const k of [0, 1001, 2.5, Number.NaN]) {
      await expect(searchBm25(index, [{ id: 'q', text: 'cat' }], { k })).rejects.toThrow(/k must be/);
    }
    expect(() => new Bm25Searcher(index).search('cat', 0)).toThrow(/k must be/);
    await expect(searchBm25(index, [], { b: 2 })).rejects.toThrow(/b must be/);
  });

  it('returns an empty hit list for a query without indexed terms', async () => {
    const run = await searchBm25(await buildBm25Index(DOCS), [{ id: 'q', text: 'the of' }]);
    expect(run.get('q')).toEqual([]);
  });

  it('reports progress per query and can be cancelled between queries', async () => {
    const index = await buildBm25Index(manyDocs(200));
    const queries = Array.from({ length: 20 }, (_, i) => ({ id: `q${i}`, text: `word${i} gene` }));
    const seen: Progress[] = [];
    await searchBm25(index, queries, { onProgress: (p) => seen.push(p) });
    expect(seen.at(-1)).toMatchObject({ stage: 'bm25:search', done: 20, total: 20, unit: 'queries' });

    const ac = new AbortController();
    const cancelled = searchBm25(index, queries, {
      signal: ac.signal,
      onProgress: (p) => p.done >= 5 && ac.abort(),
    });
    await expect(cancelled).rejects.toThrow(CancelledError);
  });
});
