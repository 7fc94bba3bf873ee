// Time and memory of an experiment before it runs: the work its config implies (generations × tokens,
// documents encoded × tokens, training steps × batch × tokens), counted as the loop does it (loop.ts),
// divided by per-unit rates measured on a backend (estimate-rates.ts, bench/estimate-rates.bench.ts).
// Upper bounds where the loop may do less: every generation runs to maxTokens, every train query gives a
// DPO pair. Pure: the page and tests call it with the dataset's counts and the models' sizes.
import { variantConfig, type ExperimentConfig } from './config.ts';
import type { SettingName } from './types.ts';
import type { LlmEngine } from './config-validate.ts';
import { dpoSettings } from '../llm/dpo-settings.ts';
import { trainSettings } from '../train/settings.ts';

/** Tokens of a text, roughly (WordPiece / BPE on English: about 1.3 per word, plus [CLS] and [SEP]). */
export function approxTokens(text: string): number {
  const words = text.split(/\s+/).filter(Boolean).length;
  return Math.ceil(words * TOKENS_PER_WORD) + 2;
}
const TOKENS_PER_WORD = 1.3;

/** Tokens of a BEIR query (SciFact claims: ~12 words). */
export const QUERY_TOKENS = 20;
/** Tokens of the Q2D prompt around the query (prompts.ts): what the KV cache holds besides the query and the output. */
const PROMPT_TOKENS = 60;

export interface RatePoint {
  model: string;
  params: number;
  tokensPerSecond: number;
  /** Where this point comes from, when not the Rates' own source. */
  source?: string;
}

/** Measured throughputs of one backend by kind of work; each list sorted by params. */
export interface Rates {
  backend: string;
  /** Where the numbers come from (command, date, load average). */
  source: string;
  /** Generation by the tfjs decoder (config llm.engine 'tfjs'). */
  generate: RatePoint[];
  /** Generation by another engine, where measured (llm.engine 'llama.cpp': wllama in the page); else `generate`. */
  generateByEngine?: Partial<Record<LlmEngine, RatePoint[]>>;
  encode: RatePoint[];
  trainEncoder: RatePoint[];
  dpo: RatePoint[];
}

/**
 * Tokens per second for a model of `params` parameters: log-log interpolation between the measured
 * points (cost grows with size), the nearest point's tokens × params held constant outside them.
 */
export function rateAt(points: readonly RatePoint[], params: number): number {
  if (points.length === 0) throw new RangeError('rateAt: no measured rate');
  const p = [...points].sort((a, b) => a.params - b.params);
  if (params <= p[0].params) return (p[0].tokensPerSecond * p[0].params) / params;
  const last = p[p.length - 1];
  if (params >= last.params) return (last.tokensPerSecond * last.params) / params;
  const i = p.findIndex((x) => x.params >= params);
  const [a, b] = [p[i - 1], p[i]];
  const t = (Math.log(params) - Math.log(a.params)) / (Math.log(b.params) - Math.log(a.params));
  return Math.exp(Math.log(a.tokensPerSecond) + t * (Math.log(b.tokensPerSecond) - Math.log(a.tokensPerSecond)));
}

/** The generation rates of an engine: its own where measured, else the tfjs decoder's. */
export const generationRates = (rates: Rates, engine: LlmEngine): RatePoint[] => rates.generateByEngine?.[engine] ?? rates.generate;

export interface EstimateInput {
  config: ExperimentConfig;
  /** The test dataset: documents, and queries with judgements in the test and train splits (dev is cut from train). */
  data: { docs: number; testQueries: number; trainQueries: number; docTokens: number };
  encoder: { params: number; dim: number; maxLength: number; layers: number };
  /** null: no LLM loaded (only BM25, Raw and FT run). */
  llm: { params: number; dim: number; layers: number; vocab: number; weightBytes: number } | null;
}

export interface StageEstimate {
  stage: 'generate' | 'encode' | 'train retriever' | 'DPO';
  /** What is counted, in words ("3 encoders × 5,183 docs"). */
  what: string;
  tokens: number;
  seconds: number;
  /** Where this stage's rate comes from, when not the Rates' source (e.g. another generation engine's). */
  rateSource?: string;
}

export interface Estimate {
  seconds: number;
  stages: StageEstimate[];
  /** Peak bytes the backend holds at once (the largest of the phases), and that phase. */
  memoryBytes: number;
  memoryPhase: string;
  /** Counts the work was derived from. */
  counts: { testQueries: number; devQueries: number; trainQueries: number; generations: number; encoders: number; retrieverSteps: number; dpoSteps: number };
}

