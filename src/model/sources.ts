// Model files from whatever the user has: a dropped folder or zip (here), the Hugging Face Hub
// (sources-hub.ts), a path in the runner (sources-node.ts). Every source ends as the same thing: the
// files of one model folder by relative path, which the encoder loads (loadBertEncoder).
// Only the files an encoder needs are read, so a repository's pytorch_model.bin or onnx/ is never loaded.
import { ModelFormatError, throwIfAborted } from '../errors.ts';
import { isJunk } from '../data/layout.ts';
import { Sha256 } from '../data/hash.ts';
import { baseName, normalizePath, readChunks, type SourceFile } from '../data/source.ts';
import { listZip } from '../data/zip.ts';
import { throttledProgress, type WorkOptions } from '../util/progress.ts';

/** A model folder: relative path ('config.json', '1_Pooling/config.json') → bytes. */
export type ModelFiles = Map<string, Uint8Array>;

export const REQUIRED_MODEL_FILES = ['config.json', 'model.safetensors'] as const;
/** At least one of these: the tokenizer. */
export const TOKENIZER_FILES = ['tokenizer.json', 'vocab.txt'] as const;
/** Read when present: tokenizer settings and the sentence-transformers description (pooling, normalisation, prompts). */
export const OPTIONAL_MODEL_FILES = [
  'tokenizer_config.json',
  'special_tokens_map.json',
  'modules.json',
  'sentence_bert_config.json',
  'config_sentence_transformers.json',
] as const;
/** sentence-transformers module folders ('1_Pooling', '2_Normalize'): their config.json is read, they are never the model root. */
const MODULE_DIR = /^\d+_[^/]+$/;

const CONVERT_HELP =
  'Only safetensors checkpoints are supported. Convert it once in Python: ' +
  '`from transformers import AutoModel, AutoTokenizer; m = AutoModel.from_pretrained(ID); m.save_pretrained(DIR, safe_serialization=True); ' +
  'AutoTokenizer.from_pretrained(ID).save_pretrained(DIR)`, then drop DIR';

/** True for a file inside the model folder that an encoder reads. */
export function isModelFile(rel: string): boolean {
  const all: readonly string[] = [...REQUIRED_MODEL_FILES, ...TOKENIZER_FILES, ...OPTIONAL_MODEL_FILES];
  if (all.includes(rel)) return true;
  const parts = rel.split('/');
  return parts.length === 2 && MODULE_DIR.test(parts[0]) && parts[1] === 'config.json';
}

/** Checks that the files make a usable model; throws ModelFormatError saying what is missing and what to do. */
export function checkModelFiles(files: ModelFiles, present: readonly string[] = [...files.keys()], where = 'the model folder'): void {
  if (!files.has('config.json')) {
    throw new ModelFormatError('config.json', `not found in ${where}`, 'Give the Hugging Face model folder (config.json, model.safetensors, tokenizer.json)');
  }
  if (!files.has('model.safetensors')) {
    const other = present.filter((p) => /(^|\/)(pytorch_model\.bin|tf_model\.h5|model\.safetensors\.index\.json|flax_model\.msgpack)$/.test(p));
    const found = other.length ? ` (it has ${other.join(', ')})` : '';
    throw new ModelFormatError('model.safetensors', `not found in ${where}${found}`, CONVERT_HELP);
  }
  if (!TOKENIZER_FILES.some((t) => files.has(t))) {
    throw new ModelFormatError('tokenizer.json', `neither tokenizer.json nor vocab.txt in ${where}`, 'Save the tokenizer next to the model (tokenizer.save_pretrained(DIR)) and try again');
  }
}

/** One file seen in a drop (inside a zip or not), before the model root is known. */
interface Entry {
  path: string;
  size: number;
  open(): AsyncGenerator<Uint8Array>;
}

async function entriesOf(sources: SourceFile[]): Promise<Entry[]> {
  const out: Entry[] = [];
  for (const src of sources) {
    const path = normalizePath(src.path);
    if (isJunk(path)) continue;
    if (!path.toLowerCase().endsWith('.zip')) {
      out.push({ path, size: src.size, open: () => readChunks(src.stream()) });
      continue;
    }
    for (const e of await listZip(src)) {
      if (!isJunk(e.name)) out.push({ path: `${path}/${normalizePath(e.name)}`, size: e.size, open: () => e.open(() => {}) });
    }
  }
  return out;
}

