// BertEncoder behaviour on the cpu backend with the tiny fixture model: loading variants and their
// errors, settings precedence, Python truncation, export round trip, seeded dropout, cancellation and
// tensor hygiene. Numerical agreement with PyTorch is in tests/reference/bert-*.test.ts.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { PreTrainedTokenizer } from '@huggingface/transformers';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CancelledError, ModelFormatError } from '../../src/errors.ts';
import { BertModel, bertWeightsToHf } from '../../src/encoder/bert.ts';
import { parseBertConfig } from '../../src/encoder/config.ts';
import { loadBertEncoder } from '../../src/encoder/encoder.ts';
import type { ModelFiles } from '../../src/encoder/files.ts';
import { readModelDir } from '../../src/encoder/node-files.ts';
import { readSafetensors, writeSafetensors } from '../../src/model/safetensors.ts';
import type { Progress } from '../../src/util/progress.ts';

const DIR = resolve(import.meta.dirname, '../reference/fixtures/tiny-bert');
const enc8 = (s: string) => new TextEncoder().encode(s);
let files: ModelFiles;
const withFiles = (edit: (m: Map<string, Uint8Array>) => void) => {
  const m = new Map(files);
  edit(m);
  return m;
};

beforeAll(async () => {
  await tf.setBackend('cpu');
  files = await readModelDir(DIR);
});

describe('loading', () => {
  it('takes settings from the folder, over the preset, under explicit settings', async () => {
    const plain = await loadBertEncoder(files);
    // sentence-transformers files: mean, no Normalize, max_seq_length 16.
    expect(plain.settings).toEqual({ pooling: 'mean', normalize: false, queryPrefix: '', docPrefix: '', maxLength: 16, similarity: 'dot' });
    const bge = await loadBertEncoder(files, { preset: 'BAAI/bge-small-en-v1.5' });
    expect(bge.settings).toMatchObject({ pooling: 'mean', normalize: false, maxLength: 16, queryPrefix: 'Represent this sentence for searching relevant passages: ' });
    const explicit = await loadBertEncoder(files, { preset: 'BAAI/bge-small-en-v1.5', settings: { pooling: 'cls', maxLength: 512 } });
    // 512 is clamped to the model's 64 positions.
    expect(explicit.settings).toMatchObject({ pooling: 'cls', maxLength: 64 });
    for (const e of [plain, bge, explicit]) e.dispose();
  });

  it('finds the model inside one top folder and reads sharded weights', async () => {
    const st = readSafetensors(files.get('model.safetensors')!);
    const names = [...st.tensors.keys()];
    const shard = (part: string[]) => writeSafetensors(new Map(part.map((n) => [n, { shape: st.tensors.get(n)!.shape, data: st.getFloat32(n) }])));
    const half = Math.floor(names.length / 2);
    const weightMap = Object.fromEntries(names.map((n, i) => [n, i < half ? 'model-00001-of-00002.safetensors' : 'model-00002-of-00002.safetensors']));
    const nested = new Map<string, Uint8Array>();
    for (const [name, bytes] of files) if (name !== 'model.safetensors') nested.set(`tiny/${name}`, bytes);
    nested.set('tiny/model.safetensors.index.json', enc8(JSON.stringify({ metadata: {}, weight_map: weightMap })));
    nested.set('tiny/model-00001-of-00002.safetensors', shard(names.slice(0, half)));
    nested.set('tiny/model-00002-of-00002.safetensors', shard(names.slice(half)));
    const a = await loadBertEncoder(files);
    const b = await loadBertEncoder(nested);
    const batch = a.tokenize(['dense retrieval'], 'doc');
    const [ea, eb] = [a.embed(batch), b.embed(batch)];
    expect(await eb.data()).toEqual(await ea.data());
    tf.dispose([ea, eb]);
    a.dispose();
    b.dispose();
  });

  it('explains what is missing or wrong', async () => {
    const before = tf.memory().numTensors;
    await expect(loadBertEncoder(withFiles((m) => m.delete('config.json')))).rejects.toThrow(/config\.json: missing/);
    await expect(loadBertEncoder(withFiles((m) => m.delete('model.safetensors')))).rejects.toThrow(/model\.safetensors: missing/);
    const binOnly = withFiles((m) => {
      m.delete('model.safetensors');
      m.set('pytorch_model.bin', new Uint8Array(0));
    });
    await expect(loadBertEncoder(binOnly)).rejects.toThrow(/only pytorch_model\.bin .*safe_serialization=True/);
    const noTokenizer = withFiles((m) => {
      m.delete('tokenizer.json');
      m.delete('vocab.txt');
    });
    await expect(loadBertEncoder(noTokenizer)).rejects.toThrow(/tokenizer\.json: missing, and there is no vocab\.txt/);
    const smallVocab = withFiles((m) => m.set('config.json', enc8(JSON.stringify({ ...JSON.parse(readFileSync(resolve(DIR, 'config.json'), 'utf8')), vocab_size: 50 }))));
    await expect(loadBertEncoder(smallVocab)).rejects.toThrow(ModelFormatError); // weights no longer fit the config
    await expect(loadBertEncoder(files, { preset: 'nope/model' })).rejects.toThrow(/Unknown encoder preset/);
    expect(tf.memory().numTensors).toBe(before); // nothing half-built is left behind
  });
});

