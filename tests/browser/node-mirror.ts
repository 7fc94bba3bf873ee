// The page's core-worker code run in this Node process, on the same files and settings as a browser test,
// so a test can check that the page shows what the core computes: the worker's sessions (src/app) over
// fake-indexeddb on the wasm backend (the backend the page uses for the pipeline on a software adapter,
// workers/tf-backend.ts). The sessions are the ones the worker host wires up (src/app/host.ts).
import 'fake-indexeddb/auto'; // idb checks `instanceof IDBRequest`: the IndexedDB classes must be globals
import { IDBFactory } from 'fake-indexeddb';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { useBackend } from '../../src/cli/backend.ts';
import { appLlmSide } from '../../src/app/app-llm-side.ts';
import { LlmSession } from '../../src/app/llm-session.ts';
import { PipelineSession } from '../../src/app/pipeline-session.ts';
import type { RunAnalysisReport } from '../../src/app/run-analysis.ts';
import { RetrieverSession } from '../../src/app/retriever-session.ts';
import type { PipelineSnapshot } from '../../src/app/session-types.ts';
import { fromBytes } from '../../src/data/source.ts';
import { ENCODER_PRESETS } from '../../src/encoder/presets.ts';
import { importBeir } from '../../src/store/import-beir.ts';
import { openStore, type Store } from '../../src/store/store.ts';
import type { LossPoint } from '../../src/train/checkpoint.ts';
import type { RetrieverTrainSettings } from '../../src/train/settings.ts';
import { folderFiles } from '../unit/helpers/folder-files.ts';

/** A BEIR folder's files as the page gets them from a drop of loose files (name → path in the folder). */
export const LOOSE_BEIR_FILES: Readonly<Record<string, string>> = Object.freeze({
  'corpus.jsonl': 'corpus.jsonl',
  'queries.jsonl': 'queries.jsonl',
  'test.tsv': 'qrels/test.tsv',
  'train.tsv': 'qrels/train.tsv',
});

/** The preset the page's encoder panel hands with a dropped folder unless the user picks another (EncoderPanel.svelte). */
export const PAGE_DEFAULT_PRESET = ENCODER_PRESETS[0].id;

let dbCount = 0;

/** A fresh in-memory store holding the BEIR folder `dir`, imported under the given file names (as dropped). */
async function storeWith(dir: string, names: Readonly<Record<string, string>>): Promise<{ store: Store; datasetId: string }> {
  await useBackend('wasm');
  const store = await openStore({ dbName: `node-mirror-${++dbCount}`, idbFactory: new IDBFactory() });
  const sources = Object.entries(names).map(([name, path]) => fromBytes(name, readFileSync(join(dir, path))));
  const { dataset } = await importBeir(store, sources, { estimate: async () => ({ quota: 1e12, usage: 0 }) });
  return { store, datasetId: dataset.id };
}

/** "Run all" of the page's pipeline (PipelineSession, appLlmSide on the tfjs decoder) on a dropped folder pair, and its analysis. */
export async function runPipelineInNode(
  beirDir: string,
  names: Readonly<Record<string, string>>,
  models: { encoderDir: string; encoderName: string; llmDir: string; llmName: string },
  config: Record<string, unknown>,
): Promise<PipelineSnapshot & { analysis: RunAnalysisReport }> {
  const { store, datasetId } = await storeWith(beirDir, names);
  const retrievers = new RetrieverSession(async () => store);
  const llms = new LlmSession();
  const session = new PipelineSession(async () => store, retrievers, llms, (llm, c, at) => appLlmSide(llm, c, at));
  const enc = await retrievers.load({ kind: 'files', files: folderFiles(models.encoderDir, models.encoderName), preset: PAGE_DEFAULT_PRESET });
  const llm = await llms.load({ kind: 'files', files: folderFiles(models.llmDir, models.llmName) });
  const snapshot = await session.run({ datasetId, encoder: enc.handle, llm: llm.handle, config, step: 'all' }, {});
  return { ...snapshot, analysis: await session.analysis(datasetId) };
}

export interface DenseMirror {
  rawNdcg: number;
  ftNdcg: number;
  lossCurve: LossPoint[];
  /** model.safetensors of the untrained and the trained encoder, as exported. */
  rawWeights: Uint8Array;
  ftWeights: Uint8Array;
}

/** The Dense panel's Evaluate → Train → Evaluate (RetrieverSession) on a BEIR folder and an encoder folder. */
export async function denseTrainInNode(
  beirDir: string,
  names: Readonly<Record<string, string>>,
  encoder: { dir: string; name: string },
  split: { eval: string; train: string },
  settings: Partial<RetrieverTrainSettings>,
): Promise<DenseMirror> {
  const { store, datasetId } = await storeWith(beirDir, names);
  const session = new RetrieverSession(async () => store);
  const raw = await session.load({ kind: 'files', files: folderFiles(encoder.dir, encoder.name), preset: PAGE_DEFAULT_PRESET });
  const rawEval = await session.evaluate(datasetId, split.eval, raw.handle);
  const trained = await session.train(datasetId, split.train, raw.handle, settings);
  const ftEval = await session.evaluate(datasetId, split.eval, trained.encoder.handle);
  const weights = async (handle: string) => {
    const { zip, name } = await session.exportZip(handle);
    const { unzipSync } = await import('fflate');
    return unzipSync(zip)[`${name}/model.safetensors`];
  };
  return { rawNdcg: rawEval.metrics['ndcg@10'], ftNdcg: ftEval.metrics['ndcg@10'], lossCurve: trained.lossCurve, rawWeights: await weights(raw.handle), ftWeights: await weights(trained.encoder.handle) };
}
