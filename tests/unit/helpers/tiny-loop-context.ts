// A LoopContext for runExperiment over the synthetic dataset (train-corpus.ts) with the tiny BERT fixture as
// the base encoder, its run state in memory: what the loop tests with a fake LlmSide start from.
import { loadBertEncoder } from '../../../src/encoder/encoder.ts';
import { readModelDir } from '../../../src/encoder/node-files.ts';
import type { ExperimentConfig } from '../../../src/pipeline/config.ts';
import { memoryRunStore, RunStages } from '../../../src/pipeline/run-state.ts';
import type { LoopContext } from '../../../src/pipeline/stages-retriever.ts';
import { syntheticDataset } from './train-corpus.ts';

const TINY_BERT = new URL('../../reference/fixtures/tiny-bert', import.meta.url).pathname;

export async function tinyLoopContext(config: ExperimentConfig): Promise<LoopContext & { store: ReturnType<typeof memoryRunStore> }> {
  const store = memoryRunStore();
  return {
    config,
    data: syntheticDataset(),
    store,
    stages: await RunStages.open(store, config),
    encoders: { baseFiles: new Map(await readModelDir(TINY_BERT)), load: (files) => loadBertEncoder(files, { seed: 1, settings: { maxLength: 32 } }) },
    work: {},
    log: () => {},
    corpus: new Map(),
  };
}
