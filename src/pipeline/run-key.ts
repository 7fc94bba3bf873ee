// The run key: what a run is, by content rather than by name. Two runs share a key exactly when they
// were made from the same model bytes (encoder, LLM, any adapter they start from), the same dataset
// content (BeirDataset.checksum), the same resolved config and the same code. Names and paths (the
// config's `data`, `encoder.model`, `llm.model`) are left out: the hashes stand for them. The key is
// SHA-256 over the RFC 8785 canonical JSON of those parts (the `canonicalize` package: keys sorted,
// numbers as ECMAScript prints them), so any JCS implementation reproduces it.
import canonicalize from 'canonicalize';
import { Sha256, sha256Hex } from '../data/hash.ts';
import type { ModelFiles } from '../llm/files.ts';
import { sha256Bytes } from '../model/sources.ts';

export const RUN_KEY_FORMAT = 'expandr-run-key/1';
/** Hex digits of the key shown in listings (40 bits: a clash among a user's runs is not a concern). */
export const SHORT_KEY_HEX = 10;
/** Reads a large model file in pieces of this size for its hash (a GGUF is never held whole). */
const HASH_PIECE_BYTES = 16 << 20;

/** Where a model came from on the Hugging Face Hub (or WebLLM's prebuilt list, which reads the Hub). */
export interface HubOrigin {
  id: string;
  /** The revision the files were fetched at, as given: a branch ('main'), a tag or a commit. */
  revision: string;
  /** True only when `revision` is a 40-hex commit: a branch may move, so the run is 'unpinned'. */
  pinned: boolean;
}

export interface ModelIdentity {
  /** Its part in the run: 'encoder', 'llm'. */
  role: string;
  /** What the user calls it (a folder name, a Hub id): shown, not keyed. */
  name: string;
  /** Content hash: modelHash() for an encoder, decoderHash() for a decoder, 'webllm:<id>' for a prebuilt WebLLM model. */
  hash: string;
  hub?: HubOrigin;
}

export interface RunKeyParts {
  models: readonly ModelIdentity[];
  /** Adapters the run starts from (none for the ExpandR loop, which trains its own): name → content hash. */
  adapters?: Readonly<Record<string, string>>;
  /** Datasets by role ('data'; training datasets as 'train:0', 'train:1', … in config order): content checksum and (unkeyed) name. */
  datasets: readonly { role: string; name: string; checksum: string }[];
  /** The resolved config (experimentConfig()), paths and names included: keyConfig() drops them. */
  config: unknown;
  /** codeVersion(): package version and git commit. */
  code: string;
}

export interface RunKey {
  /** 'run-' + 64 hex digits. */
  key: string;
  /** The first SHORT_KEY_HEX hex digits, for listings and command lines. */
  short: string;
}

/** Config fields that name things (paths, Hub ids): their content is keyed through the model and dataset hashes. */
export const NAME_FIELDS: readonly (readonly string[])[] = [['data'], ['encoder', 'model'], ['llm', 'model']];
/** The training datasets' paths: left out only when their checksums are among the datasets (roles 'train:I'). */
const TRAIN_DATA_FIELD = ['trainData'] as const;

/** The config without NAME_FIELDS (and trainData when `trainKeyed`); a copy, `config` is not changed. */
export function keyConfig(config: unknown, trainKeyed = false): unknown {
  if (!config || typeof config !== 'object') return config;
  const out = structuredClone(config) as Record<string, unknown>;
  for (const path of trainKeyed ? [...NAME_FIELDS, TRAIN_DATA_FIELD] : NAME_FIELDS) {
    let o: Record<string, unknown> | undefined = out;
    for (const k of path.slice(0, -1)) o = o?.[k] && typeof o[k] === 'object' ? (o[k] as Record<string, unknown>) : undefined;
    if (o) delete o[path[path.length - 1]];
  }
  return out;
}

/** The canonical JSON the key hashes (exported so a test, or a reader, can see what is in it). */
export function runKeyContent(p: RunKeyParts): string {
  const models = [...p.models].sort((a, b) => a.role.localeCompare(b.role)).map((m) => ({ role: m.role, hash: m.hash }));
  const datasets = [...p.datasets].sort((a, b) => a.role.localeCompare(b.role)).map((d) => ({ role: d.role, checksum: d.checksum }));
  const trainKeyed = p.datasets.some((d) => d.role.startsWith('train'));
  const s = canonicalize({ format: RUN_KEY_FORMAT, models, adapters: p.adapters ?? {}, datasets, config: keyConfig(p.config, trainKeyed), code: p.code });
  if (s === undefined) throw new Error('run key: the parts are not JSON');
  return s;
}

export function runKey(p: RunKeyParts): RunKey {
  const hex = sha256Hex(runKeyContent(p));
  return { key: `run-${hex}`, short: hex.slice(0, SHORT_KEY_HEX) };
}

/** The short form of a key ('run-<hex>' → first SHORT_KEY_HEX hex digits). */
export const shortKey = (key: string): string => key.replace(/^run-/, '').slice(0, SHORT_KEY_HEX);

/** 'VERSION+COMMIT' (first 12 hex of the commit), or 'VERSION+unknown' where no commit is known. */
export function codeVersion(version: string, commit?: string | null): string {
  return `${version}+${commit && /^[0-9a-f]{7,40}$/i.test(commit) ? commit.slice(0, 12).toLowerCase() : 'unknown'}`;
}

/** Where a Hub model was fetched from, pinned when the revision is a commit. */
export function hubOrigin(id: string, revision = 'main'): HubOrigin {
  return { id, revision, pinned: /^[0-9a-f]{40}$/i.test(revision) };
}

/**
 * Content hash of a decoder folder: 'sha256:' + SHA-256 over "name:sha256(bytes)\n" for every file, names
 * sorted, the same as the page's key for a kept LLM ('local:sha256:…', src/app/llm-store.ts), so a folder
 * hashed by the runner and dropped into the page gets one identity. Large files are read by range.
 */
export async function decoderHash(files: ModelFiles): Promise<string> {
  let lines = '';
  for (const n of files.names().filter((x) => !x.startsWith('.expandr')).sort()) {
    const size = files.size?.(n);
    if (files.readRange && size !== undefined && size > HASH_PIECE_BYTES) {
      const h = new Sha256();
      for (let at = 0; at < size; at += HASH_PIECE_BYTES) h.update(await files.readRange(n, at, Math.min(HASH_PIECE_BYTES, size - at)));
      lines += `${n}:${h.hex()}\n`;
    } else lines += `${n}:${await sha256Bytes(await files.read(n))}\n`;
  }
  return `sha256:${await sha256Bytes(new TextEncoder().encode(lines))}`;
}
