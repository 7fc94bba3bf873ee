// Damaged files on disk: a checkpoint folder, a run folder's file set and run-state.json, and a model folder
// as fetch-model leaves it (with its file manifest), each with one byte changed, truncated or deleted. Reading
// throws DamagedDataError naming the file and the fix and never returns the data; folders written before
// manifests are read as they are.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DamagedDataError } from '../../src/errors.ts';
import { folderCheckpointSink } from '../../src/cli/checkpoint-folders.ts';
import { folderRunStore, RUN_STATE_FILE } from '../../src/cli/run-folder.ts';
import { STATE_JSON, STATE_TENSORS } from '../../src/train/checkpoint.ts';
import { modelFilesFromPath, verifyModelPath } from '../../src/model/sources-node.ts';
import { FILE_MANIFEST, writeFolderManifest } from '../../src/util/file-manifest-node.ts';
import { errorOf } from './helpers/beir-files.ts';
import { fakeCheckpoint } from './helpers/stored-snapshot.ts';

const TINY_BERT = resolve(import.meta.dirname, '../reference/fixtures/tiny-bert');
const TEST_GGUF = resolve(import.meta.dirname, '../reference/fixtures/gguf-dequant.gguf');
const tmp = mkdtempSync(join(tmpdir(), 'expandr-damaged-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const fresh = (name: string) => join(tmp, `${name}-${n++}`);

/** One byte of the file flipped in place (size unchanged). */
function flipByte(path: string, at: number): void {
  const b = readFileSync(path);
  b[at] ^= 0x40;
  writeFileSync(path, b);
}

describe('a checkpoint folder', () => {
  async function saved() {
    const dir = fresh('ckpt');
    const sink = folderCheckpointSink(dir);
    await sink.save(fakeCheckpoint(4));
    return { dir, sink };
  }

  it('holds a file manifest and loads back what was saved', async () => {
    const { dir, sink } = await saved();
    expect(existsSync(join(dir, FILE_MANIFEST))).toBe(true);
    expect(await sink.latest()).toEqual(fakeCheckpoint(4));
  });

  it.each([
    ['a changed byte in the tensors', (dir: string) => flipByte(join(dir, STATE_TENSORS), 200), /training_state\.safetensors: its SHA-256 is \w{64}, not the \w{64} written \(the file was altered\)/],
    ['a truncated tensors file', (dir: string) => truncateSync(join(dir, STATE_TENSORS), 100), /training_state\.safetensors: 100 bytes, not the \d+ written \(truncated\)/],
    ['a changed byte in the JSON', (dir: string) => flipByte(join(dir, STATE_JSON), 30), /training_state\.json: its SHA-256 is/],
    ['the tensors file deleted', (dir: string) => unlinkSync(join(dir, STATE_TENSORS)), /training_state\.safetensors: missing \(the folder's manifest lists it\)/],
  ])('is refused with %s, naming the file and how to start afresh', async (_what, damage, message) => {
    const { dir, sink } = await saved();
    damage(dir);
    const err = await errorOf(() => sink.latest());
    expect(err).toBeInstanceOf(DamagedDataError);
    expect(err.message).toMatch(message);
    expect(err.message.endsWith(`Do not resume from it: delete ${dir} to start this training afresh`)).toBe(true);
  });

  it('written before manifests loads unverified', async () => {
    const { dir, sink } = await saved();
    unlinkSync(join(dir, FILE_MANIFEST));
    expect(await sink.latest()).toEqual(fakeCheckpoint(4));
  });
});

describe('a run folder', () => {
  const set = new Map([
    ['config.json', new TextEncoder().encode('{"a": 1}')],
    ['sub/model.safetensors', Uint8Array.from({ length: 300 }, (_, i) => i & 0xff)],
  ]);

  it("returns a file set as written (its manifest left out) and refuses one with a changed or missing file", async () => {
    const dir = fresh('run');
    const runs = folderRunStore(dir);
    await runs.putFiles('encoders/round-1', set);
    expect(await runs.getFiles('encoders/round-1')).toEqual(set);

    flipByte(join(dir, 'encoders/round-1/sub/model.safetensors'), 7);
    const err = await errorOf(() => runs.getFiles('encoders/round-1'));
    expect(err).toBeInstanceOf(DamagedDataError);
    expect(err.message).toMatch(/encoders\/round-1\/sub\/model\.safetensors: its SHA-256 is .* \(the file was altered\)\. Do not use it: use a new --out folder, or delete .*run-state\.json to start afresh$/);

    await runs.putFiles('encoders/round-1', set);
    unlinkSync(join(dir, 'encoders/round-1/config.json'));
    expect((await errorOf(() => runs.getFiles('encoders/round-1'))).message).toMatch(/config\.json: missing/);
  });

  it('refuses a run state that is not JSON any more, saying how to start afresh', async () => {
    const dir = fresh('run');
    const runs = folderRunStore(dir);
    await runs.saveState({ version: 1 } as never);
    truncateSync(join(dir, RUN_STATE_FILE), 5);
    const err = await errorOf(() => runs.loadState());
    expect(err).toBeInstanceOf(DamagedDataError);
    expect(err.message).toMatch(/run-state\.json: not readable as JSON .* It cannot be resumed: use a new --out folder/);
  });
});

describe('a model folder with a file manifest (as fetch-model writes it)', () => {
  function fetched(): string {
    const dir = fresh('tiny-bert');
    cpSync(TINY_BERT, dir, { recursive: true });
    return dir;
  }

  it('loads when intact, and is refused with a changed or truncated file, naming it and the fetch-model command', async () => {
    const dir = fetched();
    await writeFolderManifest(dir);
    expect((await modelFilesFromPath(dir)).files.has('model.safetensors')).toBe(true);

    flipByte(join(dir, 'model.safetensors'), 1000);
    const err = await errorOf(() => modelFilesFromPath(dir));
    expect(err).toBeInstanceOf(DamagedDataError);
    expect(err.message).toMatch(/model\.safetensors: its SHA-256 is .* \(the file was altered\)\. Fetch or copy the model again \(a folder from fetch-model: run `npm run -s expandr -- fetch-model tiny-bert-\d+ --force`\)$/);

    const again = fetched();
    await writeFolderManifest(again);
    truncateSync(join(again, 'vocab.txt'), 10);
    expect((await errorOf(() => modelFilesFromPath(again))).message).toMatch(/vocab\.txt: 10 bytes, not the \d+ written \(truncated\)/);
  });

  it('checks a single file given by path against its folder manifest (a .gguf), and only that file', async () => {
    const dir = fresh('gguf');
    cpSync(TEST_GGUF, join(dir, 'm.gguf'));
    writeFileSync(join(dir, 'notes.txt'), 'hello');
    await writeFolderManifest(dir);
    writeFileSync(join(dir, 'notes.txt'), 'changed'); // not the file asked for
    await verifyModelPath(join(dir, 'm.gguf'));
    flipByte(join(dir, 'm.gguf'), 100);
    expect(await errorOf(() => verifyModelPath(join(dir, 'm.gguf')))).toBeInstanceOf(DamagedDataError);
  });

  it('without a manifest (copied by hand) is read as it is', async () => {
    const dir = fetched();
    flipByte(join(dir, 'vocab.txt'), 3);
    expect((await modelFilesFromPath(dir)).files.has('vocab.txt')).toBe(true);
  });
});
