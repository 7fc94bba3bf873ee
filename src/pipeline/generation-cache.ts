// "Nothing is generated twice": cache keys for generated texts, the caches (memory; IndexedDB through the
// Store's artifacts; a JSONL file in Node, src/cli/generation-cache-file.ts) and generateCached, which sends
// only the uncached prompts to a generator, in chunks, storing each chunk before the next one starts.
//
// A key is the SHA-256 of (generator id, engine, weights' precision, prompt kind, prompt text, temperature,
// top_p, max tokens, seed, sample index, query id): a text WebLLM sampled at q4f16_1 is never served to a run
// on the tfjs decoder at float32 (generation-provenance.ts). The text stored is what the generator returned,
// before stripIntro, so a change of the intro table applies without generating again.
//
// Failures (issue 14.4). A prompt the generator could not run (a GenerationFailure) is tried again, up to
// GENERATION_RETRIES times; one that still fails is reported (GenerationOutcome.failures) and never cached,
// so the next run tries it again. A generate() call that throws is retried the same way, then the error
// propagates (a systematic error stops the run; nothing of that chunk is cached). Cancels are not retried.
//
// Seeds. Prompt i of a job list is sampled from its own stream, sampleSeed(seed, sample, qid): it depends on
// neither the batch the prompt lands in nor which other prompts were cached, so a resumed run (or a run on a
// subset of the queries) samples each (query, sample) exactly as an uninterrupted one. On the tfjs decoder
// batch composition can still move logits in the last float bits (padding lengths differ), which very rarely
// flips a sampled token; the cache makes that moot for everything once generated.
import { sha256Hex } from '../data/hash.ts';
import { CancelledError, throwIfAborted } from '../errors.ts';
import type { WorkOptions } from '../util/progress.ts';
import type { GenerationProvenance } from './generation-provenance.ts';
import type { PromptKind } from './prompts.ts';
import type { GenerationCache, GenerationCacheEntry, SamplingSettings, TextGenerator } from './types.ts';

/** Bump when the meaning of a key changes (old entries are then never hit). 2: engine and precision in the key. */
export const GENERATION_KEY_VERSION = 2;

/** Extra tries of a prompt that failed (or of a call that threw) before it is counted as failed. */
export const GENERATION_RETRIES = 2;

