// Loading a decoder from a model folder: a Hugging Face checkpoint (config.json + model.safetensors or
// sharded model-*.safetensors with model.safetensors.index.json + tokenizer files), a GGUF file (llama.cpp's
// format: one .gguf carrying config, tokenizer and quantized weights; gguf/decoder.ts) or a llama2.c pair
// (model .bin + tokenizer .bin, e.g. stories260K.bin + tok512.bin). The result is config + weights +
// tokenizer; `new LlamaModel(config, weights)` makes tensors of them on the current tfjs backend.
import { ModelFormatError, throwIfAborted } from '../errors.ts';
import { readSafetensors } from '../model/safetensors.ts';
import type { WorkOptions } from '../util/progress.ts';
import { parseHfConfig, type DecoderConfig } from './config.ts';
import { modelFilesFromBytes, readJson, type ModelFiles } from './files.ts';
import { readGgufDecoder } from './gguf/decoder.ts';
import type { GgufSource } from './gguf/source.ts';
import { HfTokenizer } from './hf-tokenizer.ts';
import { LlamaModel } from './llama.ts';
import { readLlama2c } from './llama2c.ts';
import { Llama2cTokenizer } from './llama2c-tokenizer.ts';
import type { DecoderTokenizer } from './tokenizer.ts';
import { expectedWeightShapes, selectWeights, type Weights } from './weights.ts';

export type DecoderFormat = 'hf' | 'gguf' | 'llama2c';

export interface LoadedDecoder {
  format: DecoderFormat;
  config: DecoderConfig;
  weights: Weights;
  /** Null for an HF folder without tokenizer files (logits on ids still work). */
  tokenizer: DecoderTokenizer | null;
  /** GGUF: the HF tokenizer files built from its metadata (tokenizer.json, tokenizer_config.json), for exports. */
  tokenizerFiles?: ModelFiles;
}

/**
 * Which loader a folder needs: config.json → HF; one .gguf → GGUF; otherwise a llama2.c model .bin beside
 * a tokenizer .bin.
 */
export function detectFormat(files: ModelFiles): DecoderFormat {
  if (files.has('config.json')) return 'hf';
  if (ggufNames(files).length) return 'gguf';
  if (files.names().some((n) => n.endsWith('.bin'))) return 'llama2c';
  throw new ModelFormatError(
    files.label,
    'neither config.json (Hugging Face), a .gguf nor a llama2.c .bin found',
    'Give a folder with config.json + model.safetensors + tokenizer.json, a .gguf file, or a llama2.c model.bin + tokenizer .bin',
  );
}

export async function loadDecoderFiles(files: ModelFiles, work: WorkOptions = {}): Promise<LoadedDecoder> {
  const format = detectFormat(files);
  return format === 'hf' ? loadHf(files, work) : format === 'gguf' ? loadGguf(files, work) : loadLlama2c(files);
}

/** Loads and builds the model on the current backend. */
export async function loadDecoder(files: ModelFiles, work: WorkOptions = {}): Promise<{ model: LlamaModel; tokenizer: DecoderTokenizer | null; format: DecoderFormat }> {
  const d = await loadDecoderFiles(files, work);
  return { model: new LlamaModel(d.config, d.weights, files.label), tokenizer: d.tokenizer, format: d.format };
}

async function loadHf(files: ModelFiles, work: WorkOptions): Promise<LoadedDecoder> {
  const config = parseHfConfig(await readJson(files, 'config.json'), `${files.label}/config.json`);
  if (files.has('generation_config.json')) {
    // Instruct models often list extra stop ids here (Llama 3: <|eot_id|>).
    const g = (await readJson(files, 'generation_config.json')) as { eos_token_id?: number | number[] };
    const extra = g.eos_token_id === undefined ? [] : Array.isArray(g.eos_token_id) ? g.eos_token_id : [g.eos_token_id];
    config.eosIds = [...new Set([...config.eosIds, ...extra.filter((x) => Number.isInteger(x))])];
  }
  const weights = await readHfWeights(files, config, work);
  let tokenizer: DecoderTokenizer | null = null;
  if (files.has('tokenizer.json')) {
    tokenizer = await HfTokenizer.load(files, config.eosIds);
    config.eosIds = [...tokenizer.eosIds];
    if (config.bosId === null && tokenizer.bosId !== null) config.bosId = tokenizer.bosId;
  }
  return { format: 'hf', config, weights, tokenizer };
}

