// The two columns of bench/experiment-walltime.ts as estimate inputs: SciFact's counts, the two models'
// sizes, the experiment config "before" (tfjs generation, training texts at the encoder's 256 tokens) and
// "after" (the config as written: llama.cpp, retriever.maxLength 128), and Rates built from one run's
// measurements (bench/estimate-rates-run.ts --json). Also the estimate of one finished stage of a real run,
// counted as estimate.ts counts the whole experiment, so a measured stage can be set beside it.
import { readFileSync } from 'node:fs';
import { loadBeir } from '../src/data/load.ts';
import { sourcesFromPath } from '../src/data/node-sources.ts';
import { flatText } from '../src/data/types.ts';
import { dpoSettings } from '../src/llm/dpo-settings.ts';
import { experimentConfig, type ExperimentConfig } from '../src/pipeline/config.ts';
import { approxTokens, estimateExperiment, QUERY_TOKENS, type Estimate, type EstimateInput, type Rates } from '../src/pipeline/estimate.ts';
import { parseStageName } from '../src/pipeline/stages.ts';
import { trainSettings } from '../src/train/settings.ts';

/** One measurement line of estimate-rates-run.ts. */
export interface RateMeasurement {
  kind: 'generate' | 'dpo' | 'encode' | 'train';
  model: string;
  params: number;
  tokens: number;
  seconds: number;
  tokensPerSecond: number;
  wasmThreads: number;
  engine?: string;
  maxLength?: number;
  load1m?: string;
}

/** SmolLM2-135M-Instruct's shape (its config.json / GGUF header): 30 layers, width 576, vocabulary 49,152. */
const SMOLLM2 = { dim: 576, layers: 30, vocab: 49152 };
/** all-MiniLM-L6-v2: 6 layers, width 384, 256 tokens. */
const MINILM = { dim: 384, layers: 6, maxLength: 256 };

export interface DatasetCounts {
  docs: number;
  testQueries: number;
  trainQueries: number;
  /** Mean approxTokens of a document (title + text, uncut). */
  docTokens: number;
}

/** Documents, the queries judged in each split, and the mean document length. */
export async function datasetCounts(dir: string, testSplit: string, trainSplit: string): Promise<DatasetCounts> {
  const data = await loadBeir(await sourcesFromPath(dir));
  const judged = (split: string) => {
    const q = data.qrels.get(split);
    if (!q) throw new Error(`${dir}: no qrels/${split}.tsv`);
    return [...q.keys()].filter((id) => data.queries.has(id)).length;
  };
  const tokens = data.docs.reduce((a, d) => a + approxTokens(flatText(d)), 0);
  return { docs: data.docs.length, testQueries: judged(testSplit), trainQueries: judged(trainSplit), docTokens: Math.round(tokens / data.docs.length) };
}

/** The config file (top-level "$" keys are comments), validated as the runner validates it. */
export function readConfig(file: string): ExperimentConfig {
  return experimentConfig(JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>, file);
}

/** The config as the runner ran before the speed work: tfjs generation, training texts at the encoder's length. */
export function beforeConfig(after: ExperimentConfig): ExperimentConfig {
  return { ...after, llm: { ...after.llm, engine: 'tfjs' }, retriever: { ...after.retriever, maxLength: null } } as ExperimentConfig;
}

/** Rates of one column from its measurements (one point per kind: the models of the experiment). */
export function ratesOf(label: string, source: string, ms: readonly RateMeasurement[]): Rates {
  const points = (kind: RateMeasurement['kind']) => {
    const of = ms.filter((m) => m.kind === kind);
    if (of.length === 0) throw new Error(`bench/experiment-walltime: the ${label} column has no "${kind}" measurement`);
    return of.map((m) => ({ model: m.model, params: m.params, tokensPerSecond: m.tokensPerSecond }));
  };
  return { backend: label, source, generate: points('generate'), encode: points('encode'), trainEncoder: points('train'), dpo: points('dpo') };
}

export function estimateInput(config: ExperimentConfig, data: DatasetCounts, rates: Rates): EstimateInput {
  const llmParams = rates.generate[0].params;
  return {
    config,
    data,
    encoder: { params: rates.encode[0].params, ...MINILM },
    llm: { params: llmParams, ...SMOLLM2, weightBytes: llmParams * 4 },
  };
}

