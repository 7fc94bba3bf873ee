// Vanilla query expansion (Q2D prompt, Eq. 15 with one sample) for a set of queries, through the generation
// cache, and the expansions JSONL file (DESIGN.md §6) both ways — the format
// src/retrieval/dense/expansions.ts parseExpansions reads for `expandr eval --expansions`.
import { parseExpansions } from '../retrieval/dense/expansions.ts';
import type { WorkOptions } from '../util/progress.ts';
import { generateCached, type GenerationJob } from './generation-cache.ts';
import { q2dPrompt, stripIntro } from './prompts.ts';
import type { GenerationCache, SamplingSettings, TextGenerator } from './types.ts';

export interface ExpansionQuery {
  id: string;
  text: string;
}

export interface ExpansionOptions {
  /** Prompts per generator call / cache write (generation-cache.ts DEFAULT_GENERATION_CHUNK). */
  chunk?: number;
}

/** The generation jobs of the expansions (sample 0 of each query's Q2D prompt). */
export function expansionJobs(queries: readonly ExpansionQuery[], sampling: SamplingSettings): GenerationJob[] {
  return queries.map((q) => ({ qid: q.id, kind: 'q2d', prompt: q2dPrompt(q.text), sampling, sample: 0 }));
}

/**
 * One expansion per query, intro phrases stripped, in query order. Only prompts missing from `cache` reach
 * the generator. Progress: stage 'pipeline:expand', unit 'prompts'; cancel with work.signal.
 */
export async function generateExpansions(
  gen: TextGenerator,
  queries: readonly ExpansionQuery[],
  sampling: SamplingSettings,
  cache: GenerationCache,
  work: WorkOptions = {},
  o: ExpansionOptions = {},
): Promise<Map<string, string>> {
  const texts = await generateCached(gen, expansionJobs(queries, sampling), cache, { ...work, chunk: o.chunk, stage: 'pipeline:expand' });
  return new Map(queries.map((q, i) => [q.id, stripIntro(texts[i])]));
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
