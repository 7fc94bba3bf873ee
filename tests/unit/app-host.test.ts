// The worker protocol end to end in Node: import through messages, list, BM25 evaluation, cancel, errors.
import { describe, expect, it } from 'vitest';
import { IDBFactory } from 'fake-indexeddb';
import { gzipSync, strToU8 } from 'fflate';
import { createHost } from '../../src/app/host.ts';
import { openStore } from '../../src/store/store.ts';
import type { Request, Response } from '../../src/app/protocol.ts';

const corpus = [
  { _id: 'd1', title: 'Cats', text: 'Cats purr and sleep all day.' },
  { _id: 'd2', title: 'Dogs', text: 'Dogs bark at the mailman.' },
  { _id: 'd3', title: 'Birds', text: 'Birds sing in the morning; cats watch birds.' },
];
const queries = [
  { _id: 'q1', text: 'why do cats purr' },
  { _id: 'q2', text: 'dogs barking' },
  { _id: 'q3', text: 'a query without judgements' },
];
const qrels = 'query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n';
const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

function files() {
  return [
    { path: 'tiny/corpus.jsonl.gz', file: new Blob([gzipSync(strToU8(jsonl(corpus)))]) },
    { path: 'tiny/queries.jsonl', file: new Blob([jsonl(queries)]) },
    { path: 'tiny/qrels/test.tsv', file: new Blob([qrels]) },
  ];
}

function makeHost() {
  const factory = new IDBFactory();
  const inbox: Response[] = [];
  const host = createHost((m) => inbox.push(m), () => openStore({ dbName: 'host-test', idbFactory: factory }));
  let id = 0;
  async function call(req: Omit<Extract<Request, { args: unknown }>, 'id'>) {
    const myId = ++id;
    await host.handle({ ...req, id: myId } as Request);
    const mine = inbox.filter((m) => m.id === myId);
    const last = mine[mine.length - 1];
    return { last, progress: mine.filter((m) => m.type === 'progress') };
  }
  return { host, call, inbox };
}

describe('core host protocol', () => {
  it('imports, lists, evaluates BM25 and serves the run file', async () => {
    const { call } = makeHost();
    const imp = await call({ type: 'import', args: { files: files() } });
    expect(imp.last.type).toBe('result');
    expect(imp.progress.length).toBeGreaterThan(0);
    const list = await call({ type: 'list', args: {} });
    const datasets = (list.last as { result: { id: string; name: string; counts: { docs: number } }[] }).result;
    expect(datasets.map((d) => [d.name, d.counts.docs])).toEqual([['tiny', 3]]);

    const bm = await call({ type: 'bm25', args: { datasetId: datasets[0].id, split: 'test' } });
    expect(bm.last.type).toBe('result');
    const r = (bm.last as { result: { metrics: Record<string, number>; queries: number; timings: { indexReused: boolean } } }).result;
    expect(r.queries).toBe(2);
    expect(r.metrics['ndcg@10']).toBe(1); // each query's only relevant doc ranks first
    expect(r.timings.indexReused).toBe(false);

    const again = await call({ type: 'bm25', args: { datasetId: datasets[0].id, split: 'test' } });
    expect((again.last as { result: { timings: { indexReused: boolean } } }).result.timings.indexReused).toBe(true);

    const run = await call({ type: 'run', args: { datasetId: datasets[0].id, split: 'test' } });
    const text = (run.last as { result: string }).result;
    expect(text.split('\n')[0]).toMatch(/^q1 Q0 d1 1 \S+ expandr-bm25$/);
  });

  it('answers an unknown split and a missing dataset with a clear error', async () => {
    const { call } = makeHost();
    await call({ type: 'import', args: { files: files() } });
    const list = await call({ type: 'list', args: {} });
    const id = (list.last as { result: { id: string }[] }).result[0].id;
    const bad = await call({ type: 'bm25', args: { datasetId: id, split: 'dev' } });
    expect(bad.last).toMatchObject({ type: 'error', name: 'NotFoundError' });
    expect((bad.last as { message: string }).message).toContain('has test');
    const gone = await call({ type: 'bm25', args: { datasetId: 'nope', split: 'test' } });
    expect(gone.last).toMatchObject({ type: 'error', name: 'NotFoundError' });
  });

  it('cancels a running import and stores nothing', async () => {
    const { host, inbox, call } = makeHost();
    const big = Array.from({ length: 20_000 }, (_, i) => ({ _id: `d${i}`, title: '', text: `document number ${i} about cats` }));
    const req: Request = {
      type: 'import',
      id: 100,
      args: { files: [{ path: 'big/corpus.jsonl', file: new Blob([jsonl(big)]) }, ...files().slice(1).map((f) => ({ ...f, path: f.path.replace('tiny', 'big') }))] },
    };
    const pending = host.handle(req);
    // Cancel as soon as the corpus stage reports progress.
    while (!inbox.some((m) => m.id === 100 && m.type === 'progress' && m.stage === 'import:corpus')) {
      await new Promise((r) => setTimeout(r, 1));
    }
    await host.handle({ type: 'cancel', id: 101, target: 100 });
    await pending;
    expect(inbox.filter((m) => m.id === 100).pop()).toMatchObject({ type: 'error', name: 'CancelledError' });
    const list = await call({ type: 'list', args: {} });
    expect((list.last as { result: unknown[] }).result).toEqual([]);
  });
});