const dirOf = (p: string) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');
const depth = (dir: string) => (dir === '' ? 0 : dir.split('/').length);

/**
 * The model root among dropped paths: the folder holding config.json, preferring one with
 * model.safetensors beside it, then the shallowest (so '1_Pooling/config.json' never wins). '' is the top.
 */
export function findModelRoot(paths: readonly string[]): string {
  const set = new Set(paths);
  const roots = paths
    .filter((p) => baseName(p) === 'config.json' && !MODULE_DIR.test(baseName(dirOf(p)) || '_'))
    .map(dirOf);
  if (roots.length === 0) {
    const seen = paths.slice(0, 8).join(', ') + (paths.length > 8 ? ', …' : '');
    throw new ModelFormatError('config.json', `not found among the dropped files (${seen || 'none'})`, 'Drop the model folder (the one holding config.json and model.safetensors) or its zip');
  }
  const withWeights = roots.filter((r) => set.has(r ? `${r}/model.safetensors` : 'model.safetensors'));
  const pool = withWeights.length ? withWeights : roots;
  const best = Math.min(...pool.map(depth));
  const top = pool.filter((r) => depth(r) === best);
  if (top.length > 1) {
    throw new ModelFormatError('config.json', `found several models (${top.map((r) => r || '.').join(', ')})`, 'Drop one model folder at a time');
  }
  return top[0];
}

export interface DroppedModel {
  files: ModelFiles;
  /** The model folder's name (or the zip's, when the model sits at the top of the zip). */
  name: string;
  /** The model root inside the drop, '/'-separated. */
  root: string;
}

/** Reads a dropped model folder, zip or loose files into ModelFiles (progress in bytes, cancellable). */
export async function modelFilesFromSources(sources: SourceFile[], work: WorkOptions = {}): Promise<DroppedModel> {
  const entries = await entriesOf(sources);
  const root = findModelRoot(entries.map((e) => e.path));
  const prefix = root ? `${root}/` : '';
  const inRoot = entries.filter((e) => e.path.startsWith(prefix)).map((e) => ({ ...e, rel: e.path.slice(prefix.length) }));
  const wanted = inRoot.filter((e) => isModelFile(e.rel));
  const total = wanted.reduce((a, e) => a + e.size, 0);
  const report = throttledProgress(work.onProgress);
  const files: ModelFiles = new Map();
  let done = 0;
  for (const e of wanted) {
    const parts: Uint8Array[] = [];
    for await (const chunk of e.open()) {
      throwIfAborted(work.signal, 'Reading the model');
      parts.push(chunk);
      done += chunk.length;
      report({ stage: 'model:read', done: Math.min(done, total), total, unit: 'bytes', text: e.rel });
    }
    files.set(e.rel, concat(parts));
  }
  report({ stage: 'model:read', done: total, total, unit: 'bytes' }, true);
  checkModelFiles(files, inRoot.map((e) => e.rel), root || 'the dropped files');
  const name = root ? baseName(root).replace(/\.zip$/i, '') : 'model';
  return { files, name, root };
}

export function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Files that make up a model's identity for caches: weights, config and the tokenizer (it changes the ids). */
export const HASHED_MODEL_FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json'] as const;

/**
 * 'sha256:<hex>': SHA-256 over "name:sha256(bytes)\n" for each HASHED_MODEL_FILES entry present, in that
 * order. Pooling and prefixes are not in it: they are part of the encoder settings, keyed separately.
 */
export async function modelHash(files: ModelFiles): Promise<string> {
  let lines = '';
  for (const name of HASHED_MODEL_FILES) {
    const bytes = files.get(name);
    if (bytes) lines += `${name}:${await sha256Bytes(bytes)}\n`;
  }
  return `sha256:${await sha256Bytes(new TextEncoder().encode(lines))}`;
}

/** SHA-256 hex of bytes: the platform's (fast, native) when there is one, else the streaming one in data/hash.ts. */
export async function sha256Bytes(bytes: Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (subtle) {
    const d = new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
    return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
  }
  return new Sha256().update(bytes).hex();
}
