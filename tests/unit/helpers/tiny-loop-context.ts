// A LoopContext for runExperiment over the synthetic dataset (train-corpus.ts) with the tiny BERT fixture as
// the base encoder, its run state in memory: what the loop tests with a fake LlmSide start from.
import { loadBertEncoder } from '../../../src/encoder/encoder.ts';
import { readModelDir } from '../../../src/encoder/node-files.ts';
import { experimentConfig, type ExperimentConfig } from '../../../src/pipeline/config.ts';
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

/**
 * The loop tests' config of two seeds (7, 8; FT and ExpandR seeded) and two rounds on the synthetic dataset with
 * the tiny BERT and a fake LLM; `over` names the settings and anything else the test varies.
 */
export function twoSeedRoundsConfig(over: Record<string, unknown>): ExperimentConfig {
  return experimentConfig({
    data: 'synthetic',
    seed: 7,
    seeds: [7, 8],
    seededSettings: ['FT', 'ExpandR'],
    rounds: 2,
    dev: { fraction: 0.3 },
    encoder: { model: 'tiny-bert', expansionNorm: 'contriever', batchSize: 8 },
    llm: { model: 'fake', chat: false },
    retriever: { steps: 2, batchSize: 4, lr: 1e-3, dropout: true },
    ...over,
  });
}
