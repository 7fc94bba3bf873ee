// What llama.cpp (wllama) is handed for a loaded GGUF: the file as one Blob (a dropped File, or its chunks
// kept in IndexedDB read back range by range), its tokenizer as ours (so prompt ids equal the tfjs decoder's),
// and its dominant tensor type as the precision. With a run's adapter, the adapter merged into the GGUF first
// (export-gguf.ts: the same bytes as the Export step's download), and that file is what llama.cpp loads.
import { ExpandrError } from '../errors.ts';
import type { ModelFiles } from '../llm/files.ts';
import { modelFilesFromBytes } from '../llm/files.ts';
import { ggmlTypeName } from '../llm/gguf/ggml-types.ts';
import { readGgufHeader, type GgufFile } from '../llm/gguf/reader.ts';
import { ggufSourceFromBlob, type GgufSource } from '../llm/gguf/source.ts';
import { ggufTokenizerFiles } from '../llm/gguf/tokenizer-json.ts';
import { HfTokenizer } from '../llm/hf-tokenizer.ts';
import { ggufSource } from '../llm/load.ts';
import type { DecoderTokenizer } from '../llm/tokenizer.ts';
import { generatorId } from '../pipeline/generators.ts';
import type { WorkOptions } from '../util/progress.ts';
import { exportAdapterAsGguf } from './export-gguf.ts';
import type { LoadedLlm } from './llm-session.ts';
import { WllamaGenerator, type WllamaGeneratorOptions } from './wllama-generator.ts';

/** Bytes per ranged read when a stored GGUF is gathered into one Blob. */
const BLOB_PIECE_BYTES = 16 << 20;

/** The GGUF's tokenizer (built from its metadata, as the tfjs decoder's loader does). */
export async function ggufTokenizer(file: GgufFile, label: string): Promise<DecoderTokenizer> {
  const tok = ggufTokenizerFiles(file.metadata as ReadonlyMap<string, unknown>, label);
  const files = modelFilesFromBytes({ 'tokenizer.json': JSON.stringify(tok.tokenizerJson), 'tokenizer_config.json': JSON.stringify(tok.tokenizerConfig) }, label);
  return HfTokenizer.load(files, tok.stopIds);
}

/** The tensor type holding the most weights, e.g. 'Q4_1' (weight-precision.ts's rule for GGUF). */
export function ggufPrecision(file: GgufFile): string {
  const counts = new Map<string, number>();
  for (const t of file.tensors) counts.set(ggmlTypeName(t.type), (counts.get(ggmlTypeName(t.type)) ?? 0) + t.elements);
  return [...counts].reduce((a, b) => (b[1] > a[1] ? b : a), ['unknown', -1])[0];
}

/** A ranged source as one Blob, read piece by piece (the browser keeps Blob bytes outside the JS heap). */
export async function sourceBlob(src: GgufSource, work: WorkOptions = {}): Promise<Blob> {
  const parts: Blob[] = [];
  for (let at = 0; at < src.size; at += BLOB_PIECE_BYTES) {
    parts.push(new Blob([(await src.read(at, Math.min(BLOB_PIECE_BYTES, src.size - at))) as Uint8Array<ArrayBuffer>]));
    work.onProgress?.({ stage: 'llm:load', done: Math.min(at + BLOB_PIECE_BYTES, src.size), total: src.size, unit: 'bytes', text: `${src.label} for llama.cpp` });
  }
  return new Blob(parts);
}

export interface WllamaLoadOptions extends Pick<WllamaGeneratorOptions, 'chat' | 'system' | 'threads' | 'engine' | 'assets'> {
  /** A PEFT adapter to merge into the GGUF first; absent/null = the base model. */
  adapter?: ReadonlyMap<string, Uint8Array> | null;
  /** Cache id's model name (default the LLM's name). */
  name?: string;
}

/** A GGUF's files (one .gguf) on llama.cpp. */
export async function loadWllamaFromFiles(files: ModelFiles, options: WllamaLoadOptions & { blob?: Blob }, work: WorkOptions = {}): Promise<WllamaGenerator> {
  const blob = options.blob ?? (await sourceBlob(await ggufSource(files), work));
  const src = ggufSourceFromBlob(blob, files.label);
  const file = await readGgufHeader(src);
  const tokenizer = await ggufTokenizer(file, src.label);
  const ctx = file.metadata.get(`${String(file.metadata.get('general.architecture'))}.context_length`);
  return WllamaGenerator.create({
    ...options,
    model: blob,
    tokenizer,
    id: generatorId(options.name ?? files.label, options.adapter),
    precision: ggufPrecision(file),
    maxSeqLen: ctx === undefined ? Infinity : Number(ctx),
  });
}

/** The loaded LLM (a GGUF) on llama.cpp; with an adapter, the adapter merged into it first. */
export async function loadWllamaGenerator(llm: LoadedLlm, options: WllamaLoadOptions, work: WorkOptions = {}): Promise<WllamaGenerator> {
  if (!llm.files || llm.summary.format !== 'gguf') {
    throw new ExpandrError(
      `llm.engine "llama.cpp" runs a .gguf file, and the selected LLM ${llm.summary.name} is ${llm.preset ? 'a WebLLM preset' : `a ${llm.summary.format ?? 'non-GGUF'} model`}: ` +
        'drop its .gguf in the LLM zone, or set llm.engine to "tfjs".',
    );
  }
  const blob = options.adapter ? await exportAdapterAsGguf(llm, options.adapter, { ...work, label: 'adapter' }) : undefined;
  return loadWllamaFromFiles(llm.files, { ...options, name: options.name ?? llm.summary.name, blob }, work);
}
