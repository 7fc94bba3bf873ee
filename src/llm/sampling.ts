// Picking the next token from logits, on the CPU side: greedy argmax, temperature, and top-p (nucleus)
// sampling as llama2.c run.c does it (sample_argmax, sample_mult, sample_topp). The nucleus is the
// shortest prefix of the tokens sorted by probability whose mass exceeds p (it includes the token that
// crosses p); transformers' TopPLogitsWarper keeps the same set except when a prefix sums to exactly p.
// Pure functions of (logits, settings, coin), so they are tested on hand-made distributions.

export interface SamplingOptions {
  /** Argmax; also implied by temperature 0 (llama2.c's `-t 0.0`). */
  greedy?: boolean;
  /** Logits are divided by it before the softmax (default 1). */
  temperature?: number;
  /** Nucleus mass in (0, 1); ≥ 1 or ≤ 0 turns it off (default 1). */
  topP?: number;
}

/** Index of the largest value; the first one on ties (run.c sample_argmax). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** softmax(logits / temperature) in float64. */
export function softmax(logits: ArrayLike<number>, temperature = 1): Float64Array {
  const n = logits.length;
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, logits[i] / temperature);
  const p = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += p[i] = Math.exp(logits[i] / temperature - max);
  for (let i = 0; i < n; i++) p[i] /= sum;
  return p;
}

/** The nucleus: ids sorted by probability (descending, ties by id), cut after the token where the mass first exceeds p. */
export function nucleus(probs: ArrayLike<number>, topP: number): { ids: number[]; mass: number } {
  const n = probs.length;
  // Tokens below (1 − p)/(n − 1) can never be in the nucleus (run.c's pre-filter): skip sorting them.
  const cutoff = n > 1 ? (1 - topP) / (n - 1) : 0;
  const candidates: number[] = [];
  for (let i = 0; i < n; i++) if (probs[i] >= cutoff) candidates.push(i);
  candidates.sort((a, b) => probs[b] - probs[a] || a - b);
  let mass = 0;
  for (let i = 0; i < candidates.length; i++) {
    mass += probs[candidates[i]];
    if (mass > topP) return { ids: candidates.slice(0, i + 1), mass };
  }
  return { ids: candidates, mass }; // rounding: the whole candidate list
}

/** Samples from probabilities with a uniform coin in [0, 1) (inverse CDF; run.c sample_mult). */
export function sampleFromProbs(probs: ArrayLike<number>, coin: number, ids?: readonly number[], mass = 1): number {
  const count = ids ? ids.length : probs.length;
  const r = coin * mass;
  let cdf = 0;
  for (let i = 0; i < count; i++) {
    const id = ids ? ids[i] : i;
    cdf += probs[id];
    if (r < cdf) return id;
  }
  return ids ? ids[count - 1] : count - 1;
}

/** The next token for one row of logits. `coin` is drawn by the caller (seeded) and unused when greedy. */
export function sampleToken(logits: ArrayLike<number>, opts: SamplingOptions, coin: number): number {
  const t = opts.temperature ?? 1;
  if (opts.greedy || t === 0) return argmax(logits);
  if (!(t > 0)) throw new RangeError(`temperature must be ≥ 0, got ${t}`);
  const probs = softmax(logits, t);
  const p = opts.topP ?? 1;
  if (p <= 0 || p >= 1) return sampleFromProbs(probs, coin);
  const { ids, mass } = nucleus(probs, p);
  return sampleFromProbs(probs, coin, ids, mass);
}
