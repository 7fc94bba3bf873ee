// Tiny hand-checkable BEIR datasets built in memory, and the packagings the importer accepts.
import { gzipSync, zipSync, type Zippable } from 'fflate';
import 'fake-indexeddb/auto'; // idb needs the IDB classes as globals
import { IDBFactory } from 'fake-indexeddb';
import { fromBytes, type FromBytesOptions, type SourceFile } from '../../../src/data/source.ts';
import { openStore, type Store } from '../../../src/store/store.ts';
import type { Progress } from '../../../src/util/progress.ts';

export const enc = (s: string) => new TextEncoder().encode(s);
export const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

/** 4 docs, 3 queries (q3 without judgements), test: q1 → d1 (2), d2 (1); q2 → d3 (1); train: q1 → d4 (1). */
export const TINY = {
  corpus: jsonl([
    { _id: 'd1', title: 'Cats', text: 'Cats purr.' },
    { _id: 'd2', title: 'Kittens', text: 'Kittens are young cats.' },
    { _id: 'd3', text: 'Dogs bark.' }, // no title: ''
    { _id: 'd4', title: 'Birds', text: 'Birds sing.', metadata: { source: 'x' } },
  ]),
  queries: jsonl([
    { _id: 'q1', text: 'why do cats purr' },
    { _id: 'q2', text: 'dogs' },
    { _id: 'q3', text: 'no judgements' },
  ]),
  test: 'query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td2\t1\nq2\td3\t1\n',
  train: 'query-id\tcorpus-id\tscore\nq1\td4\t1\n',
};

export type Files = Record<string, string | Uint8Array<ArrayBuffer>>;

/** The tiny dataset as relative path → content, under `dir/` ('' for loose files). */
export function tinyFiles(dir = 'tiny', over: Partial<Record<'corpus' | 'queries' | 'test' | 'train', string>> = {}): Files {
  const t = { ...TINY, ...over };
  const p = dir ? `${dir}/` : '';
  return { [`${p}corpus.jsonl`]: t.corpus, [`${p}queries.jsonl`]: t.queries, [`${p}qrels/test.tsv`]: t.test, [`${p}qrels/train.tsv`]: t.train };
}

/** Path → content as SourceFiles (a dropped folder / loose files). */
export function sources(files: Files, opts?: FromBytesOptions): SourceFile[] {
  return Object.entries(files).map(([path, data]) => fromBytes(path, data, opts));
}

/** Gzips the named entries, renaming them to '<name>.gz'. */
export function gz(files: Files, ...names: string[]): Files {
  const out: Files = {};
  for (const [path, data] of Object.entries(files)) {
    if (names.includes(path)) out[`${path}.gz`] = gzipSync(typeof data === 'string' ? enc(data) : data);
    else out[path] = data;
  }
  return out;
}

/** A zip of the files; `level: 0` stores them uncompressed. */
export function zip(files: Files, level: 0 | 6 = 6): Uint8Array<ArrayBuffer> {
  const z: Zippable = {};
  for (const [path, data] of Object.entries(files)) z[path] = [typeof data === 'string' ? enc(data) : data, { level }];
  return zipSync(z);
}

/** A fresh fake IndexedDB per call, so tests never share state. */
export async function freshStore(dbName = 'test'): Promise<{ store: Store; factory: IDBFactory; reopen: () => Promise<Store> }> {
  const factory = new IDBFactory();
  const open = () => openStore({ dbName, idbFactory: factory });
  return { store: await open(), factory, reopen: open };
}

/** Records progress and checks, per stage, that `done` never decreases and stays within `total`. */
export function progressLog() {
  const events: Progress[] = [];
  return {
    events,
    onProgress: (p: Progress) => void events.push({ ...p }),
    /** Stages in order of first appearance, each with its last event. */
    stages(): Map<string, Progress> {
      const m = new Map<string, Progress>();
      for (const e of events) m.set(e.stage, e);
      return m;
    },
    monotone(): boolean {
      const last = new Map<string, number>();
      return events.every((e) => {
        const ok = e.done >= (last.get(e.stage) ?? 0) && e.done <= e.total;
        last.set(e.stage, e.done);
        return ok;
      });
    },
  };
}

/** Runs `fn` and returns the error it throws (fails the test when it does not throw). */
export async function errorOf(fn: () => Promise<unknown>): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error, but none was thrown');
}
