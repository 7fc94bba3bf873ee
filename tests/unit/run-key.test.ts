// The run key (src/pipeline/run-key.ts): the same content gives the same key whatever things are called;
// any change of model bytes, config, dataset checksum or code gives another. The decoder hash is the
// page's key for the same folder (keepLlmFiles), so a model hashed by the runner and kept by the page is
// one model. The canonical JSON is RFC 8785's (checked on its published example).
import { join } from 'node:path';
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { keepLlmFiles } from '../../src/app/llm-store.ts';
import { fromFile } from '../../src/data/source.ts';
import { modelFilesFromBytes, modelFilesFromSources } from '../../src/llm/files.ts';
import { modelHash } from '../../src/model/sources.ts';
import { experimentConfig } from '../../src/pipeline/config.ts';
import { codeVersion, decoderHash, hubOrigin, keyConfig, runKey, runKeyContent, shortKey, SHORT_KEY_HEX, type RunKeyParts } from '../../src/pipeline/run-key.ts';
import { openStore } from '../../src/store/store.ts';
import { folderFiles } from './helpers/folder-files.ts';
import canonicalize from 'canonicalize';

const STORIES = join(import.meta.dirname, '../../../shared/models/stories260K');
const enc = (s: string) => new TextEncoder().encode(s);

async function parts(over: { weights?: string; seed?: number; checksum?: string; code?: string; names?: string } = {}): Promise<RunKeyParts> {
  const n = over.names ?? 'a';
  const encoder = new Map([['config.json', enc('{"hidden_size":8}')], ['model.safetensors', enc(over.weights ?? 'weights-1')]]);
  return {
    models: [
      { role: 'encoder', name: `encoder-${n}`, hash: await modelHash(encoder) },
      { role: 'llm', name: `llm-${n}`, hash: 'sha256:llm' },
    ],
    datasets: [{ role: 'data', name: `scifact-${n}`, checksum: over.checksum ?? 'sha256:data-1' }],
    config: experimentConfig({ data: `/data/${n}`, seed: over.seed ?? 42, encoder: { model: `/models/${n}` }, llm: { model: `/llms/${n}.gguf` } }),
    code: over.code ?? codeVersion('0.1.0', 'f94cc9e0123456789'),
  };
}

describe('run key', () => {
  it('is the same for the same content, whatever the models, datasets and paths are called', async () => {
    const a = runKey(await parts());
    expect(a.key).toMatch(/^run-[0-9a-f]{64}$/);
    expect(a.short).toBe(a.key.slice(4, 4 + SHORT_KEY_HEX));
    expect(shortKey(a.key)).toBe(a.short);
    expect(runKey(await parts()).key).toBe(a.key);
    expect(runKey(await parts({ names: 'renamed' })).key).toBe(a.key);
  });

  it('changes with one byte of the model, the config, the dataset checksum or the code version', async () => {
    const base = runKey(await parts()).key;
    const others = [
      await parts({ weights: 'weights-2' }),
      await parts({ seed: 43 }),
      await parts({ checksum: 'sha256:data-2' }),
      await parts({ code: codeVersion('0.1.0', 'aaaaaaa0123') }),
    ].map((p) => runKey(p).key);
    expect(new Set([base, ...others]).size).toBe(5);
  });

  it('does not depend on the order of keys in the config or of the models', async () => {
    const p = await parts();
    const c = p.config as Record<string, unknown>;
    const reordered = Object.fromEntries(Object.entries(c).reverse());
    expect(runKey({ ...p, config: reordered, models: [...p.models].reverse() }).key).toBe(runKey(p).key);
  });

  it("keys training datasets by checksum when given (their paths then do not matter), else by path", async () => {
    const p = await parts();
    const withTrain = (path: string, checksum?: string): RunKeyParts => ({
      ...p,
      config: { ...(p.config as object), trainData: [path] },
      datasets: checksum ? [...p.datasets, { role: 'train:0', name: path, checksum }] : p.datasets,
    });
    expect(runKey(withTrain('/a/nq', 'sha256:nq')).key).toBe(runKey(withTrain('/b/renamed', 'sha256:nq')).key);
    expect(runKey(withTrain('/a/nq', 'sha256:nq')).key).not.toBe(runKey(withTrain('/a/nq', 'sha256:nq-2')).key);
    expect(runKey(withTrain('/a/nq')).key).not.toBe(runKey(withTrain('/b/renamed')).key); // no checksum: the path is all there is
  });

  it('leaves names and paths out of the keyed config and keeps everything else', async () => {
    const k = keyConfig((await parts()).config) as Record<string, Record<string, unknown>>;
    expect(k.data).toBeUndefined();
    expect(k.encoder.model).toBeUndefined();
    expect(k.llm.model).toBeUndefined();
    expect(k.encoder.expansionNorm).toBe('contriever');
    expect(k.seed).toBe(42);
    expect(runKeyContent(await parts())).not.toContain('/models/');
  });

  it('canonicalises JSON as RFC 8785 does (its example from §3.2.2)', () => {
    const input = { numbers: [333333333.33333329, 1e30, 4.5, 2e-3, 0.000000000000000000000000001], string: '€$\u000f\nA\'B"\\\\"/', literals: [null, true, false] };
    expect(canonicalize(input)).toBe('{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}');
  });
});

describe('code version and Hub origin', () => {
  it('is VERSION+COMMIT (12 hex) or VERSION+unknown', () => {
    expect(codeVersion('0.1.0', 'F94CC9E0123456789abc')).toBe('0.1.0+f94cc9e01234');
    expect(codeVersion('0.1.0', null)).toBe('0.1.0+unknown');
    expect(codeVersion('0.1.0', 'not a commit')).toBe('0.1.0+unknown');
  });

  it('calls a Hub model pinned only at a commit', () => {
    expect(hubOrigin('BAAI/bge-small-en-v1.5').pinned).toBe(false);
    expect(hubOrigin('BAAI/bge-small-en-v1.5', 'v1.0').pinned).toBe(false);
    expect(hubOrigin('x/y', '5c38ec7c405ec4b44b94cc5a9bb96e735b38267a').pinned).toBe(true);
  });
});

describe('decoder hash', () => {
  it("is the page's key for the same folder (keepLlmFiles), however the folder is stored", async () => {
    const files = modelFilesFromSources(folderFiles(STORIES, 'stories260K').map((f) => fromFile(f.file, f.path)));
    const kept = await keepLlmFiles(await openStore({ dbName: 'run-key-llm', idbFactory: new IDBFactory() }), files, {}, { chunkBytes: 64 * 1024 });
    expect(`local:${await decoderHash(files)}`).toBe(kept);
  });

  it('changes with any file, also one outside the encoder hash (a llama2.c tokenizer)', async () => {
    const a = await decoderHash(modelFilesFromBytes({ 'model.bin': 'w', 'tok512.bin': 't1' }));
    const b = await decoderHash(modelFilesFromBytes({ 'model.bin': 'w', 'tok512.bin': 't2' }));
    expect(a).not.toBe(b);
  });
});