export interface GenerationKeyParts {
  generator: string;
  /** Engine and precision of the generator (absent for test fakes: keyed as unknown). */
  provenance?: Pick<GenerationProvenance, 'engine' | 'precision' | 'sampler' | 'lora'>;
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
  // A sampler other than the engine's own, and a runtime adapter, are keyed too; without them the key is as
  // before (entries stay valid).
  const made = [
    parts.provenance?.engine ?? null,
    parts.provenance?.precision ?? null,
    ...(parts.provenance?.sampler ? [parts.provenance.sampler] : []),
    ...(parts.provenance?.lora ? [`lora:${parts.provenance.lora}`] : []),
  ];
  return sha256Hex(JSON.stringify([GENERATION_KEY_VERSION, parts.generator, ...made, parts.kind, parts.prompt, s.temperature, s.topP, s.maxTokens, s.seed, parts.sample, parts.qid]));
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
  async putMany(entries: readonly GenerationCacheEntry[]): Promise<void> {
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
        const seg = await this.store.getArtifact<GenerationCacheEntry[]>(this.datasetId, k);
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

  async putMany(entries: readonly GenerationCacheEntry[]): Promise<void> {
    const map = await this.load();
    const fresh = entries.filter(([k, v]) => map.get(k) !== v);
    if (fresh.length === 0) return;
    const key = this.segmentKey(this.next++);
    // [key, text, {engine, precision}] per entry (a merged segment keeps [key, text] only).
    await this.store.putArtifact(this.datasetId, key, fresh.map((e) => (e[2] ? [e[0], e[1], { ...e[2] }] : [e[0], e[1]])));
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

/** A job that still failed after GENERATION_RETRIES more tries: not cached, so a later run tries it again. */
export interface FailedGeneration {
  qid: string;
  kind: PromptKind;
  sample: number;
  /** The last error the generator gave. */
  error: string;
  attempts: number;
}

/** Texts in job order (null where the job failed) and the failures. */
export interface GenerationOutcome {
  texts: (string | null)[];
  failures: FailedGeneration[];
}

const isCancel = (e: unknown, signal?: AbortSignal) => e instanceof CancelledError || signal?.aborted === true;

/**
 * The raw text of every job, from the cache where present, else from `gen` — uncached jobs grouped by
 * sampling settings and sent in chunks, each prompt with its own seed (sampleSeed), each chunk stored
 * before the next starts. Jobs with equal keys are generated once. Failed prompts are retried, then
 * reported and left uncached (see the top of this file). Cancel: CancelledError between chunks (and inside
 * the generator where it honours the signal).
 */
export async function generateCached(gen: TextGenerator, jobs: readonly GenerationJob[], cache: GenerationCache, options: GenerateCachedOptions = {}): Promise<GenerationOutcome> {
  const stage = options.stage ?? 'pipeline:generate';
  const chunk = Math.max(1, options.chunk ?? DEFAULT_GENERATION_CHUNK);
  const p = gen.provenance;
  const made = p ? { engine: p.engine, precision: p.precision, ...(p.sampler ? { sampler: p.sampler } : {}), ...(p.lora ? { lora: p.lora } : {}) } : undefined;
  const keys = jobs.map((j) => generationKey({ generator: gen.id, provenance: made, ...j }));
  const out = new Array<string | null | undefined>(jobs.length);
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
  const failed = new Map<number, FailedGeneration>();
  const failText = () => (failed.size ? `, ${failed.size} failed` : '');
  options.onProgress?.({ stage, done, total, unit: 'prompts', text: `${done} cached` });
  // Within a chunk `shown` follows the generator's own progress (monotone; a retry does not move it back),
  // and the tokens it counts add up over the chunks (counter: tokens/s on the page).
  let shown = done;
  let tokensBefore = 0;
  let tokensNow = 0;
  let countsTokens = false;
  const counter = () => (countsTokens ? { counter: { done: tokensBefore + tokensNow, unit: 'tokens' } } : {});

  // Group by sampling settings (one generator call has one sampling), keeping job order within a group.
  const groups = new Map<string, number[]>();
  for (const i of todo) {
    const s = jobs[i].sampling;
    const g = JSON.stringify([s.temperature, s.topP, s.maxTokens, s.seed]);
    groups.set(g, [...(groups.get(g) ?? []), i]);
  }
  for (const idx of groups.values()) {
    for (let c = 0; c < idx.length; c += chunk) {
      const part = idx.slice(c, c + chunk);
      const sampling = jobs[part[0]].sampling;
      const base = done;
      let pending = part;
      const lastError = new Map<number, string>();
      let attempt = 0;
      while (pending.length && attempt <= GENERATION_RETRIES) {
        throwIfAborted(options.signal, 'Generation');
        attempt++;
        const now = pending;
        let texts: Awaited<ReturnType<TextGenerator['generate']>>;
        try {
          texts = await gen.generate(
            now.map((i) => jobs[i].prompt),
            sampling,
            {
              signal: options.signal,
              seeds: now.map((i) => sampleSeed(sampling.seed, jobs[i].sample, jobs[i].qid)),
              // The generator's own progress (tokens of this chunk) becomes the text of ours: `done` stays monotone.
              onProgress: (p) => {
                if (attempt === 1 && p.unit === 'prompts' && p.total > 0) shown = Math.max(shown, base + (Math.min(p.done, p.total) / p.total) * now.length);
                if (p.counter?.unit === 'tokens') [countsTokens, tokensNow] = [true, p.counter.done];
                options.onProgress?.({ stage, done: shown, total, unit: 'prompts', text: `${p.stage}: ${p.text ?? `${Math.floor(p.done)}/${p.total} ${p.unit}`}${attempt > 1 ? ` (try ${attempt})` : ''}${failText()}`, ...counter() });
              },
            },
          );
        } catch (e) {
          if (isCancel(e, options.signal) || attempt > GENERATION_RETRIES) throw e;
          continue;
        } finally {
          tokensBefore += tokensNow;
          tokensNow = 0;
        }
        if (texts.length !== now.length) throw new Error(`${gen.id} returned ${texts.length} texts for ${now.length} prompts`);
        const ok: GenerationCacheEntry[] = [];
        pending = [];
        now.forEach((i, k) => {
          const t = texts[k];
          if (typeof t === 'string') {
            out[i] = t;
            ok.push(made ? [keys[i], t, made] : [keys[i], t]);
          } else {
            lastError.set(i, t.failed);
            pending.push(i);
          }
        });
        if (ok.length) await cache.putMany(ok);
      }
      for (const i of pending) {
        out[i] = null;
        failed.set(i, { qid: jobs[i].qid, kind: jobs[i].kind, sample: jobs[i].sample, error: lastError.get(i) ?? 'unknown error', attempts: attempt });
      }
      done += part.length;
      shown = done;
      options.onProgress?.({ stage, done, total, unit: 'prompts', text: failed.size ? `${failed.size} failed` : undefined, ...counter() });
    }
  }
  // Duplicates of a generated (or failed) key.
  const failures = [...failed.values()];
  for (let i = 0; i < jobs.length; i++) {
    if (out[i] !== undefined) continue;
    const first = firstOf.get(keys[i])!;
    out[i] = out[first];
    const f = failed.get(first);
    if (f) failures.push({ ...f, qid: jobs[i].qid, sample: jobs[i].sample });
  }
  if (done < total) {
    done = total;
    options.onProgress?.({ stage, done, total, unit: 'prompts' });
  }
  return { texts: out as (string | null)[], failures };
}
