// A large model file kept in IndexedDB in chunks (src/model/chunked-file.ts), on fake-indexeddb through the
// real store: round trip, ranges across chunk boundaries against a plain slice (the naive oracle), the
// SHA-256 against node:crypto's, an interrupted write that is never taken for a file, a damaged or missing
// chunk detected, and a cached model whose big file is chunked (sources-cache.ts).
import { createHash } from 'node:crypto';
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { CancelledError, DamagedDataError, NotFoundError } from '../../src/errors.ts';
import { chunkEntry, digestChunks, manifestEntry, openChunkedFile, rangedBlob, writeChunkedFile, type RangedBytes } from '../../src/model/chunked-file.ts';
import { readCachedModel, readCachedModelParts, storeModelCache, writeModelManifest, type ModelFileCache } from '../../src/model/sources-cache.ts';
import type { Progress } from '../../src/util/progress.ts';
import { createRng } from '../../src/util/random.ts';
import { openStore } from '../../src/store/store.ts';

/** Small chunks so a few KB cross several boundaries; the last chunk is partial. */
const CHUNK = 1000;
const SIZE = 4321;

let db = 0;
async function cache(): Promise<ModelFileCache> {
  return storeModelCache(await openStore({ dbName: `chunked-${db++}`, idbFactory: new IDBFactory() }));
}

function randomBytes(n: number, seed = 7): Uint8Array<ArrayBuffer> {
  const rng = createRng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(rng.float() * 256));
}

