// Additive attention biases: 0 where a query may look, MASKED_SCORE where it may not.

/**
 * Added to the scores of keys a query must not see. Finite (transformers uses the dtype's minimum) so a
 * row with every key masked — a padding query — gives a uniform softmax instead of NaN.
 */
export const MASKED_SCORE = -1e9;

/** Causal bias (queryLength, past + queryLength): query i, at absolute index past + i, sees keys j ≤ past + i. */
export function causalBias(queryLength: number, past: number): Float32Array {
  const keyLength = past + queryLength;
  const out = new Float32Array(queryLength * keyLength);
  for (let i = 0; i < queryLength; i++) for (let j = past + i + 1; j < keyLength; j++) out[i * keyLength + j] = MASKED_SCORE;
  return out;
}
