// The retriever side of the loop: train an encoder (resumable through the trainer's checkpoints) and
// export it as a sentence-transformers folder into the run store; evaluate a setting (BM25 or dense,
// plain or expanded by Eq. 8) into a SettingEval plus its TREC run file and its t-SNE sample.
//
// Every dense row of one table is scored by one function (issue 14.2): the Eq. 8 normalisation's. Under
// 'contriever' the expanded rows and the trained encoders (trainedSettings) score by cosine, so a plain row
// (Raw, FT) is scored by cosine too; Raw is also scored by the encoder's own similarity when that differs
// (encoderScoring: the number to set beside published ones). Each row records its scoring, its encoding
// length and, when expanded, what generated the expansions and how many of them failed.
import { modelHash } from '../model/sources.ts';
import { goldDocOf } from '../data/qrels.ts';
import { ExpandrError } from '../errors.ts';
import type { BeirDataset } from '../data/load.ts';
import type { BeirQuery, Qrels } from '../data/types.ts';
import { BertEncoder } from '../encoder/encoder.ts';
import { writeTrecRun } from '../eval/trec-run.ts';
import { buildIndex, searchAndEvaluate, BM25_DEFAULTS, type QueryResult } from '../retrieval/bm25/evaluate.ts';
import { denseEvaluate, encodeQueryVectors, scoring } from '../retrieval/dense/evaluate.ts';
import { MemoryChunkStore, type ChunkStore } from '../retrieval/dense/chunk-store.ts';
import { EXPANSION_NORM_SPECS, normalizeRows, type ExpansionNorm } from '../retrieval/dense/expanded-query.ts';
import type { EncoderSettings } from '../encoder/types.ts';
import type { RowScoring } from '../eval/significance-marks.ts';
import type { GenerationProvenance } from './generation-provenance.ts';
import { exportBertEncoder } from '../encoder/st-folder.ts';
import { trainedSettings } from '../train/settings.ts';
import { mineBm25Negatives, type TrainData } from '../train/examples.ts';
import { trainSettings, type RetrieverTrainSettings } from '../train/settings.ts';
import { trainRetriever } from '../train/trainer.ts';
import { flatText } from '../data/types.ts';
import type { ModelFiles } from '../model/sources.ts';
import { withSeries, type WorkOptions } from '../util/progress.ts';
import type { ExperimentConfig } from './config.ts';
import type { PairVectors, TrainingCurve } from './figures-data.ts';
import type { SettingEval } from './results.ts';
import type { RunStages, RunStore } from './run-state.ts';
import { evalTag, type EvalOut, type RetrieverStageOut } from './stages.ts';

export type { EvalOut, RetrieverStageOut };
import type { SettingName } from './types.ts';
import { TSNE_PAIRS } from './figures-data.ts';

/** How the loop gets encoders: the base model's files and a loader (preset, seed) for any exported folder. */
export interface EncoderSide {
  baseFiles: ModelFiles;
  load(files: ModelFiles): Promise<BertEncoder>;
}

export interface LoopContext {
  config: ExperimentConfig;
  /** The dataset tested on (its split config.split, its corpus). */
  data: BeirDataset;
  /** The datasets trained on (config.trainData as loaded); absent: `data` (train-sources.ts). */
  trainData?: BeirDataset[];
  store: RunStore;
  stages: RunStages;
  encoders: EncoderSide;
  work: WorkOptions;
  log(message: string): void;
  /** Corpus embeddings of each encoder and corpus, kept while the process lives (corpusKey). */
  corpus: Map<string, ChunkStore>;
  /** Where an encoder's embeddings of `corpus` persist across invocations (the runner: files in --out); memory when absent. */
  corpusSink?: (encoderName: string, corpus: BeirDataset) => ChunkStore;
}