/** Ranged bytes that count reads (to show the file is read in chunk-sized pieces, never whole). */
function counted(bytes: Uint8Array): RangedBytes & { largest: number } {
  const r = {
    size: bytes.length,
    largest: 0,
    read: async (offset: number, length: number) => {
      r.largest = Math.max(r.largest, length);
      return bytes.slice(offset, offset + length);
    },
  };
  return r;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('chunked model files', () => {
  it('round-trips a file written from a Blob, with byte progress that never decreases and ends at the size', async () => {
    const c = await cache();
    const bytes = randomBytes(SIZE);
    const seen: Progress[] = [];
    const m = await writeChunkedFile(c, 'local:x', '', 'model.gguf', new Blob([bytes]), { onProgress: (p) => seen.push(p) }, { chunkBytes: CHUNK });
    expect(m.size).toBe(SIZE);
    expect(m.chunks).toHaveLength(5);
    expect(m.sha256).toBe(sha256(bytes));
    expect(m.chunks[4]).toBe(sha256(bytes.subarray(4000)));
    const done = seen.map((p) => p.done);
    expect(done).toEqual([...done].sort((a, b) => a - b));
    expect(seen.at(-1)).toMatchObject({ stage: 'model:store', done: SIZE, total: SIZE, unit: 'bytes' });

    const f = (await openChunkedFile(c, 'local:x', '', 'model.gguf'))!;
    expect(f.size).toBe(SIZE);
    expect(f.sha256).toBe(sha256(bytes));
    expect(await f.readAll()).toEqual(bytes);
    await f.verify();
  });

  it('reads any range like a slice of the whole file, across chunk boundaries and clamped at the end', async () => {
    const c = await cache();
    const bytes = randomBytes(SIZE, 3);
    const src = counted(bytes);
    await writeChunkedFile(c, 's', 'r', 'f.bin', src, {}, { chunkBytes: CHUNK });
    expect(src.largest).toBe(CHUNK); // never the whole file
    const f = (await openChunkedFile(c, 's', 'r', 'f.bin'))!;
    const cases: [number, number][] = [[0, 1], [999, 2], [1000, 1000], [998, 2005], [0, SIZE], [4300, 100], [4321, 5], [3999, 1], [500, 0], [1500, 2900]];
    const rng = createRng(11);
    for (let i = 0; i < 40; i++) cases.push([Math.floor(rng.float() * SIZE), Math.floor(rng.float() * 3 * CHUNK)]);
    for (const [offset, length] of cases) expect(await f.read(offset, length), `read(${offset}, ${length})`).toEqual(bytes.slice(offset, offset + length));
  });

  it('checksums in a first pass, then stores against that digest and refuses a file that changed in between', async () => {
    const c = await cache();
    const bytes = randomBytes(SIZE, 5);
    const digest = await digestChunks(rangedBlob(new Blob([bytes])), 'f.gguf', {}, CHUNK);
    expect(digest.sha256).toBe(sha256(bytes));
    const m = await writeChunkedFile(c, 's', '', 'f.gguf', new Blob([bytes]), {}, { digest });
    expect(m.sha256).toBe(digest.sha256);
    expect(m.chunks).toEqual(digest.chunks);

    const other = bytes.slice();
    other[2500] ^= 1;
    await expect(writeChunkedFile(c, 's', '', 'g.gguf', new Blob([other]), {}, { digest })).rejects.toThrow(/changed while it was being stored/);
    expect(await openChunkedFile(c, 's', '', 'g.gguf')).toBeUndefined();
  });

  it('never takes an interrupted write for a file: no manifest, no file', async () => {
    const c = await cache();
    const bytes = randomBytes(SIZE, 9);
    const stop = new AbortController();
    // Cancelled once two chunks are in (progress is throttled, so the cache itself pulls the trigger).
    let written = 0;
    const cancelling: ModelFileCache = {
      ...c,
      put: async (...a) => {
        await c.put(...a);
        if (++written === 2) stop.abort();
      },
    };
    const write = writeChunkedFile(cancelling, 's', '', 'big.gguf', counted(bytes), { signal: stop.signal }, { chunkBytes: CHUNK });
    await expect(write).rejects.toBeInstanceOf(CancelledError);
    expect(await c.get('s', '', chunkEntry('big.gguf', 0))).toBeDefined(); // some chunks were written...
    expect(await c.get('s', '', manifestEntry('big.gguf'))).toBeUndefined(); // ...but not the manifest
    expect(await openChunkedFile(c, 's', '', 'big.gguf')).toBeUndefined();

    // A cache that fails mid-way (storage full, tab closed) leaves no file either.
    let puts = 0;
    const failing: ModelFileCache = { ...c, put: async (...a) => (++puts === 3 ? Promise.reject(new Error('disk gone')) : c.put(...a)) };
    await expect(writeChunkedFile(failing, 't', '', 'big.gguf', counted(bytes), {}, { chunkBytes: CHUNK })).rejects.toThrow('disk gone');
    expect(await openChunkedFile(c, 't', '', 'big.gguf')).toBeUndefined();
  });

  it('detects a damaged, truncated or missing chunk when it is read, naming the file and the fix', async () => {
    const c = await cache();
    const bytes = randomBytes(SIZE, 13);
    await writeChunkedFile(c, 's', '', 'm.gguf', counted(bytes), {}, { chunkBytes: CHUNK });
    const flipped = (await c.get('s', '', chunkEntry('m.gguf', 2)))!;
    flipped[17] ^= 0x40;
    await c.put('s', '', chunkEntry('m.gguf', 2), flipped);

    const f = (await openChunkedFile(c, 's', '', 'm.gguf'))!;
    expect(await f.read(0, 2000)).toEqual(bytes.slice(0, 2000)); // the intact chunks still read
    const err = await f.read(1990, 20).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DamagedDataError);
    expect((err as Error).message).toMatch(/m\.gguf.*damaged: part 3 of 5 does not match its SHA-256.*Drop the file again/);
    await expect(f.verify()).rejects.toThrow(/damaged/);

    await c.put('s', '', chunkEntry('m.gguf', 2), bytes.slice(2000, 2999));
    await expect((await openChunkedFile(c, 's', '', 'm.gguf'))!.read(2500, 1)).rejects.toThrow(/part 3 of 5 has 999 bytes, not 1000/);

    await c.delete('s', ''); // everything of the source, the manifest too
    expect(await openChunkedFile(c, 's', '', 'm.gguf')).toBeUndefined();
    await writeChunkedFile(c, 's', '', 'm.gguf', counted(bytes), {}, { chunkBytes: CHUNK });
    const missing: ModelFileCache = { ...c, get: async (s, r, file) => (file === chunkEntry('m.gguf', 4) ? undefined : c.get(s, r, file)) };
    await expect((await openChunkedFile(missing, 's', '', 'm.gguf'))!.read(4100, 10)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('keeps a model with whole and chunked files; the model manifest lists both, and old manifests still read', async () => {
    const c = await cache();
    const big = randomBytes(SIZE, 17);
    const small = new TextEncoder().encode('{"a":1}');
    await c.put('local:m', '', 'config.json', small);
    await writeChunkedFile(c, 'local:m', '', 'model.gguf', counted(big), {}, { chunkBytes: CHUNK });
    expect(await readCachedModelParts(c, 'local:m', '')).toBeUndefined(); // no model manifest yet
    await writeModelManifest(c, 'local:m', '', ['config.json'], ['model.gguf']);
    const parts = (await readCachedModelParts(c, 'local:m', ''))!;
    expect([...parts.whole.keys()]).toEqual(['config.json']);
    expect(await parts.chunked.get('model.gguf')!.read(990, 30)).toEqual(big.slice(990, 1020));
    expect(await readCachedModel(c, 'local:m', '')).toEqual(new Map([['config.json', small], ['model.gguf', big]]));

    // A chunked file the manifest names but whose own manifest is gone: the model is not cached.
    await c.put('local:m', '', manifestEntry('model.gguf'), new TextEncoder().encode('not json'));
    expect(await readCachedModelParts(c, 'local:m', '')).toBeUndefined();
  });
});
