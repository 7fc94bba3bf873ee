// DPO without training (ExpandR §3.3, Eq. 17): per-pair log-probs of the chosen and rejected
// completions under the model as it is, with the adapters off (π_ref, computed once and cached by the
// trainer, src/train/dpo-trainer.ts) or on (the current policy, for DPO's loss, rewards and accuracy).
import { throwIfAborted } from '../errors.ts';
import type { WorkOptions } from '../util/progress.ts';
import { collatePairs, type TokenizedPair } from './dpo-data.ts';
import { dpoMetrics, dpoSettings, type DpoPairMetrics, type DpoSettings } from './dpo.ts';
import type { LlamaModel } from './llama.ts';
import { sequenceLogProbsValues } from './logprobs.ts';

export interface ReferenceLogProbs {
  /** Per pair, log π_ref(chosen | prompt) and log π_ref(rejected | prompt). */
  chosen: Float64Array;
  rejected: Float64Array;
}

type Lengths = Pick<DpoSettings, 'maxLength' | 'vocabChunk' | 'batchSize'>;

/** Per-pair log-probs of chosen and rejected under the model as it is (no gradients, no dropout). */
async function pairLogProbs(model: LlamaModel, pairs: readonly TokenizedPair[], s: Lengths, padId: number, work: WorkOptions, stage: string): Promise<ReferenceLogProbs> {
  const chosen = new Float64Array(pairs.length);
  const rejected = new Float64Array(pairs.length);
  for (let i = 0; i < pairs.length; i += s.batchSize) {
    throwIfAborted(work.signal, 'DPO log-probs');
    const part = pairs.slice(i, i + s.batchSize);
    const lp = await sequenceLogProbsValues(model, collatePairs(part, s.maxLength, padId), { chunk: s.vocabChunk }); // (2n): chosen, rejected
    chosen.set(lp.subarray(0, part.length), i);
    rejected.set(lp.subarray(part.length), i);
    work.onProgress?.({ stage, done: i + part.length, total: pairs.length, unit: 'pairs' });
  }
  return { chosen, rejected };
}

/** π_ref: the same model with its adapters switched off (Eq. 17's reference policy). */
export async function referenceLogProbs(model: LlamaModel, pairs: readonly TokenizedPair[], settings: Partial<DpoSettings> = {}, work: WorkOptions & { padId?: number } = {}): Promise<ReferenceLogProbs> {
  const was = model.adaptersEnabled;
  model.adaptersEnabled = false;
  try {
    return await pairLogProbs(model, pairs, dpoSettings(settings), work.padId ?? 0, work, 'llm:reference');
  } finally {
    model.adaptersEnabled = was;
  }
}

/** DPO loss, implicit rewards, margin and accuracy of the current policy on `pairs` (eval mode). */
export async function evaluateDpo(model: LlamaModel, pairs: readonly TokenizedPair[], reference: ReferenceLogProbs, settings: Partial<DpoSettings> = {}, work: WorkOptions & { padId?: number } = {}): Promise<DpoPairMetrics> {
  const s = dpoSettings(settings);
  const policy = await pairLogProbs(model, pairs, s, work.padId ?? 0, work, 'llm:evaluate');
  return dpoMetrics(policy.chosen, policy.rejected, reference.chosen, reference.rejected, s.beta);
}