describe('tokenisation', () => {
  it('keeps the closing [SEP] when truncating, unlike transformers.js on its own', async () => {
    const e = await loadBertEncoder(files, { settings: { maxLength: 6 } });
    const text = 'the retriever is trained with a contrastive loss';
    const ids = e.tokenIds(text, 'doc');
    expect(e.tokenizer.idsToTokens(ids)).toEqual(['[CLS]', 'the', 'retriever', 'is', 'train', '[SEP]']);
    const raw = new PreTrainedTokenizer(JSON.parse(readFileSync(resolve(DIR, 'tokenizer.json'), 'utf8')), JSON.parse(readFileSync(resolve(DIR, 'tokenizer_config.json'), 'utf8')));
    const jsIds = raw._call(text, { truncation: true, max_length: 6, return_tensor: false }).input_ids as number[];
    expect(e.tokenizer.idsToTokens(jsIds).at(-1)).not.toBe('[SEP]'); // the behaviour FACTS.md warns about
    e.dispose();
  });

  it('adds the query / document prefixes and pads to the longest text', async () => {
    const e = await loadBertEncoder(files, { settings: { queryPrefix: 'query: ', docPrefix: 'passage: ' } });
    expect(e.tokenizer.idsToTokens(e.tokenIds('cells', 'query'))).toEqual(['[CLS]', 'query', ':', 'cells', '[SEP]']);
    expect(e.tokenizer.idsToTokens(e.tokenIds('cells', 'doc'))).toEqual(['[CLS]', 'passage', ':', 'cells', '[SEP]']);
    const b = e.tokenize(['gene', 'the protein'], 'doc');
    expect([b.batch, b.seqLen]).toEqual([2, 6]);
    expect(Array.from(b.attentionMask)).toEqual([1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1]);
    expect(b.inputIds[5]).toBe(e.tokenizer.padId);
    e.dispose();
  });
});

describe('weights', () => {
  it('export back to the same Hugging Face tensors, bit for bit, pooler included', async () => {
    const e = await loadBertEncoder(files);
    const out = await bertWeightsToHf(e.model);
    const original = readSafetensors(files.get('model.safetensors')!);
    expect([...out.keys()].sort()).toEqual([...original.tensors.keys()].sort());
    const rewritten = readSafetensors(writeSafetensors(out));
    for (const name of original.tensors.keys()) {
      expect(rewritten.tensors.get(name)!.shape).toEqual(original.tensors.get(name)!.shape);
      expect(rewritten.raw(name)).toEqual(original.raw(name));
    }
    e.dispose();
  });

  it('random init is reproducible from its seed', async () => {
    const config = parseBertConfig(readFileSync(resolve(DIR, 'config.json'), 'utf8'));
    const [a, b, c] = [BertModel.random(config, 7), BertModel.random(config, 7), BertModel.random(config, 8)];
    const w = async (m: BertModel) => (await bertWeightsToHf(m)).get('encoder.layer.0.attention.self.query.weight')!.data;
    expect(await w(a)).toEqual(await w(b));
    expect(await w(a)).not.toEqual(await w(c));
    expect((await bertWeightsToHf(a)).get('embeddings.LayerNorm.weight')!.data.every((x) => x === 1)).toBe(true);
    for (const m of [a, b, c]) m.dispose();
  });
});

describe('training mode', () => {
  it('dropout is seeded: same seed same output, other seed different, eval deterministic', async () => {
    const e = await loadBertEncoder(files);
    const batch = e.tokenize(['what is dense retrieval?', 'vitamin d and cancer risk'], 'doc');
    const run = async (opts: { training?: boolean; seed?: number }) => {
      const t = e.embed(batch, opts);
      const d = await t.data();
      t.dispose();
      return Array.from(d);
    };
    const evalOut = await run({});
    expect(await run({ training: false, seed: 1 })).toEqual(evalOut);
    const s1 = await run({ training: true, seed: 1 });
    expect(await run({ training: true, seed: 1 })).toEqual(s1);
    expect(await run({ training: true, seed: 2 })).not.toEqual(s1);
    expect(s1).not.toEqual(evalOut);
    // Without a seed, successive training calls draw fresh masks from the model's stream.
    expect(await run({ training: true })).not.toEqual(await run({ training: true }));
    e.dispose();
  });

  it('gradients flow to every variable through dropout, without leaking tensors', async () => {
    const e = await loadBertEncoder(files);
    const before = tf.memory().numTensors;
    const batch = e.tokenize(['dense retrieval', 'protein cells'], 'doc');
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(e.embed(batch, { training: true, seed: 3 }))) as tf.Scalar, e.variables);
    expect(Object.keys(grads)).toHaveLength(e.variables.length);
    const norms = await Promise.all(
      Object.values(grads).map(async (g) => {
        const n = tf.norm(g);
        const v = (await n.data())[0];
        n.dispose();
        return v;
      }),
    );
    expect(norms.every((n) => Number.isFinite(n))).toBe(true);
    expect(norms.filter((n) => n > 0).length).toBeGreaterThan(e.variables.length - 2);
    value.dispose();
    tf.dispose(Object.values(grads));
    expect(tf.memory().numTensors).toBe(before);
    e.dispose();
  });
});

