// BertModel weights by their Hugging Face names: the list of tensors a config implies, loading them from
// safetensors (with or without the 'bert.' prefix of task heads such as BertForMaskedLM), checking every
// shape, and seeded random initialisation for tests and benchmarks. No tfjs here: plain Float32Arrays.
import { ModelFormatError } from '../errors.ts';
import type { SafetensorsFile } from '../model/safetensors.ts';
import { createRng } from '../util/random.ts';
import type { BertConfig } from './config.ts';

/** One tensor as Hugging Face stores it: row-major float32, PyTorch shape (Linear weights are [out, in]). */
export interface HfTensor {
  shape: number[];
  data: Float32Array;
}

type Init = 'normal' | 'zeros' | 'ones';
export interface ParamSpec {
  /** The HF BertModel state-dict key, e.g. 'encoder.layer.0.attention.self.query.weight'. */
  key: string;
  shape: number[];
  /** transformers' BertPreTrainedModel._init_weights: normal(0, initializer_range), zero bias, unit LayerNorm. */
  init: Init;
}

/** nn.Linear weights ([out, in] in PyTorch): q/k/v, attention output, intermediate and output dense. */
export function isLinearWeight(key: string): boolean {
  return /\.(query|key|value|dense)\.weight$/.test(key);
}

/** Every trainable BertModel tensor, in state-dict order (the order of `BertModel.variables`). */
export function bertParamSpecs(config: BertConfig): ParamSpec[] {
  const d = config.hiddenSize;
  const specs: ParamSpec[] = [];
  const add = (key: string, shape: number[], init: Init) => specs.push({ key, shape, init });
  const linear = (p: string, out: number, inp: number) => {
    add(`${p}.weight`, [out, inp], 'normal');
    add(`${p}.bias`, [out], 'zeros');
  };
  const layerNorm = (p: string) => {
    add(`${p}.weight`, [d], 'ones');
    add(`${p}.bias`, [d], 'zeros');
  };
  add('embeddings.word_embeddings.weight', [config.vocabSize, d], 'normal');
  add('embeddings.position_embeddings.weight', [config.maxPositions, d], 'normal');
  add('embeddings.token_type_embeddings.weight', [config.typeVocabSize, d], 'normal');
  layerNorm('embeddings.LayerNorm');
  for (let i = 0; i < config.numLayers; i++) {
    const p = `encoder.layer.${i}`;
    linear(`${p}.attention.self.query`, d, d);
    linear(`${p}.attention.self.key`, d, d);
    linear(`${p}.attention.self.value`, d, d);
    linear(`${p}.attention.output.dense`, d, d);
    layerNorm(`${p}.attention.output.LayerNorm`);
    linear(`${p}.intermediate.dense`, config.intermediateSize, d);
    linear(`${p}.output.dense`, d, config.intermediateSize);
    layerNorm(`${p}.output.LayerNorm`);
  }
  return specs;
}

export interface LoadedBertWeights {
  /** Every key of bertParamSpecs(config), checked against its shape. */
  params: Map<string, HfTensor>;
  /** The pooler (present in most checkpoints; unused by retrieval), so an export round-trips it. */
  extras: Map<string, HfTensor>;
}

/**
 * Reads and validates the BertModel tensors from one or more safetensors files (shards). F16/BF16 are
 * widened to float32. `fileName` names the file in errors.
 */
export function bertWeightsFromSafetensors(config: BertConfig, files: SafetensorsFile[], fileName = 'model.safetensors'): LoadedBertWeights {
  const where = new Map<string, SafetensorsFile>();
  for (const f of files) for (const name of f.tensors.keys()) where.set(name, f);
  const prefix = where.has('embeddings.word_embeddings.weight') ? '' : where.has('bert.embeddings.word_embeddings.weight') ? 'bert.' : null;
  if (prefix === null) {
    const some = [...where.keys()].slice(0, 5).join(', ');
    throw new ModelFormatError(
      fileName,
      `no BERT tensors found (looked for "embeddings.word_embeddings.weight" with and without the "bert." prefix; the file has: ${some || 'no tensors'})`,
      'Use the model.safetensors of a BertModel-architecture checkpoint',
    );
  }
  const read = (key: string, expected: number[]): HfTensor | null => {
    // Checkpoints converted from TensorFlow name LayerNorm parameters gamma/beta (transformers renames them too).
    const candidates = [key, key.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta')];
    const name = candidates.map((k) => prefix + k).find((k) => where.has(k));
    if (name === undefined) return null;
    const file = where.get(name)!;
    const actual = file.tensors.get(name)!.shape;
    if (actual.length !== expected.length || actual.some((v, i) => v !== expected[i])) {
      throw new ModelFormatError(
        fileName,
        `tensor "${name}" has shape [${actual.join(', ')}] but config.json implies [${expected.join(', ')}]`,
        'The weights do not belong to this config.json: use the config.json and model.safetensors of the same model',
      );
    }
    return { shape: [...actual], data: file.getFloat32(name) };
  };

  const params = new Map<string, HfTensor>();
  for (const spec of bertParamSpecs(config)) {
    const t = read(spec.key, spec.shape);
    if (!t) {
      throw new ModelFormatError(fileName, `missing tensor "${prefix}${spec.key}" of shape [${spec.shape.join(', ')}]`, 'The checkpoint is incomplete or not a BertModel with this config.json; re-download it');
    }
    params.set(spec.key, t);
  }
  // Kept as they are and written back on export, though the encoder does not use them.
  const extras = new Map<string, HfTensor>();
  const d = config.hiddenSize;
  for (const key of ['pooler.dense.weight', 'pooler.dense.bias']) {
    const t = read(key, key.endsWith('weight') ? [d, d] : [d]);
    if (t) extras.set(key, t);
  }
  return { params, extras };
}

/** Seeded random weights as transformers initialises a fresh BertModel (normal(0, initializer_range)). */
export function randomBertWeights(config: BertConfig, seed: number): Map<string, HfTensor> {
  const rng = createRng(seed);
  const out = new Map<string, HfTensor>();
  for (const spec of bertParamSpecs(config)) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (spec.init === 'ones') data.fill(1);
    else if (spec.init === 'normal') for (let i = 0; i < n; i++) data[i] = rng.normal() * config.initializerRange;
    out.set(spec.key, { shape: [...spec.shape], data });
  }
  return out;
}
