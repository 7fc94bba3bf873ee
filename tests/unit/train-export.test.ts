// The sentence-transformers export of a trained encoder: export → import → export gives identical
// bytes (folder and zip), weights come back bit-exact, and the real BERT encoder reloads from it.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { useCpuBackend } from './helpers/tiny-encoder.ts';
import { loadBertEncoder } from '../../src/encoder/encoder.ts';
import { readModelDir } from '../../src/encoder/node-files.ts';
import { bertWeightsToHf } from '../../src/encoder/bert.ts';
import { exportBertEncoder, exportSentenceTransformers, importSentenceTransformers, zipFolder } from '../../src/encoder/st-folder.ts';
import { ModelFormatError } from '../../src/errors.ts';

const TINY_BERT = new URL('../reference/fixtures/tiny-bert', import.meta.url).pathname;

beforeAll(useCpuBackend);

const json = (files: Map<string, Uint8Array>, name: string) => JSON.parse(new TextDecoder().decode(files.get(name)));

describe('sentence-transformers export', () => {
  it('writes the sentence-transformers layout with HF BertModel names and the pooling / normalisation', async () => {
    const src = await readModelDir(TINY_BERT);
    const enc = await loadBertEncoder(src, { settings: { normalize: true, pooling: 'cls', queryPrefix: 'query: ', maxLength: 16 } });
    const out = await exportBertEncoder(enc, src, { trainingInfo: { steps: 3 } });
    expect([...out.keys()].sort()).toEqual([
      '1_Pooling/config.json',
      'config.json',
      'config_sentence_transformers.json',
      'model.safetensors',
      'modules.json',
      'sentence_bert_config.json',
      'special_tokens_map.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'training_info.json',
      'vocab.txt',
    ]);
    expect(json(out, 'modules.json').map((m: { type: string }) => m.type.split('.').pop())).toEqual(['Transformer', 'Pooling', 'Normalize']);
    expect(json(out, '1_Pooling/config.json')).toMatchObject({ word_embedding_dimension: 32, pooling_mode_cls_token: true, pooling_mode_mean_tokens: false });
    expect(json(out, 'sentence_bert_config.json')).toEqual({ max_seq_length: 16, do_lower_case: false });
    expect(json(out, 'config_sentence_transformers.json')).toMatchObject({ prompts: { query: 'query: ' }, similarity_fn_name: 'cosine' });
    expect(out.get('tokenizer.json')).toEqual(src.get('tokenizer.json')); // copied byte for byte
    const imported = importSentenceTransformers(out);
    expect([...imported.weights.keys()]).toContain('encoder.layer.1.output.LayerNorm.bias');
    expect(imported.weights.has('pooler.dense.weight')).toBe(true); // kept from the source
    expect(imported.trainingInfo).toEqual({ steps: 3 });
    // Reloaded by the encoder: the settings come back from the sentence-transformers files.
    const again = await loadBertEncoder(imported.files);
    expect(again.settings).toMatchObject({ normalize: true, pooling: 'cls', queryPrefix: 'query: ', maxLength: 16 });
    enc.dispose();
    again.dispose();
  });

  it('round trip: export → import → export is byte-identical (folder and zip) and weights are bit-exact', async () => {
    const src = await readModelDir(TINY_BERT);
    const enc = await loadBertEncoder(src);
    // Move the weights off the fixture's values so the test is not about copying a file.
    enc.variables.forEach((v, i) => v.assign(tf.add(v, 0.001 * (i + 1))));
    const first = await exportBertEncoder(enc, src);
    const zip = zipFolder(first, 'my-model');
    for (const source of [first, zip]) {
      const imp = importSentenceTransformers(source);
      const reloaded = await loadBertEncoder(imp.files);
      const second = exportSentenceTransformers({ config: imp.config, weights: await bertWeightsToHf(reloaded.model), sourceFiles: imp.files, settings: reloaded.settings });
      expect([...second.keys()].sort()).toEqual([...first.keys()].sort());
      for (const [name, bytes] of first) expect(second.get(name), name).toEqual(bytes);
      expect(zipFolder(second, 'my-model')).toEqual(zip);
      // Weights exactly as trained, by name.
      const want = await bertWeightsToHf(enc.model);
      for (const [name, t] of want) expect(imp.weights.get(name)!.data, name).toEqual(t.data);
      // Same weights, same embeddings.
      const texts = ['dense retrieval with expansion', 'what is a protein'];
      expect(await reloaded.encode(texts, 'query')).toEqual(await enc.encode(texts, 'query'));
      reloaded.dispose();
    }
    enc.dispose();
  });

  it('refuses a broken zip and a source without tokenizer files, saying what to do', async () => {
    expect(() => importSentenceTransformers(new Uint8Array([1, 2, 3, 4]))).toThrow(ModelFormatError);
    const src = await readModelDir(TINY_BERT);
    const enc = await loadBertEncoder(src);
    const noTok = new Map([...src].filter(([n]) => n === 'config.json'));
    await expect(exportBertEncoder(enc, noTok)).rejects.toThrow(/tokenizer/);
    enc.dispose();
  });
});
