// The runner's config for end-to-end tests with the tiny models: tiny-bert (tests/reference/fixtures) and
// stories260K (../shared/models), a few tokens per generation, two candidates, two retriever steps and one
// DPO step. Tests add the data, settings and what they vary.
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '../../..');
export const TINY_BERT = join(ROOT, 'tests/reference/fixtures/tiny-bert');
export const STORIES = join(ROOT, '../shared/models/stories260K');

export const TINY_RUNNER_CONFIG = Object.freeze({
  encoder: { model: TINY_BERT, expansionNorm: 'contriever', batchSize: 8 },
  llm: { model: STORIES, chat: false },
  expansion: { maxTokens: 8 },
  answer: { maxTokens: 8 },
  candidates: { temperatures: [0.8, 1.1], perTemperature: 1, maxTokens: 8 },
  rewards: { filter: 0 },
  retriever: { steps: 2, batchSize: 4 },
  dpo: { steps: 1, batchSize: 2 },
});
