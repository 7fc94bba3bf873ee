// A model folder held in memory: relative file name → bytes (from a dropped folder or zip, IndexedDB,
// the Hub, or node-files.ts). Names use '/' and may share one top folder ('all-MiniLM-L6-v2/config.json').
import { ModelFormatError } from '../errors.ts';

export type ModelFiles = ReadonlyMap<string, Uint8Array>;

/** Reads a text file of the model folder by relative name, undefined when absent. */
export type ReadText = (name: string) => string | undefined;

export interface ModelFolder {
  /** The folder inside `files` that holds config.json ('' or 'name/'). */
  root: string;
  bytes(name: string): Uint8Array | undefined;
  text: ReadText;
}

/** Finds the model folder (the shallowest config.json) and reads files relative to it. */
export function modelFolder(files: ModelFiles): ModelFolder {
  const names = [...files.keys()].map((n) => n.replace(/\\/g, '/').replace(/^\.\//, ''));
  const dirOf = (n: string) => n.slice(0, n.length - 'config.json'.length);
  // sentence-transformers module folders ('1_Pooling/', '2_Dense/') hold a config.json of their own.
  const configs = names.filter((n) => (n === 'config.json' || n.endsWith('/config.json')) && !/(^|\/)\d+_[^/]+\/$/.test(dirOf(n)));
  if (configs.length === 0) {
    throw new ModelFormatError('config.json', `missing (files given: ${names.slice(0, 8).join(', ') || 'none'})`, 'Give the whole model folder: config.json, model.safetensors and the tokenizer files');
  }
  const depth = (n: string) => n.split('/').length;
  const root = dirOf(configs.reduce((a, b) => (depth(b) < depth(a) ? b : a)));
  const byName = new Map<string, Uint8Array>();
  [...files.values()].forEach((v, i) => byName.set(names[i], v));
  const decoder = new TextDecoder('utf-8');
  const bytes = (name: string) => byName.get(root + name);
  return {
    root,
    bytes,
    text: (name) => {
      const b = bytes(name);
      return b === undefined ? undefined : decoder.decode(b);
    },
  };
}
