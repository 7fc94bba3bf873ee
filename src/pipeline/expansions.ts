// Vanilla query expansion (Q2D prompt, Eq. 15 with one sample) for a set of queries, through the generation
// cache, and the expansions JSONL file (DESIGN.md §6) both ways — the format
// src/retrieval/dense/expansions.ts parseExpansions reads for `expandr eval --expansions`.
import { parseExpansions } from '../retrieval/dense/expansions.ts';
import type { WorkOptions } from '../util/progress.ts';
import { generateCached, type FailedGeneration, type GenerationJob } from './generation-cache.ts';
import { q2dPrompt, stripIntro } from './prompts.ts';
import type { GenerationCache, SamplingSettings, TextGenerator } from './types.ts';

export interface ExpansionQuery {
  id: string;
  text: string;
}

export interface ExpansionOptions {
  /** Prompts per generator call / cache write (generation-cache.ts DEFAULT_GENERATION_CHUNK). */
  chunk?: number;
  /** Told the expansions that failed after retries (absent from the result; not cached). */
  onFailures?: (failures: FailedGeneration[]) => void;
}

/** The generation jobs of the expansions (sample 0 of each query's Q2D prompt). */
export function expansionJobs(queries: readonly ExpansionQuery[], sampling: SamplingSettings): GenerationJob[] {
  return queries.map((q) => ({ qid: q.id, kind: 'q2d', prompt: q2dPrompt(q.text), sampling, sample: 0 }));
}

/**
 * One expansion per query, intro phrases stripped, in query order. Only prompts missing from `cache` reach
 * the generator. A query whose expansion failed (after retries) is absent from the map, so it is scored
 * without one rather than with an empty text; o.onFailures hears which. Progress: stage 'pipeline:expand',
 * unit 'prompts'; cancel with work.signal.
 */
export async function generateExpansions(
  gen: TextGenerator,
  queries: readonly ExpansionQuery[],
  sampling: SamplingSettings,
  cache: GenerationCache,
  work: WorkOptions = {},
  o: ExpansionOptions = {},
): Promise<Map<string, string>> {
  const { texts, failures } = await generateCached(gen, expansionJobs(queries, sampling), cache, { ...work, chunk: o.chunk, stage: 'pipeline:expand' });
  if (failures.length) o.onFailures?.(failures);
  const out = new Map<string, string>();
  queries.forEach((q, i) => texts[i] !== null && out.set(q.id, stripIntro(texts[i]!)));
  return out;
}

/** The JSONL file: one {"id", "expansion"} per line, in map order, newline-terminated. */
export function expansionsToJsonl(expansions: ReadonlyMap<string, string>): string {
  let out = '';
  for (const [id, expansion] of expansions) out += JSON.stringify({ id, expansion }) + '\n';
  return out;
}

/** Reads an expansions file; errors name `file` and the 1-based line (parseExpansions). */
export function expansionsFromJsonl(text: string, file = 'expansions.jsonl'): Map<string, string> {
  return parseExpansions(text, file);
}
