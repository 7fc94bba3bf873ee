// "Nothing is generated twice": cache keys for generated texts, the caches (memory; IndexedDB through the
// Store's artifacts; a JSONL file in Node, generation-cache-node.ts) and generateCached, which sends only
// the uncached prompts to a generator, in chunks, storing each chunk before the next one starts.
//
// A key is the SHA-256 of (generator id, prompt kind, prompt text, temperature, top_p, max tokens, seed,
// sample index, query id). The text stored is what the generator returned, before stripIntro, so a change
// of the intro table applies without generating again.
//
// Seeds. Prompt i of a job list is sampled from its own stream, sampleSeed(seed, sample, qid): it depends on
// neither the batch the prompt lands in nor which other prompts were cached, so a resumed run (or a run on a
// subset of the queries) samples each (query, sample) exactly as an uninterrupted one. On the tfjs decoder
// batch composition can still move logits in the last float bits (padding lengths differ), which very rarely
// flips a sampled token; the cache makes that moot for everything once generated.
import { sha256Hex } from '../data/hash.ts';
import { throwIfAborted } from '../errors.ts';
import type { WorkOptions } from '../util/progress.ts';
import type { PromptKind } from './prompts.ts';
import type { GenerationCache, SamplingSettings, TextGenerator } from './types.ts';

/** Bump when the meaning of a key changes (old entries are then never hit). */
export const GENERATION_KEY_VERSION = 1;

export interface GenerationKeyParts {
  generator: string;
  kind: PromptKind;
  prompt: string;
  sampling: SamplingSettings;
  /** Which sample of this (query, prompt, sampling): 0 for the single expansion / answer. */
  sample: number;
  qid: string;
}

/** The cache key of one generation: 64 hex digits. */
export function generationKey(parts: GenerationKeyParts): string {
  const s = parts.sampling;
  return sha256Hex(JSON.stringify([GENERATION_KEY_VERSION, parts.generator, parts.kind, parts.prompt, s.temperature, s.topP, s.maxTokens, s.seed, parts.sample, parts.qid]));
}

/** The seed of one (query, sample)'s sampling stream: a uint32 from (base seed, sample index, query id). */
export function sampleSeed(seed: number, sample: number, qid: string): number {
  return parseInt(sha256Hex(JSON.stringify(['sample-seed', seed, sample, qid])).slice(0, 8), 16);
}

/** A Map in memory (tests; the app's scratch runs). */
export class MemoryGenerationCache implements GenerationCache {
  readonly entries = new Map<string, string>();
  async get(key: string): Promise<string | undefined> {
    return this.entries.get(key);
  }
  async putMany(entries: readonly (readonly [string, string])[]): Promise<void> {
    for (const [k, v] of entries) this.entries.set(k, v);
  }
  get size(): number {
    return this.entries.size;
  }
}

/** The part of src/store/store.ts Store this cache uses. */
export interface ArtifactBackend {
  putArtifact(datasetId: string, key: string, value: unknown): Promise<void>;
  getArtifact<T = unknown>(datasetId: string, key: string): Promise<T | undefined>;
  deleteArtifact(datasetId: string, key: string): Promise<void>;
  listArtifacts(datasetId: string): Promise<string[]>;
}

/** Segments read on open beyond which they are merged into one (one read per segment on every open). */
export const STORE_CACHE_COMPACT_AT = 64;

/**
 * IndexedDB through a dataset's artifacts, append-only: each putMany writes one artifact
 * `${prefix}/seg-NNNNNNNN-TAG` (TAG random per instance) holding its entries (one transaction, however many entries); the first get
 * reads every segment into memory (tens of thousands of texts are tens of MB) and, when there are more
 * than STORE_CACHE_COMPACT_AT, merges them into one (written before the old ones are deleted, so a tab
 * closed midway leaves duplicates of equal values, never a loss).
 */
export class StoreGenerationCache implements GenerationCache {
  private loaded: Promise<Map<string, string>> | null = null;
  private next = 0;
  private segments: string[] = [];

  constructor(
    private readonly store: ArtifactBackend,
    private readonly datasetId: string,
    private readonly prefix = 'generations',
  ) {}

  /** Per instance, so two tabs appending to one dataset's cache never write the same segment key. */
  private readonly tag = Math.floor(Math.random() * 0x1000000).toString(16).padStart(6, '0');

  private segmentKey(n: number): string {
    return `${this.prefix}/seg-${String(n).padStart(8, '0')}-${this.tag}`;
  }

