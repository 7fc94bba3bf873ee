// Shared by the runner's dense commands (encode, eval --retriever dense): the tfjs backend, the
// encoder from a folder or zip (with its model hash for caches), and the corpus embedding cache under
// .cache/embeddings/. The encoder factory is injectable so that tests can run a stand-in encoder.
import type { Encoder } from '../encoder/types.ts';
import { ENCODER_PRESETS } from '../encoder/presets.ts';
import { UsageError } from '../errors.ts';
import { modelFilesFromPath } from '../model/sources-node.ts';
import { modelHash, type ModelFiles } from '../model/sources.ts';
import { DEFAULT_CHUNK_SIZE, embeddingCacheKey, MemoryChunkStore, type ChunkStore } from '../retrieval/dense/chunk-store.ts';
import { DEFAULT_EMBEDDING_CACHE, FileChunkStore } from '../retrieval/dense/file-chunks-node.ts';
import { precisionStore } from '../retrieval/dense/precision-store.ts';
import { parsePrecision, type EmbeddingPrecision } from '../retrieval/dense/precision.ts';
import type { WorkOptions } from '../util/progress.ts';
import type { OptionSpec, ParsedArgs } from './args.ts';
import { BACKEND_HELP, parseBackend, useBackend, type BackendName } from './backend.ts';
import { registerTfjsResolveHook } from './tfjs-gradients.ts';

export type EncoderFactory = (files: ModelFiles, opts: { preset?: string }) => Promise<Encoder>;

/** What the commands can be given instead of the real thing (tests). */
export interface DenseDeps {
  loadEncoder?: EncoderFactory;
}

/**
 * The BERT encoder. Imported on first use, after the resolve hook: the encoder registers tfjs gradients
 * statically, which plain Node (tsx) cannot resolve without the hook (see tfjs-gradients.ts); a static
 * import here would break every command at start-up, bm25 included.
 */
export const defaultEncoderFactory: EncoderFactory = async (files, opts) => {
  registerTfjsResolveHook();
  const { loadBertEncoder } = await import('../encoder/encoder.ts');
  return loadBertEncoder(files, { preset: opts.preset });
};

export const ENCODER_OPTIONS: OptionSpec = {
  encoder: { type: 'string' },
  preset: { type: 'string' },
  backend: { type: 'string' },
  batch: { type: 'string' },
  'cache-dir': { type: 'string' },
  'no-cache': { type: 'boolean' },
  'embeddings-precision': { type: 'string' },
};

export const ENCODER_HELP = `  --encoder PATH       model folder or zip (config.json, model.safetensors, tokenizer.json; sentence-transformers files if any)
  --preset ID          settings preset when the folder has no sentence-transformers files
                       (default: guessed from config.json's _name_or_path or the folder name)
${BACKEND_HELP}
  --batch N            texts per encoder batch (default 32)
  --cache-dir DIR      corpus embedding cache (default ${DEFAULT_EMBEDDING_CACHE}); --no-cache to skip it
  --embeddings-precision P  corpus embeddings stored as f32 (default), f16 (half the bytes) or int8 (a quarter);
                       packed from cached f32 embeddings of the same model and corpus when there are some`;

export interface LoadedEncoder {
  encoder: Encoder;
  modelHash: string;
  name: string;
  preset: string | undefined;
  backend: BackendName;
  batchSize: number | undefined;
  loadMs: number;
  /** --embeddings-precision. */
  precision: EmbeddingPrecision;
  /** The corpus embedding store for a corpus checksum (at --embeddings-precision unless given): files under the cache folder, or memory with --no-cache. */
  sinkFor(corpusChecksum: string, precision?: EmbeddingPrecision): ChunkStore;
}

/** The preset a folder most likely is: config.json's _name_or_path or the folder name, matched against preset ids. */
export function guessPreset(files: ModelFiles, folderName: string): string | undefined {
  let nameOrPath = '';
  try {
    nameOrPath = String((JSON.parse(new TextDecoder().decode(files.get('config.json'))) as Record<string, unknown>)._name_or_path ?? '');
  } catch {
    // the encoder reports a broken config.json
  }
  const last = (s: string) => s.replace(/\/+$/, '').split('/').pop()!.toLowerCase();
  for (const candidate of [nameOrPath, folderName]) {
    const hit = candidate && ENCODER_PRESETS.find((p) => p.id === candidate || last(p.id) === last(candidate));
    if (hit) return hit.id;
  }
  return undefined;
}

export async function setupEncoder(command: string, args: ParsedArgs, deps: DenseDeps, work: WorkOptions): Promise<LoadedEncoder> {
  const path = args.str('encoder');
  if (!path) throw new UsageError(`${command}: --encoder PATH is required (a model folder or zip).`);
  const backend = await useBackend(parseBackend(args.str('backend')));
  const batchSize = args.str('batch') === undefined ? undefined : args.int('batch', 32, 1, 4096);
  const t0 = performance.now();
  const model = await modelFilesFromPath(path, work);
  const preset = args.str('preset') ?? guessPreset(model.files, model.name);
  if (args.str('preset') && !ENCODER_PRESETS.some((p) => p.id === preset)) {
    throw new UsageError(`${command}: unknown --preset "${preset}"; known: ${ENCODER_PRESETS.map((p) => p.id).join(', ')}.`);
  }
  const encoder = await (deps.loadEncoder ?? defaultEncoderFactory)(model.files, { preset });
  const hash = await modelHash(model.files);
  const cacheDir = args.str('cache-dir') ?? DEFAULT_EMBEDDING_CACHE;
  const noCache = args.flag('no-cache');
  let chosen: EmbeddingPrecision;
  try {
    chosen = parsePrecision(args.str('embeddings-precision'));
  } catch (e) {
    throw new UsageError(`${command}: --${(e as Error).message}.`);
  }
  return {
    encoder,
    modelHash: hash,
    name: model.name,
    preset,
    backend,
    batchSize,
    loadMs: performance.now() - t0,
    precision: chosen,
    sinkFor: (corpusChecksum, precision = chosen) =>
      precisionStore(
        noCache
          ? new MemoryChunkStore()
          : new FileChunkStore(cacheDir, embeddingCacheKey({ modelHash: hash, corpusChecksum, settings: encoder.settings, chunkSize: DEFAULT_CHUNK_SIZE, precision })),
        precision,
      ),
  };
}
