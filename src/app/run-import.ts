// A file brought into the page (a TREC run, or expansions JSONL) evaluated on a stored dataset and kept as
// a run beside the pipeline's runs (src/store/run-artifacts.ts), so the run list lists it and compares it
// with significance like any other run. A TREC run is scored as it is; expansions are scored as
// Raw+expansion (Eq. 8, the config's default expansion normalisation) with the selected encoder, or, with
// no encoder, as BM25 over "query expansion". Metrics: STANDARD_METRICS against the split's qrels.
import { ExpandrError, NotFoundError } from '../errors.ts';
import type { BeirQuery } from '../data/types.ts';
import { splitQueries } from '../data/qrels.ts';
import type { Encoder } from '../encoder/types.ts';
import { evaluate, STANDARD_METRICS } from '../eval/metrics.ts';
import { writeTrecRun } from '../eval/trec-run.ts';
import type { Run } from '../eval/types.ts';
import { EXPERIMENT_DEFAULTS, type ExperimentConfig } from '../pipeline/config.ts';
import { expansionsToJsonl } from '../pipeline/expansions.ts';
import type { SettingEval } from '../pipeline/results.ts';
import { RUN_MANIFEST_FORMAT, RUN_MANIFEST_VERSION, type RunManifest } from '../pipeline/run-record.ts';
import { RUN_STATE_FORMAT, RUN_STATE_VERSION, artifactRunStore, type RunState } from '../pipeline/run-state.ts';
import { stageName } from '../pipeline/stages.ts';
import type { SettingName } from '../pipeline/types.ts';
import { BM25_DEFAULTS, buildIndex } from '../retrieval/bm25/evaluate.ts';
import { searchBm25 } from '../retrieval/bm25/index.ts';
import { DEFAULT_CHUNK_SIZE, embeddingCacheKey } from '../retrieval/dense/chunk-store.ts';
import { denseEvaluate } from '../retrieval/dense/evaluate.ts';
import { StoreChunkStore } from '../retrieval/dense/store-chunks.ts';
import { putRunManifest, runPrefix } from '../store/run-artifacts.ts';
import type { Store } from '../store/store.ts';
import { fnv1aHex } from '../util/fnv1a.ts';
import type { WorkOptions } from '../util/progress.ts';
import { importKindOf, parseImportedExpansions, parseImportedTrecRun, type ImportKind, type ImportTarget } from './run-import-parse.ts';

/** How an imported file was scored (shown in the run list and kept in its manifest). */
export type ImportScoring = 'trec' | 'dense' | 'bm25';

/** The setting an imported run's evaluation is listed under, per scoring. */
export const IMPORT_SETTING: Record<ImportScoring, string> = { trec: 'TREC run', dense: 'Raw+expansion', bm25: 'BM25+expansion' };

/** What the run list reads of an imported run beyond the manifest: where it came from, how it was scored. */
export interface ImportedFrom {
  file: string;
  kind: ImportKind;
  scoring: ImportScoring;
  /** 'BM25 over "query expansion"', 'Raw+expansion with all-MiniLM-L6-v2 (Eq. 8, contriever)', 'as ranked in the file'. */
  scoredAs: string;
  split: string;
  /** Queries evaluated, and queries of the file the split does not judge (left out). */
  queries: number;
  unjudged: number;
}

/** The manifest of an imported run: a RunManifest with `imported`. */
export type ImportedManifest = RunManifest & { imported: ImportedFrom };

export interface ImportArgs {
  datasetId: string;
  split: string;
  file: string;
  text: string;
}

/** The encoder to score expansions with (null: BM25): the loaded encoder, its name and model hash. */
export interface ImportEncoder {
  encoder: Encoder;
  name: string;
  modelHash: string;
}

export interface ImportResult {
  datasetId: string;
  run: string;
  name: string;
  setting: string;
  metrics: Record<string, number>;
  imported: ImportedFrom;
}

/** The run id of an import: the same file on the same dataset, split and scorer is the same run (imported again in place). */
export function importRunId(checksum: string, split: string, scoring: string, scorer: string, text: string): string {
  return `run-i${fnv1aHex(`${checksum}\u0000${split}\u0000${scoring}\u0000${scorer}`)}${fnv1aHex(text)}`;
}