describe('encode()', () => {
  it('reports monotone progress ending at the total, and leaks nothing', async () => {
    const e = await loadBertEncoder(files);
    const before = tf.memory().numTensors;
    const texts = Array.from({ length: 11 }, (_, i) => 'the protein '.repeat(1 + (i % 4)) + i);
    const seen: Progress[] = [];
    const out = await e.encode(texts, 'doc', { batchSize: 3, onProgress: (p) => seen.push(p) });
    expect(out).toHaveLength(11 * e.dim);
    expect(seen.every((p, i) => p.stage === 'encode' && p.total === 11 && (i === 0 || p.done >= seen[i - 1].done))).toBe(true);
    expect(seen.at(-1)!.done).toBe(11);
    // Row i is text i, whatever batch it was computed in.
    const single = await e.encode([texts[5]], 'doc');
    const row = out.subarray(5 * e.dim, 6 * e.dim);
    expect(Math.max(...row.map((v, j) => Math.abs(v - single[j])))).toBeLessThan(1e-5);
    expect(tf.memory().numTensors).toBe(before);
    e.dispose();
  });

  it('stops with CancelledError when the signal fires', async () => {
    const e = await loadBertEncoder(files);
    const before = tf.memory().numTensors;
    const ctrl = new AbortController();
    const texts = Array.from({ length: 8 }, (_, i) => `cells ${i}`);
    const run = e.encode(texts, 'doc', { batchSize: 2, signal: ctrl.signal, onProgress: (p) => p.done >= 2 && ctrl.abort() });
    await expect(run).rejects.toBeInstanceOf(CancelledError);
    expect(tf.memory().numTensors).toBe(before);
    e.dispose();
  });

  it('splits a batch whose rows × heads × len² exceed the attention cap, with the same embeddings', async () => {
    const e = await loadBertEncoder(files);
    const before = tf.memory().numTensors;
    // 12 texts of one length (so one padded length per batch): 16 tokens with [CLS]/[SEP] at maxLength 16.
    const texts = Array.from({ length: 12 }, (_, i) => `the protein binds the receptor in cells and tissue of mice and rats ${i}`);
    const len = e.tokenIds(texts[0], 'doc').length;
    expect(texts.every((t) => e.tokenIds(t, 'doc').length === len)).toBe(true);
    const rowsSeen = (run: () => Promise<Float32Array>) => async () => {
      const rows: number[] = [];
      const embed = e.embed.bind(e);
      e.embed = (batch, opts) => (rows.push(batch.batch), embed(batch, opts));
      try {
        return { out: await run(), rows };
      } finally {
        e.embed = embed;
      }
    };
    const uncapped = await rowsSeen(() => e.encode(texts, 'doc', { batchSize: 12 }))();
    expect(uncapped.rows).toEqual([12]);
    const perRow = e.config.numHeads * len * len;
    e.maxAttentionElements = 5 * perRow; // the full batch (12 rows) exceeds it: at most 5 rows per pass
    const capped = await rowsSeen(() => e.encode(texts, 'doc', { batchSize: 12 }))();
    expect(capped.rows).toEqual([5, 5, 2]);
    expect(Math.max(...capped.out.map((v, i) => Math.abs(v - uncapped.out[i])))).toBeLessThan(1e-5);
    e.maxAttentionElements = perRow - 1; // below one row: still one row per pass
    const single = await rowsSeen(() => e.encode(texts.slice(0, 3), 'doc', { batchSize: 12 }))();
    expect(single.rows).toEqual([1, 1, 1]);
    expect(Math.max(...single.out.map((v, i) => Math.abs(v - uncapped.out[i])))).toBeLessThan(1e-5);
    expect(tf.memory().numTensors).toBe(before);
    e.dispose();
  });

  it('rejects a bad batch size', async () => {
    const e = await loadBertEncoder(files);
    await expect(e.encode(['x'], 'doc', { batchSize: 0 })).rejects.toThrow(/batchSize/);
    e.dispose();
  });
});