/** The safetensors shards the folder uses: the index's weight_map, or the single model.safetensors. */
async function shardNames(files: ModelFiles): Promise<string[]> {
  if (files.has('model.safetensors.index.json')) {
    const index = (await readJson(files, 'model.safetensors.index.json')) as { weight_map?: Record<string, string> };
    if (!index.weight_map || typeof index.weight_map !== 'object') {
      throw new ModelFormatError(`${files.label}/model.safetensors.index.json`, 'no "weight_map"', 'Re-download the index file');
    }
    return [...new Set(Object.values(index.weight_map))].sort();
  }
  if (files.has('model.safetensors')) return ['model.safetensors'];
  const hint = files.has('pytorch_model.bin') ? 'Convert pytorch_model.bin to safetensors (safetensors.torch.save_file), or use a safetensors release' : 'Add model.safetensors';
  throw new ModelFormatError(files.label, 'no model.safetensors or model.safetensors.index.json', hint);
}

async function readHfWeights(files: ModelFiles, config: DecoderConfig, work: WorkOptions): Promise<Weights> {
  const wanted = expectedWeightShapes(config);
  const all: Weights = new Map();
  const shards = await shardNames(files);
  for (let i = 0; i < shards.length; i++) {
    throwIfAborted(work.signal, 'Loading the model');
    work.onProgress?.({ stage: 'llm:load', done: i, total: shards.length, unit: 'shards', text: shards[i] });
    const st = readSafetensors(await files.read(shards[i]), `${files.label}/${shards[i]}`);
    for (const [name, info] of st.tensors) {
      if (wanted.has(name)) all.set(name, { shape: info.shape, data: st.getFloat32(name) });
    }
  }
  work.onProgress?.({ stage: 'llm:load', done: shards.length, total: shards.length, unit: 'shards' });
  return selectWeights(config, all, `${files.label}/${shards.length === 1 ? shards[0] : 'model-*.safetensors'}`);
}

const ggufNames = (files: ModelFiles) => files.names().filter((n) => n.toLowerCase().endsWith('.gguf') && !n.includes('/'));

/** The folder's one .gguf as a ranged source (whole-file bytes only where the folder cannot seek). */
export async function ggufSource(files: ModelFiles): Promise<GgufSource> {
  const names = ggufNames(files);
  if (names.length !== 1) {
    const split = names.some((n) => /-\d{5}-of-\d{5}\.gguf$/i.test(n));
    throw new ModelFormatError(
      files.label,
      `expected one .gguf, found ${names.length}: ${names.join(', ')}`,
      split ? 'Split GGUFs are not supported: merge them first (llama-gguf-split --merge)' : 'Keep exactly one .gguf in the folder, or give the file itself',
    );
  }
  const name = names[0];
  const label = files.label === name ? name : `${files.label}/${name}`;
  const size = files.size?.(name);
  if (files.readRange && size !== undefined) {
    const readRange = files.readRange.bind(files);
    return { label, size, read: (offset, length) => readRange(name, offset, length) };
  }
  const bytes = await files.read(name);
  return { label, size: bytes.length, read: async (offset, length) => bytes.subarray(offset, offset + length) };
}

async function loadGguf(files: ModelFiles, work: WorkOptions): Promise<LoadedDecoder> {
  const src = await ggufSource(files);
  const { config, weights, tokenizer: tok } = await readGgufDecoder(src, work);
  const tokenizerFiles = modelFilesFromBytes(
    { 'tokenizer.json': JSON.stringify(tok.tokenizerJson), 'tokenizer_config.json': JSON.stringify(tok.tokenizerConfig) },
    src.label,
  );
  const tokenizer = await HfTokenizer.load(tokenizerFiles, tok.stopIds);
  config.eosIds = [...tokenizer.eosIds];
  return { format: 'gguf', config, weights, tokenizer, tokenizerFiles };
}

async function loadLlama2c(files: ModelFiles): Promise<LoadedDecoder> {
  const bins = files.names().filter((n) => n.endsWith('.bin') && !n.includes('/'));
  const isTok = (n: string) => /^tok.*\.bin$/i.test(n);
  const tokNames = bins.filter(isTok);
  const modelNames = bins.filter((n) => !isTok(n));
  if (modelNames.length !== 1 || tokNames.length !== 1) {
    throw new ModelFormatError(
      files.label,
      `expected one model .bin and one tokenizer .bin (tok*.bin / tokenizer.bin), found ${bins.join(', ') || 'none'}`,
      'Keep exactly one llama2.c checkpoint and its tokenizer in the folder',
    );
  }
  const { config, weights } = readLlama2c(await files.read(modelNames[0]), `${files.label}/${modelNames[0]}`);
  const tokenizer = Llama2cTokenizer.read(await files.read(tokNames[0]), config.vocab, `${files.label}/${tokNames[0]}`);
  return { format: 'llama2c', config, weights, tokenizer };
}