/** Which queries a setting is evaluated on and the corpus they search: the test split, or dev on the train corpus. */
export interface EvalOn {
  queries: 'test' | 'dev';
  data: BeirDataset;
  /** A trained setting's run with a seed other than the config's: stage eval:SETTING@seedS, runs/SETTING@seedS. */
  seed?: number;
  /** ExpandR after an earlier round than the last (config.rounds > 1): stage eval:ExpandR@roundT, runs/ExpandR@roundT. */
  round?: number;
  /** A variant of round 1 (config.ts variantStageName): stage devEval:ExpandR@round1@VARIANT, runs/expandr@round1@VARIANT-dev. */
  variant?: string;
}

/** Key of an encoder's embeddings of `corpus` in LoopContext.corpus: the encoder's name for the test corpus (as before dev). */
export const corpusKey = (ctx: LoopContext, encoderName: string, corpus: BeirDataset) =>
  corpus.checksum === ctx.data.checksum ? encoderName : `${encoderName}@${corpus.checksum}`;

/** Checkpoint every this many steps unless the config says otherwise: a kill loses at most this much. */
export const DEFAULT_CHECKPOINT_EVERY = 5;

export const encoderSet = (name: string) => `encoders/${name}`;

/** Files of an encoder the loop trained ('base' for the model as loaded). */
export async function encoderFiles(ctx: LoopContext, name: string): Promise<ModelFiles> {
  if (name === 'base') return ctx.encoders.baseFiles;
  const f = await ctx.store.getFiles(encoderSet(name));
  if (!f) throw new ExpandrError(`The run store lacks ${encoderSet(name)} although its stage finished: ${ctx.store.startAfresh}, and run again to retrain.`);
  return f;
}

export function retrieverSettings(config: ExperimentConfig): RetrieverTrainSettings {
  return trainSettings({ checkpointEvery: DEFAULT_CHECKPOINT_EVERY, ...config.retriever, expansionNorm: config.encoder.expansionNorm, seed: config.seed });
}

/** Trains encoder `from` on `train` (documents of `corpus`) into encoders/NAME (stage `retriever:NAME`), resuming from its checkpoint. */
export async function trainRetrieverStage(ctx: LoopContext, name: string, from: string, train: TrainData, corpus: BeirDataset = ctx.data): Promise<RetrieverStageOut> {
  return ctx.stages.once({ kind: 'retriever', name }, async () => {
    ctx.log(`training retriever ${name} (from ${from}, ${train.examples.length} queries${train.examples[0]?.expansion !== undefined ? ', expanded' : ''})`);
    const settings = retrieverSettings(ctx.config);
    if (settings.hardNegatives) await mineBm25Negatives(train, corpus.docs, { depth: settings.negativeDepth, ...ctx.work });
    const loaded = await ctx.encoders.load(await encoderFiles(ctx, from));
    // retriever.maxLength cuts the training texts only; the export keeps the encoder's own length (loaded.settings).
    const cut = settings.maxLength !== null && settings.maxLength < loaded.settings.maxLength;
    const encoder = cut ? new BertEncoder(loaded.model, loaded.tokenizer, { ...loaded.settings, maxLength: settings.maxLength! }, loaded.configJson) : loaded;
    try {
      // Each step's loss goes to the page as it happens (curve retriever:NAME), not only with the stage's record.
      const work = withSeries(ctx.work, `retriever:${name}`);
      const r = await trainRetriever(encoder, train, { settings, checkpoints: ctx.store.retrieverCheckpoints(`retriever-${name}`), resume: true, ...work });
      const trainingInfo = { format: 'expandr-retriever', dataset: corpus.name, stage: name, from, examples: train.examples.length, settings: r.settings, lossCurve: r.lossCurve };
      const files = await exportBertEncoder(encoder, ctx.encoders.baseFiles, { settings: trainedSettings(loaded.settings, settings.expansionNorm), trainingInfo });
      await ctx.store.putFiles(encoderSet(name), files);
      const points = r.lossCurve.map((p) => ({ step: p.step, loss: p.loss }));
      return { finalLoss: r.finalLoss, steps: r.totalSteps, curve: { stage: `retriever:${name}`, kind: 'retriever' as const, points } };
    } finally {
      encoder.dispose();
    }
  });
}

