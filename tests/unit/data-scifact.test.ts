// The real BEIR SciFact (../shared/data/beir/scifact) through every path: the folder from disk, the zip
// as BEIR distributes it (written to a temp file), and an import into IndexedDB. Counts and checksums
// are checked against SOURCES.md and against sha256sum-style hashes computed here with node:crypto.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError } from '../../src/errors.ts';
import { importBeir } from '../../src/store/import-beir.ts';
import { loadBeir, type BeirDataset } from '../../src/data/load.ts';
import { sourcesFromPath } from '../../src/data/node-sources.ts';
import { errorOf, freshStore, progressLog } from './helpers/beir-files.ts';

const DIR = new URL('../../../shared/data/beir/scifact', import.meta.url).pathname;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

// The decompressed files, as `sha256sum` would see them after unpacking.
const plain = () => ({
  'corpus.jsonl': gunzipSync(readFileSync(join(DIR, 'corpus.jsonl.gz'))),
  'queries.jsonl': readFileSync(join(DIR, 'queries.jsonl')),
  'qrels/test.tsv': readFileSync(join(DIR, 'qrels/test.tsv')),
  'qrels/train.tsv': readFileSync(join(DIR, 'qrels/train.tsv')),
});

let tmp = '';
let fromFolder: BeirDataset;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'expandr-scifact-'));
  fromFolder = await loadBeir(await sourcesFromPath(DIR));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('SciFact from its folder', () => {
  it('has the published counts', () => {
    expect(fromFolder.name).toBe('scifact');
    expect(fromFolder.docs).toHaveLength(5183);
    expect(fromFolder.queries.size).toBe(1109);
    expect(fromFolder.splits).toEqual({ test: { queries: 300, qrels: 339 }, train: { queries: 809, qrels: 919 } });
    expect([...fromFolder.qrels.get('test')!.values()].reduce((s, m) => s + m.size, 0)).toBe(339);
    expect(fromFolder.warnings).toEqual([]);
  });

  it('keeps BEIR ids, titles and text as in the file', () => {
    const first = JSON.parse(plain()['corpus.jsonl'].toString('utf8').split('\n')[0]);
    expect(fromFolder.docs[0]).toEqual({ id: first._id, title: first.title, text: first.text });
    expect(fromFolder.qrels.get('test')!.get('1')).toEqual(new Map([['31715818', 1]]));
  });

  it('has the SHA-256 of each decompressed file (SOURCES.md) and the checksum of their manifest', () => {
    const files = plain();
    expect(fromFolder.fileSha256['corpus.jsonl']).toBe('dec31c8182f3d744c7d2c09423756fd1d17cbef75808db13ba01cc0aab4d1ac6');
    expect(fromFolder.fileSha256['queries.jsonl']).toBe('8ff84a7c903f722981cd8d595c022660140c51867b27608a6d4910db86080313');
    const manifest = Object.entries(files)
      .map(([name, bytes]) => `${sha(bytes)}  ${name}\n`)
      .sort((a, b) => (a.slice(66) < b.slice(66) ? -1 : 1))
      .join('');
    expect(fromFolder.checksum).toBe(`sha256:${sha(Buffer.from(manifest))}`);
  });
});

describe('SciFact as the BEIR zip, from a file on disk', () => {
  it('loads the same data with the same checksum, reading the zip by ranges', async () => {
    const entries = Object.fromEntries(Object.entries(plain()).map(([name, b]) => [`scifact/${name}`, new Uint8Array(b)]));
    const zipPath = join(tmp, 'scifact.zip');
    writeFileSync(zipPath, zipSync({ ...entries, '__MACOSX/scifact/._corpus.jsonl': new Uint8Array(4) }, { level: 1 }));
    const srcs = await sourcesFromPath(zipPath);
    expect(srcs.map((s) => s.path)).toEqual(['scifact.zip']);
    const log = progressLog();
    const ds = await loadBeir(srcs, { onProgress: log.onProgress });
    expect(ds.checksum).toBe(fromFolder.checksum);
    expect(ds.docs).toEqual(fromFolder.docs);
    expect(ds.qrels).toEqual(fromFolder.qrels);
    expect(log.monotone()).toBe(true);
    for (const last of log.stages().values()) expect(last.done).toBe(last.total);
  });
});

describe('node sources', () => {
  it('lists a folder recursively with paths relative to its parent, as a dropped folder', async () => {
    const srcs = await sourcesFromPath(DIR);
    expect(srcs.map((s) => s.path)).toEqual(['scifact/corpus.jsonl.gz', 'scifact/qrels/test.tsv', 'scifact/qrels/train.tsv', 'scifact/queries.jsonl']);
    const q = srcs[3];
    expect(q.size).toBe(209_731);
    expect(new TextDecoder().decode(await q.slice!(0, 9))).toBe('{"_id": "');
    expect((await q.slice!(q.size - 3, q.size + 100)).length).toBe(3); // clamped to the file
  });

  it('says clearly when the path does not exist', async () => {
    const err = await errorOf(() => sourcesFromPath(join(tmp, 'nope')));
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toMatch(/nope: no such file or folder/);
  });
});

describe('SciFact imported into IndexedDB', () => {
  it('stores every document, query and judgement, readable in import order and by id', async () => {
    const { store } = await freshStore();
    const log = progressLog();
    const { dataset } = await importBeir(store, await sourcesFromPath(DIR), { onProgress: log.onProgress });
    expect(dataset.counts).toEqual({ docs: 5183, queries: 1109, qrelLines: 1258 });
    expect(dataset.checksum).toBe(fromFolder.checksum);
    expect(await store.countRows(dataset.id)).toMatchObject({ docs: 5183, queries: 1109, qrels: 2 });
    const ids: string[] = [];
    for await (const batch of store.iterateDocs(dataset.id, 2000)) ids.push(...batch.map((d) => d.id));
    expect(ids).toEqual(fromFolder.docs.map((d) => d.id));
    const [doc] = await store.getDocs(dataset.id, [fromFolder.docs[4000].id]);
    expect(doc).toEqual(fromFolder.docs[4000]);
    expect(await store.getQrels(dataset.id, 'test')).toEqual(fromFolder.qrels.get('test'));
    expect(log.monotone()).toBe(true);
    expect(log.stages().get('import:corpus')?.text).toBe('scifact/corpus.jsonl.gz: 5,183 docs');
  });
});
