// The form's two starting points: a quick look that runs in minutes on this machine's CPU (the browser
// tests' tiny models on a SciFact subset: seconds per stage), and the paper's recipe (the defaults of
// src/pipeline/config.ts, with config-notes.ts saying where they differ from the paper).

/**
 * Few queries, few tokens, few steps: every stage and every row runs, none for long. dev.queries 10: dev
 * is evaluated for every row, and SciFact's cut is 162 queries. dpo.accumulation 1: the default 8
 * micro-batches per step is the paper's effective batch, eight times the work of a quick step.
 */
export const QUICK_CONFIG = {
  trainQueries: 8,
  testQueries: 30,
  dev: { queries: 10 },
  expansion: { maxTokens: 24 },
  answer: { maxTokens: 24 },
  candidates: { temperatures: [0.8, 1.1], perTemperature: 2, maxTokens: 24 },
  rewards: { filter: 0 },
  retriever: { steps: 4, batchSize: 4 },
  dpo: { steps: 2, accumulation: 1 },
};

/** The defaults: nothing overridden. */
export const PAPER_CONFIG = {};
