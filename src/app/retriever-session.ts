// The dense-retriever side of the app, as the worker runs it: encoders loaded and kept in memory under a
// handle (a Hub preset or a dropped folder), dense evaluation of a split, contrastive training on the
// train split (a copy of the encoder is trained, so Raw stays available), and the sentence-transformers
// export of any loaded or trained encoder. Plain core code: the worker host and Node tests both drive it.
import { fnv1aHex } from '../util/fnv1a.ts';
import { NotFoundError } from '../errors.ts';
import type { EncoderSettings } from '../encoder/types.ts';
import { loadBertEncoder, type BertEncoder } from '../encoder/encoder.ts';
import { ENCODER_PRESETS } from '../encoder/presets.ts';
import type { ModelFiles } from '../model/sources.ts';
import { keepLocalModel, listCachedModels, loadModelFiles } from './model-source.ts';
import { fromFile } from '../data/source.ts';
import type { Store } from '../store/store.ts';
import type { WorkOptions } from '../util/progress.ts';
import type { DenseSignificance, SignificanceTest } from './protocol.ts';
import type { DroppedFile, EncoderSource, EncoderSummary, TrainResult } from './session-types.ts';
import { runDenseEval, type DenseEvalResult } from '../retrieval/dense/evaluate.ts';
import type { EmbeddingPrecision } from '../retrieval/dense/precision.ts';
import { buildTrainData, mineBm25Negatives } from '../train/examples.ts';
import { trainRetriever } from '../train/trainer.ts';
import { storeCheckpointSink, type LossPoint } from '../train/checkpoint.ts';
import { trainSettings, type RetrieverTrainSettings } from '../train/settings.ts';
import { exportBertEncoder, zipFolder } from '../encoder/st-folder.ts';
import { trainedSettings } from '../train/settings.ts';
import type { BeirDoc } from '../data/types.ts';
import { lastLoadedModel, rememberLoadedModel, storeModelCache } from '../model/sources-cache.ts';
import { MODEL_KIND_FILE } from './llm-session.ts';
import { storedBm25PerQuery } from '../retrieval/bm25/evaluate.ts';
import { testAgainst, type Baseline } from '../eval/significance-marks.ts';
import { lockManager, type LockManagerLike } from '../util/web-locks.ts';
import { retrieverTrainKey, withRunLock } from './run-lock.ts';

const ROLE = 'encoder';

export type { DenseSignificance, SignificanceTest, EncoderSource, EncoderSummary, TrainResult };



type PerQuery = ReadonlyMap<string, Readonly<Record<string, number>>>;

/** Paired permutation tests of `a` against `b` on SIGNIFICANCE_METRICS, read as marks against `baseline`, named `against`. */
export function significanceTests(a: PerQuery, b: PerQuery, baseline: Baseline, against: string): Record<string, SignificanceTest> {
  return Object.fromEntries(Object.entries(testAgainst(a, b, baseline)).map(([m, t]) => [m, { ...t, against }]));
}

interface Loaded {
  encoder: BertEncoder;
  files: ModelFiles;
  summary: EncoderSummary;
}


export class RetrieverSession {
  #loaded = new Map<string, Loaded>();
  #next = 1;
  /** Per-query metrics of the last evaluation of each encoder on a dataset split (FT's tests against Raw). */
  #perQuery = new Map<string, PerQuery>();

  constructor(
    private readonly store: () => Promise<Store>,
    /** Web Locks: one training of an encoder on a dataset across tabs (its checkpoints share one key). */
    private readonly locks: LockManagerLike | undefined = lockManager(),
  ) {}

