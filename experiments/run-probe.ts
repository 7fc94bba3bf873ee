// What the probes of a finished (or running) experiment share: its config and key, its stored stages, the
// dataset's test and dev queries as the loop cut them, and each trained retriever with the corpus embeddings
// the run stored for it. A probe only reads the run folder.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadBertEncoder, type BertEncoder } from '../src/encoder/encoder.ts';
import { guessPreset } from '../src/cli/encoder-setup.ts';
import { useBackend } from '../src/cli/backend.ts';
import { folderRunStore } from '../src/cli/run-folder.ts';
import { loadBeir, type BeirDataset } from '../src/data/load.ts';
import { sourcesFromPath } from '../src/data/node-sources.ts';
import { splitQueries } from '../src/data/qrels.ts';
import type { BeirQuery, Qrels } from '../src/data/types.ts';
import { modelHash, type ModelFiles } from '../src/model/sources.ts';
import { experimentConfig, type ExperimentConfig } from '../src/pipeline/config.ts';
import { configKey } from '../src/pipeline/run-state.ts';
import { encoderSet } from '../src/pipeline/stages-retriever.ts';
import { resolveTrainSource } from '../src/pipeline/train-sources.ts';
import { FileChunkStore } from '../src/retrieval/dense/file-chunks-node.ts';

/** A stored stage's output, as the probes read it. */
export interface StoredStage {
  output: { metrics: Record<string, number>; perQuery: Record<string, Record<string, number>> } & Record<string, unknown>;
}

export interface ProbeRun {
  config: ExperimentConfig;
  key: string;
  dir: string;
  stages: Record<string, StoredStage>;
  data: BeirDataset;
  test: { queries: BeirQuery[]; qrels: Qrels };
  dev: { queries: BeirQuery[]; qrels: Qrels };
}

/** The run in `runDir`, made from `configFile` (one dataset for train, dev and test), on the wasm backend. */
export async function openProbeRun(configFile: string, runDir: string, what: string): Promise<ProbeRun> {
  const root = resolve(import.meta.dirname, '..');
  await useBackend('wasm');
  const config = experimentConfig(JSON.parse(readFileSync(configFile, 'utf8')));
  if (config.trainData.length) throw new Error(`${configFile} trains on other datasets (trainData): ${what} reads one dataset for train, dev and test`);
  const dir = resolve(runDir);
  const state = JSON.parse(readFileSync(join(dir, 'run-state.json'), 'utf8')) as { stages: Record<string, StoredStage> };
  const data = await loadBeir(await sourcesFromPath(resolve(root, config.data)));
  const qrels = data.qrels.get(config.split)!;
  const source = resolveTrainSource([data], config.trainSplit, config.dev);
  return {
    config,
    key: configKey(config),
    dir,
    stages: state.stages,
    data,
    test: { queries: splitQueries(data.queries.values(), qrels), qrels },
    dev: { queries: splitQueries(data.queries.values(), source.dev), qrels: source.dev },
  };
}

/** Retriever `name` (encoders/NAME) as the run exported it, and the test corpus' embeddings the run stored for it. */
export async function openRunEncoder(run: ProbeRun, name: string): Promise<{ encoder: BertEncoder; files: ModelFiles; hash: string; sink: FileChunkStore }> {
  const files = (await folderRunStore(run.dir).getFiles(encoderSet(name)))!;
  const encoder = await loadBertEncoder(files, { preset: guessPreset(files, name), seed: run.config.seed });
  return { encoder, files, hash: await modelHash(files), sink: new FileChunkStore(join(run.dir, 'embeddings'), `${run.key}-${name}`) };
}