/** Evaluates `args.text` on the dataset and keeps it as a run; `encoder` scores expansions (null: BM25). */
export async function importRunFile(store: Store, args: ImportArgs, encoder: ImportEncoder | null, work: WorkOptions = {}): Promise<ImportResult> {
  const info = await store.getDataset(args.datasetId);
  if (!info) throw new NotFoundError('The dataset to import into is no longer stored (deleted in another tab?): pick another one.');
  if (!info.splits[args.split]) throw new NotFoundError(`Dataset "${info.name}" has no split "${args.split}"; it has ${Object.keys(info.splits).join(', ')}.`);
  const qrels = await store.getQrels(args.datasetId, args.split);
  const all = await store.getQueries(args.datasetId);
  const target: ImportTarget = { dataset: info.name, split: args.split, queryIds: new Set(all.map((q) => q.id)), judged: new Set(qrels.keys()) };
  const kind = importKindOf(args.file, args.text);

  let run: Run;
  let parsed: { judged: number; unjudged: number };
  let expansions: Map<string, string> | undefined;
  let scoring: ImportScoring;
  let scoredAs: string;
  if (kind === 'trec') {
    const p = parseImportedTrecRun(args.file, args.text, target);
    ({ run } = p);
    parsed = p;
    scoring = 'trec';
    scoredAs = 'as ranked in the file';
  } else {
    const p = parseImportedExpansions(args.file, args.text, target);
    expansions = p.expansions;
    parsed = p;
    const queries = splitQueries(all, qrels).filter((q) => expansions!.has(q.id));
    if (encoder) {
      scoring = 'dense';
      scoredAs = `Raw+expansion with ${encoder.name} (Eq. 8, ${EXPERIMENT_DEFAULTS.encoder.expansionNorm})`;
      run = await denseRun(store, args.datasetId, info.checksum, info.counts.docs, queries, qrels, expansions, encoder, work);
    } else {
      scoring = 'bm25';
      scoredAs = 'BM25 over "query expansion" (k1 0.9, b 0.4)';
      run = await bm25Run(store, args.datasetId, info.counts.docs, queries, expansions, work);
    }
  }
  const ev = evaluate(qrels, run, { metrics: STANDARD_METRICS, source: args.file });
  if (ev.queries === 0) throw new ExpandrError(`${args.file}: no query of the file could be evaluated on split "${args.split}". Pick the split it was made for.`);

  const setting = IMPORT_SETTING[scoring];
  const id = importRunId(info.checksum, args.split, scoring, encoder?.modelHash ?? '', args.text);
  const imported: ImportedFrom = { file: args.file, kind, scoring, scoredAs, split: args.split, queries: ev.queries, unjudged: parsed.unjudged };
  const name = `${args.file} (imported)`;
  const now = new Date().toISOString();
  const config: ExperimentConfig = { ...structuredClone(EXPERIMENT_DEFAULTS as ExperimentConfig), split: args.split, settings: [setting as SettingName] };
  const manifest: ImportedManifest = {
    format: RUN_MANIFEST_FORMAT,
    version: RUN_MANIFEST_VERSION,
    key: id,
    name,
    datasets: [{ role: 'data', name: info.name, checksum: info.checksum }],
    models: encoder && scoring === 'dense' ? [{ role: 'encoder', name: encoder.name, hash: encoder.modelHash }] : [],
    code: 'imported',
    config,
    configSummary: `imported ${kind === 'trec' ? 'TREC run' : 'expansions'} · ${args.split} (${ev.queries} q) · scored ${scoredAs}`,
    done: [setting],
    status: 'complete',
    createdAt: now,
    updatedAt: now,
    imported,
  };
  const output: SettingEval = { setting: setting as SettingName, metrics: ev.mean, perQuery: Object.fromEntries(ev.perQuery) };
  const stages: RunState['stages'] = { [`eval:${setting}`]: { output, finishedAt: now, ms: 0 } };
  if (expansions) stages[stageName({ kind: 'expansions', llm: 'base', queries: 'test' })] = { output: Object.fromEntries(expansions), finishedAt: now, ms: 0 };
  const files = artifactRunStore(store, args.datasetId, runPrefix(id));
  await files.saveState({ format: RUN_STATE_FORMAT, version: RUN_STATE_VERSION, configKey: `imported-${id}`, stages });
  const slug = setting.replace(/[^A-Za-z0-9+.-]+/g, '-');
  await files.putFiles(`runs/${slug}`, new Map([['run.trec', new TextEncoder().encode(writeTrecRun(run, 'expandr-import'))]]));
  if (expansions) await files.putFiles('expansions/imported', new Map([['expansions.jsonl', new TextEncoder().encode(expansionsToJsonl(expansions))]]));
  await putRunManifest(store, args.datasetId, id, manifest);
  return { datasetId: args.datasetId, run: id, name, setting, metrics: ev.mean, imported };
}

/** BM25 (Pyserini's BEIR settings) over each query's text followed by its expansion; queries without one stay plain. */
async function bm25Run(store: Store, datasetId: string, docs: number, queries: BeirQuery[], expansions: Map<string, string>, work: WorkOptions): Promise<Run> {
  const { index } = await buildIndex(store.iterateDocs(datasetId, 2000), docs, BM25_DEFAULTS, work);
  const expanded = queries.map((q) => ({ ...q, text: `${q.text} ${expansions.get(q.id) ?? ''}`.trim() }));
  return searchBm25(index, expanded, { ...BM25_DEFAULTS, ...work });
}

/** The encoder's Raw+expansion run (Eq. 8), with the corpus embeddings the page caches for this model and dataset. */
async function denseRun(
  store: Store,
  datasetId: string,
  checksum: string,
  docs: number,
  queries: BeirQuery[],
  qrels: Map<string, Map<string, number>>,
  expansions: Map<string, string>,
  e: ImportEncoder,
  work: WorkOptions,
): Promise<Run> {
  const key = embeddingCacheKey({ modelHash: e.modelHash, corpusChecksum: checksum, settings: e.encoder.settings, chunkSize: DEFAULT_CHUNK_SIZE });
  const r = await denseEvaluate(e.encoder, () => store.iterateDocs(datasetId, 1000), new StoreChunkStore(store, datasetId, key), queries, qrels, {
    ...work,
    modelHash: e.modelHash,
    expansions,
    expansionNorm: EXPERIMENT_DEFAULTS.encoder.expansionNorm,
    chunkSize: DEFAULT_CHUNK_SIZE,
    corpusChecksum: checksum,
    totalDocs: docs,
  });
  return r.run;
}