export const estimateWith = (config: ExperimentConfig, data: DatasetCounts, rates: Rates): Estimate => estimateExperiment(estimateInput(config, data, rates), rates);

/** The estimate's stage a run stage belongs to (null: not in the estimate, e.g. BM25). */
export function estimateStageOf(stage: string): 'generate' | 'encode' | 'train retriever' | 'DPO' | null {
  const id = parseStageName(stage);
  if (!id) return null;
  if (id.kind === 'expansions' || id.kind === 'candidates') return 'generate';
  if (id.kind === 'retriever') return 'train retriever';
  if (id.kind === 'dpo') return 'DPO';
  if (id.kind === 'preferences' || id.kind === 'plainEval') return 'encode';
  return id.setting === 'BM25' ? null : 'encode';
}

/**
 * Seconds the estimate gives one finished stage, counted as estimate.ts counts it. Evaluations count their
 * queries only: the corpus pass is the estimate's once per encoder, and a run reads it from the embedding
 * cache when that encoder has encoded it before, so it is not part of a given stage.
 */
export function stageSeconds(stage: string, config: ExperimentConfig, data: DatasetCounts, rates: Rates): number | null {
  const id = parseStageName(stage);
  const group = estimateStageOf(stage);
  if (!id || !group) return null;
  const c = config;
  const e = estimateWith(c, data, rates);
  const { testQueries: testQ, devQueries: devQ, trainQueries: trainQ } = e.counts;
  const llmQ = c.candidates.queries > 0 ? Math.min(trainQ, c.candidates.queries) : trainQ;
  const rate = (kind: keyof Omit<Rates, 'backend' | 'source' | 'generateByEngine'>) => rates[kind][0].tokensPerSecond;
  const maxLength = MINILM.maxLength;
  const exp = c.expansion.maxTokens;
  const docTok = Math.min(maxLength, data.docTokens);
  const perQuery = c.candidates.temperatures.length * c.candidates.perTemperature;
  switch (id.kind) {
    case 'expansions':
      return ({ test: testQ, dev: devQ, train: trainQ }[id.queries] * exp) / rate('generate');
    case 'candidates':
      return (llmQ * (perQuery * c.candidates.maxTokens + c.answer.maxTokens)) / rate('generate');
    case 'preferences':
      return (llmQ * ((perQuery + 1) * Math.min(maxLength, c.candidates.maxTokens) + docTok)) / rate('encode');
    case 'eval':
    case 'devEval': {
      const expanded = id.setting !== 'Raw' && id.setting !== 'FT';
      const queryTok = expanded ? Math.min(maxLength, QUERY_TOKENS + exp) : QUERY_TOKENS;
      return ((id.kind === 'eval' ? testQ : devQ) * queryTok) / rate('encode');
    }
    case 'plainEval':
      return ((id.queries === 'test' ? testQ : devQ) * QUERY_TOKENS) / rate('encode');
    case 'retriever': {
      const rs = trainSettings(c.retriever);
      const steps = rs.steps > 0 ? rs.steps : Math.max(1, Math.ceil((trainQ * rs.epochs) / (rs.batchSize * rs.accumulation)));
      const len = (n: number) => (rs.maxLength ? Math.min(rs.maxLength, n) : n);
      const queryTok = Math.min(maxLength, QUERY_TOKENS + exp);
      const tokens = steps * rs.batchSize * rs.accumulation * (len(queryTok) + (rs.hardNegatives ? 2 : 1) * len(docTok));
      return tokens / rate('trainEncoder');
    }
    case 'dpo': {
      const ds = dpoSettings(c.dpo);
      const steps = ds.steps > 0 ? ds.steps : Math.max(1, Math.ceil((ds.epochs * llmQ) / (ds.batchSize * ds.accumulation)));
      const row = Math.min(ds.maxLength, ds.maxPromptLength + (ds.maxCompletionLength ?? c.candidates.maxTokens));
      return (steps * ds.batchSize * ds.accumulation * 2 * row) / rate('dpo');
    }
  }
}
