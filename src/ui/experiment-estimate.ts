// The estimate's inputs from what the page knows: the chosen dataset's counts, the encoder's and the LLM's
// sizes (read from their summaries; an encoder's parameter count is not in its summary, so it is guessed
// from its width), and the config the form describes, with the rates measured for the wasm backend.
import type { EncoderSummary, LlmSummary } from '../app/session-types.ts';
import { experimentConfig } from '../pipeline/config.ts';
import { estimateExperiment, type Estimate } from '../pipeline/estimate.ts';
import { WASM_RATES } from '../pipeline/estimate-rates.ts';
import type { DatasetInfo } from '../store/types.ts';

/**
 * Tokens of a document when the dataset does not say: SciFact's abstracts (bench/RESULTS-minilm.md: its
 * first 64 documents are 15,060 tokens even cut at 256, so longer uncut).
 */
export const DOC_TOKENS_ASSUMED = 300;
const BERT_VOCAB = 30522;

/** A BERT encoder's size from its width: BERT's vocabulary, 12 layers at 768 and above, 6 below (MiniLM-L6), 2 for toy widths. */
export function encoderShapeGuess(dim: number): { params: number; layers: number } {
  const layers = dim >= 768 ? 12 : dim >= 256 ? 6 : 2;
  return { params: BERT_VOCAB * dim + layers * 12 * dim * dim, layers };
}

export interface PageEstimateInput {
  overrides: Record<string, unknown>;
  dataset: DatasetInfo | undefined;
  encoder: EncoderSummary | undefined;
  llm: LlmSummary | undefined;
}

/** The estimate, or why there is none yet (no dataset or encoder, or a config a run would refuse). */
export function pageEstimate(p: PageEstimateInput): { estimate: Estimate } | { missing: string } {
  if (!p.dataset) return { missing: 'Choose a dataset to see an estimate.' };
  if (!p.encoder) return { missing: 'Load an encoder to see an estimate.' };
  let config;
  try {
    config = experimentConfig({ ...p.overrides, data: p.dataset.name, llm: { ...(p.overrides.llm as object), model: p.llm?.name ?? '' } });
  } catch (e) {
    return { missing: `No estimate while the settings are refused: ${(e as Error).message}` };
  }
  if (!p.llm) config.settings = config.settings.filter((s) => ['BM25', 'Raw', 'FT'].includes(s));
  const split = (name: string) => p.dataset!.splits[name]?.queries ?? 0;
  const shape = encoderShapeGuess(p.encoder.dim);
  const llm = p.llm
    ? {
        params: p.llm.params ?? 12 * p.llm.layers * p.llm.dim * p.llm.dim + 2 * p.llm.vocab * p.llm.dim,
        dim: p.llm.dim,
        layers: p.llm.layers,
        vocab: p.llm.vocab,
        // tfjs keeps the weights in float32; a WebLLM preset says what it needs.
        weightBytes: p.llm.vramMB ? p.llm.vramMB * 2 ** 20 : (p.llm.params ?? 0) * 4,
      }
    : null;
  const estimate = estimateExperiment(
    {
      config,
      data: { docs: p.dataset.counts.docs, testQueries: split(config.split), trainQueries: split(config.trainSplit), docTokens: DOC_TOKENS_ASSUMED },
      encoder: { params: shape.params, layers: shape.layers, dim: p.encoder.dim, maxLength: p.encoder.settings.maxLength },
      llm,
    },
    WASM_RATES,
  );
  return { estimate };
}