const has = (c: ExperimentConfig, ...names: SettingName[]) => names.some((n) => c.settings.includes(n));
const DEFAULT_DEV_SHARE = 0.2; // dev-split.ts DEFAULT_DEV_FRACTION, for datasets without their own dev split
const F32 = 4;
/** Adam keeps weights, gradients and two moments: 4 copies of every trained parameter. */
const ADAM_COPIES = 4;
/** Activations kept per token, per layer, in units of the hidden width, during backprop (attention, FFN 4×, norms). */
const ACTIVATIONS_PER_TOKEN_LAYER = 16;

export function estimateExperiment(input: EstimateInput, rates: Rates): Estimate {
  const { config: c, data, encoder, llm } = input;
  const limit = (n: number, cap: number) => (cap > 0 ? Math.min(n, cap) : n);
  const dev = Math.round(data.trainQueries * (c.dev.fraction ?? DEFAULT_DEV_SHARE));
  const testQ = limit(data.testQueries, c.testQueries);
  const devQ = limit(dev, c.dev.queries);
  const trainQ = limit(Math.max(0, data.trainQueries - dev), c.trainQueries);
  // The LLM side (candidates, answers, rewards, DPO pairs) reads the first candidates.queries of them.
  const llmQ = limit(trainQ, c.candidates.queries);

  // Which parts of the loop the chosen rows need (loop.ts header), seed by seed: a row outside
  // seededSettings runs with the first seed only; the base LLM's candidates are sampled once for all seeds.
  const withLlm = !!llm;
  const ABLATIONS = ['w/o retriever training', 'w/o self-reward', 'w/o retriever reward'] as const;
  const ROUND_ROWS = ['ExpandR', 'w/o LLM training', 'w/o self-reward', 'w/o retriever reward'] as const;
  const here = (seed: number, s: SettingName) => has(c, s) && (seed === c.seeds[0] || c.seededSettings.includes(s));
  let retrieverRounds = 0; // round retrievers over the seeds
  let ftRuns = 0;
  let dpoRuns = 0;
  let tunedExpansionSets = 0; // tuned LLMs whose test and dev expansions are evaluated
  let laterRounds = 0; // rounds after the first: train expansions and candidates of LLM_t
  let trainedDenseRows = 0;
  let rounds = 0; // the most rounds of any seed
  let seedBaseSets = 0; // later seeds' own base-LLM test and dev expansions (a seeded Raw+expansion or w/o LLM training)
  let seedRawExpansion = 0; // later seeds' Raw+expansion evaluations
  for (const seed of c.seeds) {
    if (withLlm && seed !== c.seeds[0]) {
      seedBaseSets += here(seed, 'Raw+expansion') || here(seed, 'w/o LLM training') ? 1 : 0;
      seedRawExpansion += here(seed, 'Raw+expansion') ? 1 : 0;
    }
    const r = withLlm && ROUND_ROWS.some((s) => here(seed, s)) ? (here(seed, 'ExpandR') ? c.rounds : 1) : 0;
    const ablations = withLlm ? ABLATIONS.filter((s) => here(seed, s)).length : 0;
    const expandR = withLlm && here(seed, 'ExpandR');
    rounds = Math.max(rounds, r);
    retrieverRounds += r;
    ftRuns += here(seed, 'FT') ? 1 : 0;
    dpoRuns += (expandR ? c.rounds : 0) + ablations;
    tunedExpansionSets += (expandR ? c.rounds : 0) + ablations; // ExpandR after every round, and each ablation's LLM
    laterRounds += Math.max(0, r - 1);
    trainedDenseRows += (here(seed, 'FT') ? 1 : 0) + (expandR ? c.rounds : 0) + (withLlm && here(seed, 'w/o LLM training') ? 1 : 0) + ablations;
  }
  const baseExpansions = withLlm && (rounds > 0 || has(c, 'Raw+expansion', 'w/o LLM training'));
  const candidateRounds = dpoRuns > 0 ? 1 + laterRounds : 0;

  // Generation: tokens generated, each prompt to maxTokens. The measured rate is of whole Q2D calls, so it
  // includes reading the prompt (Q2A prompts, with d*, are longer: slightly more than this).
  const exp = c.expansion.maxTokens;
  const perCandidateQuery = c.candidates.temperatures.length * c.candidates.perTemperature;
  let genTokens = 0;
  let prompts = 0;
  const gen = (n: number, tokens: number) => {
    genTokens += n * tokens;
    prompts += n;
  };
  // Variants of round 1 (config.variants): their candidates and answers (an upper bound: texts shared with the
  // config's come from the cache), rewards, DPO and dev expansions; E_1 and its dev embeddings are the table's.
  const variants = withLlm && has(c, 'ExpandR') && devQ > 0 ? c.variants.map((v) => variantConfig(c, v)) : [];
  const variantLlmQ = (v: ExperimentConfig) => limit(trainQ, v.candidates.queries);
  const variantPerQuery = (v: ExperimentConfig) => v.candidates.temperatures.length * v.candidates.perTemperature;
  // A variant of DPO alone (the config's candidates and rewards) trains on round 1's pairs: no sampling, no rewards.
  const samePairs = (v: ExperimentConfig) => JSON.stringify(v.candidates) === JSON.stringify(c.candidates) && JSON.stringify(v.rewards) === JSON.stringify(c.rewards);
  for (const v of variants) {
    if (!samePairs(v)) {
      gen(variantLlmQ(v) * variantPerQuery(v), v.candidates.maxTokens);
      gen(variantLlmQ(v), c.answer.maxTokens);
    }
    gen(devQ, exp);
  }
  if (baseExpansions) gen(testQ + devQ + (rounds > 0 ? trainQ : 0), exp);
  gen(candidateRounds * llmQ * perCandidateQuery, c.candidates.maxTokens);
  gen(candidateRounds * llmQ, c.answer.maxTokens);
  gen(tunedExpansionSets * (testQ + devQ), exp);
  gen(seedBaseSets * (testQ + devQ), exp); // each later seed samples its own evaluation expansions
  gen(laterRounds * trainQ, exp); // later rounds train on LLM_t's expansions

  // Encoding: the corpus once per encoder (base, FT, each round's), queries (+ expansions) per dense row,
  // and the reward pass (candidates, answers and gold documents) per candidate round.
  // Dense evaluations: the untrained rows once, the trained ones per seed they run with.
  const untrainedDense = (['Raw', 'Raw+expansion'] as const).filter((s) => has(c, s) && (withLlm || s === 'Raw')).length;
  const denseEvals = untrainedDense + seedRawExpansion + trainedDenseRows;
  const encoders = (has(c, 'Raw', 'Raw+expansion', 'w/o retriever training') || dpoRuns > 0 ? 1 : 0) + ftRuns + retrieverRounds;
  const docTok = Math.min(encoder.maxLength, data.docTokens);
  const queryTok = Math.min(encoder.maxLength, QUERY_TOKENS + exp);
  const encodeTokens =
    encoders * data.docs * docTok +
    denseEvals * (testQ + devQ) * queryTok +
    retrieverRounds * (testQ + devQ) * Math.min(encoder.maxLength, QUERY_TOKENS) + // each round's retriever on plain queries
    candidateRounds * llmQ * ((perCandidateQuery + 1) * Math.min(encoder.maxLength, c.candidates.maxTokens) + docTok) +
    variants.reduce((n, v) => n + (samePairs(v) ? 0 : variantLlmQ(v) * ((variantPerQuery(v) + 1) * Math.min(encoder.maxLength, v.candidates.maxTokens) + docTok)) + devQ * queryTok, 0);

  // Retriever training: FT and one per round, each steps × batch × accumulation × (query (+ expansion), positive (+ negative)).
  const rs = trainSettings(c.retriever);
  const retrieverRuns = ftRuns + retrieverRounds;
  const stepsOf = (examples: number) => (rs.steps > 0 ? rs.steps : Math.max(1, Math.ceil((examples * rs.epochs) / (rs.batchSize * rs.accumulation))));
  const retrieverSteps = retrieverRuns * stepsOf(trainQ) + (retrieverRuns > 0 ? retrieverRuns * rs.pretrainSteps : 0);
  const rowsPerExample = 2 + (rs.hardNegatives ? 1 : 0);
  const trainLength = (n: number) => (rs.maxLength ? Math.min(rs.maxLength, n) : n);
  const trainTokens =
    retrieverRuns * stepsOf(trainQ) * rs.batchSize * rs.accumulation * (trainLength(queryTok) + (rowsPerExample - 1) * trainLength(docTok)) +
    retrieverRuns * rs.pretrainSteps * rs.pretrainBatchSize * 2 * trainLength(docTok);

  // DPO: every train query gives a pair (the upper bound); a step is batch × accumulation pairs × 2 rows.
  const ds = dpoSettings(c.dpo);
  const dpoStepsEach = ds.steps > 0 ? ds.steps : Math.max(1, Math.ceil((ds.epochs * llmQ) / (ds.batchSize * ds.accumulation)));
  const variantDpoSteps = variants.reduce((n, v) => {
    const vs = dpoSettings(v.dpo);
    return n + (vs.steps > 0 ? vs.steps : Math.max(1, Math.ceil((vs.epochs * variantLlmQ(v)) / (vs.batchSize * vs.accumulation))));
  }, 0);
  const dpoSteps = dpoRuns * dpoStepsEach + variantDpoSteps;
  const rowTokens = Math.min(ds.maxLength, ds.maxPromptLength + (ds.maxCompletionLength ?? c.candidates.maxTokens));
  const dpoTokens = dpoSteps * ds.batchSize * ds.accumulation * 2 * rowTokens;

  const stages: StageEstimate[] = [];
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  if (llm && genTokens > 0) {
    const points = generationRates(rates, c.llm.engine);
    const rateSource = points.find((p) => p.source)?.source;
    const what = `${fmt(prompts)} generations, ≤ ${fmt(genTokens)} tokens${points === rates.generate ? '' : ` (${c.llm.engine})`}`;
    stages.push({ stage: 'generate', what, tokens: genTokens, seconds: genTokens / rateAt(points, llm.params), ...(rateSource ? { rateSource } : {}) });
  }
  if (encodeTokens > 0) stages.push({ stage: 'encode', what: `${encoders} encoder(s) × ${fmt(data.docs)} docs, plus queries and rewards`, tokens: encodeTokens, seconds: encodeTokens / rateAt(rates.encode, encoder.params) });
  if (trainTokens > 0) stages.push({ stage: 'train retriever', what: `${retrieverRuns} run(s), ${fmt(retrieverSteps)} steps`, tokens: trainTokens, seconds: trainTokens / rateAt(rates.trainEncoder, encoder.params) });
  if (llm && dpoTokens > 0) stages.push({ stage: 'DPO', what: `${dpoRuns + variants.length} run(s), ${fmt(dpoSteps)} steps`, tokens: dpoTokens, seconds: dpoTokens / rateAt(rates.dpo, llm.params) });

  // Memory: the phases do not overlap; the largest is the peak.
  const corpusVectors = 2 * data.docs * encoder.dim * F32; // the corpus embeddings of two encoders at once (a row and its peer)
  const encoderWeights = encoder.params * F32;
  const trainBatch = rs.gradCacheChunk > 0 ? rs.gradCacheChunk : rs.batchSize * rowsPerExample;
  const encoderTrain = encoder.params * F32 * ADAM_COPIES + trainBatch * docTok * encoder.dim * encoder.layers * ACTIVATIONS_PER_TOKEN_LAYER * F32;
  const phases: [string, number][] = [['encoding', encoderWeights + corpusVectors]];
  if (trainTokens > 0) phases.push(['retriever training', encoderTrain + corpusVectors / 2]);
  if (llm) {
    const kv = 2 * llm.layers * llm.dim * (PROMPT_TOKENS + QUERY_TOKENS + exp) * 8 * F32; // batch of 8 prompts
    phases.push(['generation', llm.weightBytes + kv]);
    if (dpoTokens > 0) {
      const acts = ds.batchSize * 2 * rowTokens * llm.dim * llm.layers * ACTIVATIONS_PER_TOKEN_LAYER * F32;
      const logits = ds.batchSize * 2 * rowTokens * Math.min(ds.vocabChunk, llm.vocab) * F32;
      phases.push(['DPO', llm.weightBytes + acts + logits]);
    }
  }
  const [memoryPhase, memoryBytes] = phases.reduce((a, b) => (b[1] > a[1] ? b : a));
  return {
    seconds: stages.reduce((a, s) => a + s.seconds, 0),
    stages,
    memoryBytes,
    memoryPhase,
    counts: { testQueries: testQ, devQueries: devQ, trainQueries: trainQ, generations: prompts, encoders, retrieverSteps, dpoSteps },
  };
}
