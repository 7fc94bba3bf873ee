// The raw material of the rewards (paper §3.3): k candidate expansions per train query at each temperature of
// CandidateSettings (Eq. 15; paper 8 × {0.8, 0.9, 1.0, 1.1}, top_p 0.9), and the Q2A answer y of each train
// query from (q, d*) (Eq. 12). Both go through the generation cache; texts come back intro-stripped.
//
// Candidate j of a query (j = temperatureIndex · perTemperature + s) is sample j: its stream seed is
// sampleSeed(seed, j, qid), so every candidate is an independent, reproducible sample. The vanilla expansion
// is sample 0 with the expansion settings: when those equal the first temperature's settings, candidate 0 is
// the same cache entry and is not generated twice.
import type { WorkOptions } from '../util/progress.ts';
import type { CandidateSettings as CandidateConfig } from './config.ts';

/** How candidates are sampled (which queries get them is the loop's business). */
type CandidateSettings = Omit<CandidateConfig, 'queries'>;
import { generateCached, type FailedGeneration, type GenerationJob } from './generation-cache.ts';
import { q2aPrompt, q2dPrompt, Q2A_DOC_MAX_CHARS, stripIntro } from './prompts.ts';
import type { GenerationCache, QueryWithGold, SamplingSettings, TextGenerator } from './types.ts';

export interface Candidate {
  /** Intro-stripped text. */
  text: string;
  temperature: number;
  /** Sample index j (see above). */
  sample: number;
}

/** One train query's candidates and answer, JSON-serialisable (the loop keeps it in the run state). */
export interface QueryCandidates {
  qid: string;
  /** Intro-stripped Q2A answer y; '' when the model wrote nothing or its generation failed (the query is then skipped). */
  answer: string;
  /** Candidates that were generated; a failed one (after retries) is left out, not kept as ''. */
  candidates: Candidate[];
  /** Generations of this query that failed after retries: candidates left out, and the answer (answerFailed). */
  failed?: number;
  answerFailed?: boolean;
}

export interface CandidateOptions {
  /** Prompts per generator call / cache write. */
  chunk?: number;
  /** Told the generations that failed after retries (not cached; a later run tries them again). */
  onFailures?: (failures: FailedGeneration[]) => void;
  /** Characters of d* in the Q2A prompt (default Q2A_DOC_MAX_CHARS). */
  maxDocChars?: number;
}

/** The sampling of each candidate index j, in order (temperature-major). */
export function candidateSamplings(settings: CandidateSettings, seed: number): SamplingSettings[] {
  return settings.temperatures.flatMap((temperature) =>
    Array.from({ length: settings.perTemperature }, () => ({ temperature, topP: settings.topP, maxTokens: settings.maxTokens, seed })),
  );
}

export function candidateJobs(queries: readonly QueryWithGold[], settings: CandidateSettings, seed: number): GenerationJob[] {
  const samplings = candidateSamplings(settings, seed);
  return queries.flatMap((q) => samplings.map((sampling, j) => ({ qid: q.qid, kind: 'q2d' as const, prompt: q2dPrompt(q.query), sampling, sample: j })));
}

export function answerJobs(queries: readonly QueryWithGold[], sampling: SamplingSettings, maxDocChars = Q2A_DOC_MAX_CHARS): GenerationJob[] {
  return queries.map((q) => ({ qid: q.qid, kind: 'q2a' as const, prompt: q2aPrompt(q.query, q.goldDoc, maxDocChars), sampling, sample: 0 }));
}

/** k·|temperatures| candidates per query. Progress stage 'pipeline:candidates', unit 'prompts'. */
export async function generateCandidates(
  gen: TextGenerator,
  queries: readonly QueryWithGold[],
  settings: CandidateSettings,
  seed: number,
  cache: GenerationCache,
  work: WorkOptions = {},
  o: CandidateOptions = {},
): Promise<Map<string, Candidate[]>> {
  const jobs = candidateJobs(queries, settings, seed);
  const { texts, failures } = await generateCached(gen, jobs, cache, { ...work, chunk: o.chunk, stage: 'pipeline:candidates' });
  if (failures.length) o.onFailures?.(failures);
  const out = new Map<string, Candidate[]>(queries.map((q) => [q.qid, []]));
  jobs.forEach((j, i) => texts[i] !== null && out.get(j.qid)!.push({ text: stripIntro(texts[i]!), temperature: j.sampling.temperature, sample: j.sample }));
  return out;
}

/** The Q2A answer y of each query (absent where its generation failed). Progress stage 'pipeline:answers', unit 'prompts'. */
export async function generateAnswers(
  gen: TextGenerator,
  queries: readonly QueryWithGold[],
  sampling: SamplingSettings,
  cache: GenerationCache,
  work: WorkOptions = {},
  o: CandidateOptions = {},
): Promise<Map<string, string>> {
  const { texts, failures } = await generateCached(gen, answerJobs(queries, sampling, o.maxDocChars), cache, { ...work, chunk: o.chunk, stage: 'pipeline:answers' });
  if (failures.length) o.onFailures?.(failures);
  const out = new Map<string, string>();
  queries.forEach((q, i) => texts[i] !== null && out.set(q.qid, stripIntro(texts[i]!)));
  return out;
}

/** Candidates then answers for every query: what the reward stage needs, in query order. */
export async function sampleCandidateSets(
  gen: TextGenerator,
  queries: readonly QueryWithGold[],
  s: { candidates: CandidateSettings; answer: SamplingSettings; seed: number },
  cache: GenerationCache,
  work: WorkOptions = {},
  o: CandidateOptions = {},
): Promise<QueryCandidates[]> {
  const failedOf = new Map<string, number>();
  const count = (fs: FailedGeneration[]) => fs.forEach((f) => failedOf.set(f.qid, (failedOf.get(f.qid) ?? 0) + 1));
  const oo: CandidateOptions = { ...o, onFailures: (fs) => (count(fs), o.onFailures?.(fs)) };
  const cands = await generateCandidates(gen, queries, s.candidates, s.seed, cache, work, oo);
  const answers = await generateAnswers(gen, queries, s.answer, cache, work, oo);
  return queries.map((q) => {
    const set: QueryCandidates = { qid: q.qid, answer: answers.get(q.qid) ?? '', candidates: cands.get(q.qid) ?? [] };
    if (failedOf.has(q.qid)) set.failed = failedOf.get(q.qid);
    if (!answers.has(q.qid)) set.answerFailed = true;
    return set;
  });
}
