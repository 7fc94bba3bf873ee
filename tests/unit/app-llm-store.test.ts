// A dropped decoder kept in this browser with its large files in chunks (src/app/llm-store.ts), on
// fake-indexeddb: stories260K's model .bin (1 MB) stored in 64 KiB chunks comes back byte for byte, by range
// and whole, loads as the same decoder, and keeps the key the whole-file scheme gave it; a cancelled store
// leaves nothing in the cache.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { fromFile } from '../../src/data/source.ts';
import { CancelledError } from '../../src/errors.ts';
import { modelFilesFromSources } from '../../src/llm/files.ts';
import { loadDecoderFiles } from '../../src/llm/load.ts';
import { keepLlmFiles, storedLlmFiles } from '../../src/app/llm-store.ts';
import { isChunkEntry } from '../../src/model/chunked-file.ts';
import { openStore } from '../../src/store/store.ts';
import { folderFiles } from './helpers/folder-files.ts';

const STORIES = join(import.meta.dirname, '../../../shared/models/stories260K');
const CHUNK = 64 * 1024;

const dropped = () => modelFilesFromSources(folderFiles(STORIES, 'stories260K').map((f) => fromFile(f.file, f.path)));

describe('kept LLM files', () => {
  it('stores a large file in chunks and reads it back by range, whole and as a decoder', async () => {
    const store = await openStore({ dbName: 'llm-store', idbFactory: new IDBFactory() });
    const files = dropped();
    const key = await keepLlmFiles(store, files, {}, { chunkBytes: CHUNK });
    const wholeKey = await keepLlmFiles(await openStore({ dbName: 'llm-store-whole', idbFactory: new IDBFactory() }), files);
    expect(key).toBe(wholeKey); // the key names the content, however it is stored
    const entries = (await store.listModelFiles()).filter((e) => e.source === key).map((e) => e.file);
    expect(entries.filter(isChunkEntry).length).toBeGreaterThan(16); // 1 MB in 64 KiB chunks

    const back = (await storedLlmFiles(store, key, ''))!;
    expect(back.label).toBe('stories260K');
    expect(back.names().sort()).toEqual(['expected-greedy.txt', 'stories260K.bin', 'tok512.bin']);
    const bin = new Uint8Array(readFileSync(join(STORIES, 'stories260K.bin')));
    expect(back.size!('stories260K.bin')).toBe(bin.length);
    expect(await back.read('stories260K.bin')).toEqual(bin);
    expect(await back.readRange!('stories260K.bin', CHUNK - 3, 10)).toEqual(bin.slice(CHUNK - 3, CHUNK + 7));
    expect(await back.read('tok512.bin')).toEqual(new Uint8Array(readFileSync(join(STORIES, 'tok512.bin'))));

    const a = await loadDecoderFiles(dropped());
    const b = await loadDecoderFiles(back);
    expect(b.config).toEqual(a.config);
    expect([...b.weights.keys()]).toEqual([...a.weights.keys()]);
  });

  it('leaves nothing behind when the store is cancelled', async () => {
    const store = await openStore({ dbName: 'llm-store-cancel', idbFactory: new IDBFactory() });
    const stop = new AbortController();
    const work = { signal: stop.signal, onProgress: (p: { stage: string }) => p.stage === 'model:store' && stop.abort() };
    await expect(keepLlmFiles(store, dropped(), work, { chunkBytes: CHUNK })).rejects.toBeInstanceOf(CancelledError);
    expect(await store.listModelFiles()).toEqual([]);
  });
});