export const settingSlug = (s: string) => s.replace(/\//g, '').replace(/[^A-Za-z0-9+.-]+/g, '-').replace(/^-|-$/g, '');

function toEval(setting: SettingName, metrics: Record<string, number>, perQuery: QueryResult[]): SettingEval {
  return { setting, metrics, perQuery: Object.fromEntries(perQuery.map((q) => [q.qid, q.metrics])) };
}

const testOn = (ctx: LoopContext): EvalOn => ({ queries: 'test', data: ctx.data });
const evalStage = (setting: SettingName, on: EvalOn) => ({
  kind: on.queries === 'test' ? ('eval' as const) : ('devEval' as const),
  setting,
  ...(on.round === undefined ? {} : { round: on.round }),
  ...(on.seed === undefined ? {} : { seed: on.seed }),
  ...(on.variant === undefined ? {} : { variant: on.variant }),
});
/** runs/SETTING (test) or runs/SETTING-dev, with @roundT for an earlier round, @seedS for a seeded run, @VARIANT for a variant. */
export const runFolder = (setting: string, tag: { round?: number; seed?: number; variant?: string }, dev = false) => `runs/${settingSlug(setting)}${evalTag(tag)}${dev ? '-dev' : ''}`;
/** runs/plain-NAME or runs/plain-NAME-dev: retriever NAME (round-1, round-2@seed43, …) on the plain queries. */
export const plainRunFolder = (encoderName: string, dev = false) => `runs/plain-${encoderName}${dev ? '-dev' : ''}`;
const runSet = (setting: SettingName, on: EvalOn) => runFolder(setting, on, on.queries === 'dev');

/** Whether a plain row is scored by cosine: the table's Eq. 8 normalisation normalises. */
export const plainRowsCosine = (norm: ExpansionNorm): boolean => EXPANSION_NORM_SPECS[norm].normalize;

/** How a dense row ranks: by cosine when its documents are unit vectors at search time (a query's scale never changes its ranking), else by dot product. */
export function rowScoring(settings: EncoderSettings, expanded: boolean, norm: ExpansionNorm, cosine = false): RowScoring {
  const s = cosine && !expanded ? { ...settings, similarity: 'cosine' as const } : settings;
  return s.normalize || scoring(s, expanded, norm).normalizeDocs ? 'cosine' : 'dot';
}

/** What generated an expanded row's expansions (null: unknown, e.g. expansions stored before it was recorded). */
export interface ExpansionSource {
  generation: GenerationProvenance | null;
}

/**
 * The file set expansions/LLM-QUERIES: expansions.jsonl (DESIGN.md §6), generation.json (what generated them)
 * and, when some failed after retries, failed.json (their query ids; those queries have no line).
 */
export function expansionFileSet(expansions: ReadonlyMap<string, string>, generation?: GenerationProvenance, failed: readonly string[] = []): Map<string, Uint8Array> {
  const enc = new TextEncoder();
  const jsonl = [...expansions].map(([id, expansion]) => JSON.stringify({ id, expansion })).join('\n') + '\n';
  const set = new Map([['expansions.jsonl', enc.encode(jsonl)]]);
  if (generation) set.set(GENERATION_FILE, enc.encode(JSON.stringify(generation, null, 1) + '\n'));
  if (failed.length) set.set('failed.json', enc.encode(JSON.stringify(failed) + '\n'));
  return set;
}

const GENERATION_FILE = 'generation.json';

/** What generated the expansions in file set `name` (null when it was stored before that was recorded). */
export async function expansionSource(ctx: Pick<LoopContext, 'store'>, name: string): Promise<ExpansionSource> {
  const bytes = (await ctx.store.getFiles(name))?.get(GENERATION_FILE);
  return { generation: bytes ? (JSON.parse(new TextDecoder().decode(bytes)) as GenerationProvenance) : null };
}

export async function bm25Stage(ctx: LoopContext, queries: BeirQuery[], qrels: Qrels, on: EvalOn = testOn(ctx)): Promise<EvalOut> {
  return ctx.stages.once(evalStage('BM25', on), async () => {
    ctx.log(`evaluating BM25${on.queries === 'dev' ? ' on dev' : ''}`);
    const { index } = await buildIndex(on.data.docs, on.data.docs.length, BM25_DEFAULTS, ctx.work);
    const r = await searchAndEvaluate(index, queries, qrels, BM25_DEFAULTS, ctx.work);
    await ctx.store.putFiles(runSet('BM25', on), new Map([['run.trec', new TextEncoder().encode(writeTrecRun(r.run, 'expandr-bm25'))]]));
    return { ...toEval('BM25', r.metrics, r.perQuery), scoring: 'bm25' as const };
  });
}

/** Dense evaluation of `setting` with encoder `encoderName`, plain or with `expansions` (Eq. 8) generated as `source` says. */
export async function denseStage(
  ctx: LoopContext,
  setting: SettingName,
  encoderName: string,
  queries: BeirQuery[],
  qrels: Qrels,
  expansions?: Map<string, string>,
  on: EvalOn = testOn(ctx),
  source?: ExpansionSource,
): Promise<EvalOut> {
  return ctx.stages.once(evalStage(setting, on), async () => {
    ctx.log(`evaluating ${setting}${on.queries === 'dev' ? ' on dev' : ''} (encoder ${encoderName}${expansions ? ', expanded' : ''})`);
    const files = await encoderFiles(ctx, encoderName);
    const encoder = await ctx.encoders.load(files);
    try {
      const norm = ctx.config.encoder.expansionNorm;
      const cosine = plainRowsCosine(norm);
      const evaluateAs = (asCosine: boolean) => searchCorpus(ctx, encoder, files, encoderName, on.data, queries, qrels, asCosine, expansions);
      const r = await evaluateAs(cosine);
      await ctx.store.putFiles(runSet(setting, on), new Map([['run.trec', new TextEncoder().encode(writeTrecRun(r.run, `expandr-${settingSlug(setting)}`))]]));
      const out: EvalOut = { ...toEval(setting, r.metrics, r.perQuery), scoring: rowScoring(encoder.settings, !!expansions, norm, cosine), maxLength: encoder.settings.maxLength, encoding: encoder.engine };
      const own = rowScoring(encoder.settings, !!expansions, norm);
      if (setting === 'Raw' && own !== out.scoring) {
        ctx.log(`evaluating Raw by the encoder's own ${own} as well (the table scores by ${out.scoring})`);
        const m = (await evaluateAs(false)).metrics;
        out.encoderScoring = { scoring: own, 'ndcg@10': m['ndcg@10'], 'recall@100': m['recall@100'], 'mrr@10': m['mrr@10'], 'map@100': m['map@100'] };
      }
      if (expansions) {
        if (source?.generation) out.generation = source.generation;
        const failed = queries.filter((q) => !expansions.has(q.id)).length;
        if (failed) {
          out.failedExpansions = failed;
          ctx.log(`${setting}: ${failed} of ${queries.length} ${on.queries} queries have no expansion (generation failed after retries): scored without one`);
        }
      }
      // The t-SNE figure is of test pairs only.
      if (on.queries === 'dev') return out;
      return { ...out, pairs: await pairVectors(ctx, encoder, setting, queries, qrels, expansions, cosine) };
    } finally {
      encoder.dispose();
    }
  });
}

/**
 * A retriever the loop trained on expanded queries, on the plain queries of `on` (stage plainEval:NAME:test|dev,
 * run file plainRunFolder), scored as the table's plain rows are. It searches the corpus embeddings its
 * expanded rows stored (the same encoder), so it costs the queries' encoding only. Its row is named `setting`
 * (the expanded row it is read against) for the tables; the stage and the run file are the encoder's.
 */
export async function plainEvalStage(ctx: LoopContext, setting: SettingName, encoderName: string, queries: BeirQuery[], qrels: Qrels, on: EvalOn = testOn(ctx)): Promise<EvalOut> {
  return ctx.stages.once({ kind: 'plainEval', encoder: encoderName, queries: on.queries }, async () => {
    ctx.log(`evaluating retriever ${encoderName} on the plain ${on.queries} queries`);
    const files = await encoderFiles(ctx, encoderName);
    const encoder = await ctx.encoders.load(files);
    try {
      const cosine = plainRowsCosine(ctx.config.encoder.expansionNorm);
      const r = await searchCorpus(ctx, encoder, files, encoderName, on.data, queries, qrels, cosine);
      await ctx.store.putFiles(plainRunFolder(encoderName, on.queries === 'dev'), new Map([['run.trec', new TextEncoder().encode(writeTrecRun(r.run, `expandr-plain-${encoderName}`))]]));
      return { ...toEval(setting, r.metrics, r.perQuery), scoring: rowScoring(encoder.settings, false, ctx.config.encoder.expansionNorm, cosine), maxLength: encoder.settings.maxLength, encoding: encoder.engine };
    } finally {
      encoder.dispose();
    }
  });
}

/** `queries` (plain, or with `expansions` by Eq. 8) searched in `corpus` as encoded by `encoderName` (its embeddings kept per encoder and corpus). */
async function searchCorpus(ctx: LoopContext, encoder: BertEncoder, files: ModelFiles, encoderName: string, corpus: BeirDataset, queries: BeirQuery[], qrels: Qrels, cosine: boolean, expansions?: Map<string, string>) {
  const key = corpusKey(ctx, encoderName, corpus);
  let sink = ctx.corpus.get(key);
  if (!sink) ctx.corpus.set(key, (sink = ctx.corpusSink?.(encoderName, corpus) ?? new MemoryChunkStore()));
  return denseEvaluate(encoder, corpus.docs, sink, queries, qrels, {
    // The content, not the name: stored embeddings (possibly shared with `eval`) are checked against it.
    modelHash: await modelHash(files),
    corpusChecksum: corpus.checksum,
    totalDocs: corpus.docs.length,
    expansions,
    expansionNorm: ctx.config.encoder.expansionNorm,
    cosine,
    batchSize: ctx.config.encoder.batchSize,
    ...ctx.work,
  });
}

/** The first TSNE_PAIRS judged queries and their gold documents (goldDocOf), as this setting scores them. */
async function pairVectors(ctx: LoopContext, encoder: BertEncoder, setting: SettingName, queries: BeirQuery[], qrels: Qrels, expansions?: Map<string, string>, cosine = false): Promise<PairVectors> {
  const docsById = new Map(ctx.data.docs.map((d) => [d.id, d]));
  const picked: { q: BeirQuery; doc: string }[] = [];
  for (const q of queries) {
    const gold = goldDocOf(qrels, q.id, (id) => docsById.has(id));
    if (gold) picked.push({ q, doc: flatText(docsById.get(gold)!) });
    if (picked.length === TSNE_PAIRS) break;
  }
  const norm = ctx.config.encoder.expansionNorm;
  const plainCosine = cosine && !expansions;
  let { vectors } = await encodeQueryVectors(encoder, picked.map((p) => p.q), { expansions, expansionNorm: norm, signal: ctx.work.signal });
  if (plainCosine) vectors = normalizeRows(vectors, encoder.dim);
  let d = await encoder.encode(picked.map((p) => p.doc), 'doc', { signal: ctx.work.signal });
  if (plainCosine || scoring(encoder.settings, !!expansions, norm).normalizeDocs) d = normalizeRows(d, encoder.dim);
  const rows = (v: Float32Array) => picked.map((_, i) => Array.from(v.subarray(i * encoder.dim, (i + 1) * encoder.dim)));
  return { setting, qids: picked.map((p) => p.q.id), queries: rows(vectors), docs: rows(d) };
}