  list(): EncoderSummary[] {
    return [...this.#loaded.values()].map((l) => l.summary);
  }

  async load(source: EncoderSource, work: WorkOptions = {}): Promise<EncoderSummary> {
    const store = await this.store();
    // Dropped models are kept in IndexedDB too, so that a reload (or a closed tab) can bring them back.
    const m = await loadModelFiles(
      store,
      source.kind === 'files' ? { kind: 'drop', files: source.files.map((f) => fromFile(f.file, f.path)) } : source.kind === 'hub' ? { kind: 'hub', id: source.id } : source,
      work,
    );
    // A Hub id that is also a preset brings its settings; a dropped folder may name one explicitly.
    const preset = source.preset ?? (ENCODER_PRESETS.some((p) => p.id === m.name) ? m.name : undefined);
    const encoder = await loadBertEncoder(m.files, { preset });
    const kind = m.source.startsWith('hf:') ? 'hub' : m.name.endsWith('(FT)') ? 'trained' : 'dropped';
    const summary = this.#add(encoder, m.files, { name: m.name, source: kind, modelHash: m.modelHash, cacheKey: m.source, ...(m.commit ? { hubCommit: m.commit } : {}) });
    // Remembered, so that a new page (a reload, a closed tab) loads it again (restore()).
    await rememberLoadedModel(storeModelCache(store), ROLE, { source: m.source, revision: m.revision, preset: source.preset });
    return summary;
  }

  /** The encoder loaded last (on this or an earlier page), from the store; null when there is none (any more). */
  async restore(work: WorkOptions = {}): Promise<EncoderSummary | null> {
    const ref = await lastLoadedModel(storeModelCache(await this.store()), ROLE);
    if (!ref) return null;
    const same = this.list().find((s) => s.cacheKey === ref.source);
    if (same) return same;
    try {
      return await this.load({ kind: 'cached', source: ref.source, revision: ref.revision, preset: ref.preset }, work);
    } catch (e) {
      if (e instanceof NotFoundError) return null;
      throw e;
    }
  }

  /** Models kept in this browser (Hub downloads, dropped folders, trained encoders), to load again; not the kept LLMs. */
  async cached(): Promise<{ source: string; revision: string; name: string }[]> {
    const store = await this.store();
    const all = await listCachedModels(store);
    const kinds = await Promise.all(all.map((c) => store.getModelFile(c.source, c.revision, MODEL_KIND_FILE)));
    return all.filter((_, i) => !kinds[i]);
  }

  async evaluate(
    datasetId: string,
    split: string,
    handle: string,
    work: WorkOptions & { precision?: EmbeddingPrecision } = {},
  ): Promise<DenseEvalResult & { encoder: EncoderSummary; significance: DenseSignificance }> {
    const l = this.#get(handle);
    const store = await this.store();
    // At f16 / int8 the corpus is stored packed (from the f32 embeddings when those are stored already).
    const r = await runDenseEval(store, datasetId, split, l.encoder, { modelHash: l.summary.modelHash, ...work });
    const mine: PerQuery = new Map(r.perQuery.map((q) => [q.qid, q.metrics]));
    // Per precision: FT is tested against its Raw encoder evaluated with the same stored embeddings.
    const key = (h: string) => `${datasetId}\u0000${split}\u0000${h}\u0000${work.precision ?? 'f32'}`;
    this.#perQuery.set(key(handle), mine);
    const significance: DenseSignificance = {};
    // FT against the encoder it was trained from (the Raw baseline), when that one was evaluated on this split in this session.
    const from = l.summary.trainedFrom;
    const raw = from ? this.#perQuery.get(key(from)) : undefined;
    if (from && raw) significance.Raw = significanceTests(mine, raw, 'Raw', this.#loaded.get(from)?.summary.name ?? 'Raw');
    // Against the last BM25 evaluation of this split (its stored run).
    const bm25 = await storedBm25PerQuery(store, datasetId, split);
    if (bm25) significance.BM25 = significanceTests(mine, bm25, 'BM25', 'BM25');
    return { ...r, encoder: l.summary, significance };
  }

  /** Trains a copy of `handle` on `split` of the dataset; the copy becomes a new handle ('… (FT)'). */
  async train(
    datasetId: string,
    split: string,
    handle: string,
    settings: Partial<RetrieverTrainSettings>,
    work: WorkOptions & { onStep?: (point: LossPoint) => void } = {},
  ): Promise<TrainResult> {
    const base = this.#get(handle);
    const what = `Training ${base.summary.name} on this dataset`;
    return withRunLock(retrieverTrainKey(datasetId, base.summary.modelHash), what, this.locks, () => this.#train(datasetId, split, base, settings, work));
  }

  async #train(
    datasetId: string,
    split: string,
    base: Loaded,
    settings: Partial<RetrieverTrainSettings>,
    work: WorkOptions & { onStep?: (point: LossPoint) => void },
  ): Promise<TrainResult> {
    const store = await this.store();
    const docs: BeirDoc[] = [];
    for await (const batch of store.iterateDocs(datasetId, 2000)) docs.push(...batch);
    const qrels = await store.getQrels(datasetId, split);
    const { data } = buildTrainData(docs, await store.getQueries(datasetId), qrels);
    if (settings.hardNegatives) await mineBm25Negatives(data, docs, work);
    // The trained encoder scores as it was trained: the 'contriever' normalisation normalises q and d (a
    // no-op inside training, where it normalises anyway), so the copy carries that setting.
    const { expansionNorm } = trainSettings(settings);
    const copy = await loadBertEncoder(base.files, { settings: trainedSettings(base.encoder.settings, expansionNorm) });
    try {
      // One checkpoint per (model, split, settings): training again with other settings starts its own run
      // instead of refusing to resume; the same settings resume (checkpointEvery does not change a run).
      const { checkpointEvery: _every, ...run } = trainSettings(settings);
      const runKey = fnv1aHex(JSON.stringify({ split, ...run }));
      const checkpoints = storeCheckpointSink(store, datasetId, `retriever-train/${base.summary.modelHash}/${runKey}`);
      const r = await trainRetriever(copy, data, { ...work, settings, checkpoints, resume: true });
      const exported = await exportBertEncoder(copy, base.files, { trainingInfo: { from: base.summary.name, settings: r.settings } });
      const kept = await keepLocalModel(store, exported, `${base.summary.name} (FT)`);
      const summary = this.#add(copy, exported, {
        name: kept.name,
        source: 'trained',
        modelHash: kept.modelHash,
        cacheKey: kept.source,
        trainedFrom: base.summary.handle,
      });
      return { encoder: summary, lossCurve: r.lossCurve, finalLoss: r.finalLoss, totalSteps: r.totalSteps };
    } catch (e) {
      copy.dispose();
      throw e;
    }
  }