  private load(): Promise<Map<string, string>> {
    this.loaded ??= (async () => {
      const mine = (await this.store.listArtifacts(this.datasetId)).filter((k) => k.startsWith(this.prefix + '/seg-')).sort();
      const map = new Map<string, string>();
      for (const k of mine) {
        const seg = await this.store.getArtifact<[string, string][]>(this.datasetId, k);
        for (const [key, text] of seg ?? []) map.set(key, text);
      }
      this.segments = mine;
      this.next = mine.length ? Number(mine[mine.length - 1].slice(this.prefix.length + 5, this.prefix.length + 13)) + 1 : 0;
      if (mine.length > STORE_CACHE_COMPACT_AT) {
        const merged = this.segmentKey(this.next++);
        await this.store.putArtifact(this.datasetId, merged, [...map]);
        for (const k of mine) await this.store.deleteArtifact(this.datasetId, k);
        this.segments = [merged];
      }
      return map;
    })();
    return this.loaded;
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.load()).get(key);
  }

  async putMany(entries: readonly (readonly [string, string])[]): Promise<void> {
    const map = await this.load();
    const fresh = entries.filter(([k, v]) => map.get(k) !== v);
    if (fresh.length === 0) return;
    const key = this.segmentKey(this.next++);
    await this.store.putArtifact(this.datasetId, key, fresh.map(([k, v]) => [k, v]));
    this.segments.push(key);
    for (const [k, v] of fresh) map.set(k, v);
  }

  /** Artifacts this cache occupies now (after the first get / putMany). */
  get segmentCount(): number {
    return this.segments.length;
  }
}

/** One prompt to generate for one query and sample. */
export interface GenerationJob {
  qid: string;
  kind: PromptKind;
  prompt: string;
  sampling: SamplingSettings;
  /** 0 for a single expansion / answer; the candidate's index for candidates. */
  sample: number;
}

export interface GenerateCachedOptions extends WorkOptions {
  /** Prompts per generator call, and so per cache write (default DEFAULT_GENERATION_CHUNK). */
  chunk?: number;
  /** Progress stage (default 'pipeline:generate'); unit 'prompts', cached ones counted at once. */
  stage?: string;
}

/** Prompts per generator call: a killed run loses at most this many generations. */
export const DEFAULT_GENERATION_CHUNK = 8;

/**
 * The raw text of every job, from the cache where present, else from `gen` — uncached jobs grouped by
 * sampling settings and sent in chunks, each prompt with its own seed (sampleSeed), each chunk stored
 * before the next starts. Jobs with equal keys are generated once. Cancel: CancelledError between chunks
 * (and inside the generator where it honours the signal).
 */
export async function generateCached(gen: TextGenerator, jobs: readonly GenerationJob[], cache: GenerationCache, options: GenerateCachedOptions = {}): Promise<string[]> {
  const stage = options.stage ?? 'pipeline:generate';
  const chunk = Math.max(1, options.chunk ?? DEFAULT_GENERATION_CHUNK);
  const keys = jobs.map((j) => generationKey({ generator: gen.id, ...j }));
  const out = new Array<string | undefined>(jobs.length);
  const firstOf = new Map<string, number>(); // key → first job index with it
  const todo: number[] = [];
  for (let i = 0; i < jobs.length; i++) {
    const hit = await cache.get(keys[i]);
    if (hit !== undefined) out[i] = hit;
    else if (!firstOf.has(keys[i])) {
      firstOf.set(keys[i], i);
      todo.push(i);
    }
  }
  const total = jobs.length;
  let done = total - todo.length;
  options.onProgress?.({ stage, done, total, unit: 'prompts', text: `${done} cached` });

  // Group by sampling settings (one generator call has one sampling), keeping job order within a group.
  const groups = new Map<string, number[]>();
  for (const i of todo) {
    const s = jobs[i].sampling;
    const g = JSON.stringify([s.temperature, s.topP, s.maxTokens, s.seed]);
    groups.set(g, [...(groups.get(g) ?? []), i]);
  }
  for (const idx of groups.values()) {
    for (let c = 0; c < idx.length; c += chunk) {
      throwIfAborted(options.signal, 'Generation');
      const part = idx.slice(c, c + chunk);
      const sampling = jobs[part[0]].sampling;
      const seeds = part.map((i) => sampleSeed(sampling.seed, jobs[i].sample, jobs[i].qid));
      const base = done;
      const texts = await gen.generate(
        part.map((i) => jobs[i].prompt),
        sampling,
        {
          signal: options.signal,
          seeds,
          // The generator's own progress (tokens of this chunk) becomes the text of ours: `done` stays monotone.
          onProgress: (p) => options.onProgress?.({ stage, done: base, total, unit: 'prompts', text: `${p.stage}: ${p.done}/${p.total} ${p.unit}` }),
        },
      );
      if (texts.length !== part.length) throw new Error(`${gen.id} returned ${texts.length} texts for ${part.length} prompts`);
      await cache.putMany(part.map((i, k) => [keys[i], texts[k]] as const));
      part.forEach((i, k) => (out[i] = texts[k]));
      done += part.length;
      options.onProgress?.({ stage, done, total, unit: 'prompts' });
    }
  }
  // Duplicates of a generated key.
  for (let i = 0; i < jobs.length; i++) if (out[i] === undefined) out[i] = out[firstOf.get(keys[i])!];
  if (done < total) {
    done = total;
    options.onProgress?.({ stage, done, total, unit: 'prompts' });
  }
  return out as string[];
}