  /** The encoder as a sentence-transformers folder in a zip (what the page downloads). */
  async exportZip(handle: string): Promise<{ name: string; zip: Uint8Array }> {
    const l = this.#get(handle);
    const files = await exportBertEncoder(l.encoder, l.files);
    const name = l.summary.name.replace(/[^\w.-]+/g, '-').replace(/^-|-$/g, '');
    return { name, zip: zipFolder(files, name) };
  }

  /** A loaded encoder's files and preset-resolved settings (the pipeline trains its own copies). */
  source(handle: string): { files: ModelFiles; summary: EncoderSummary } {
    const l = this.#get(handle);
    return { files: l.files, summary: l.summary };
  }

  unload(handle: string): void {
    this.#get(handle).encoder.dispose();
    this.#loaded.delete(handle);
    for (const k of [...this.#perQuery.keys()]) if (k.includes(`\u0000${handle}\u0000`)) this.#perQuery.delete(k);
  }

  #add(encoder: BertEncoder, files: ModelFiles, s: Omit<EncoderSummary, 'handle' | 'dim' | 'settings'>): EncoderSummary {
    const handle = `enc-${this.#next++}`;
    const summary: EncoderSummary = { ...s, handle, dim: encoder.dim, settings: { ...encoder.settings } };
    this.#loaded.set(handle, { encoder, files, summary });
    return summary;
  }

  #get(handle: string): Loaded {
    const l = this.#loaded.get(handle);
    if (!l) throw new NotFoundError(`Encoder ${handle} is not loaded (the page was reloaded?). Load it again.`);
    return l;
  }
}
