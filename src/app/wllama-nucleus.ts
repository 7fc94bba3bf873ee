// Top-p sampling from llama.cpp's K most probable tokens only, when they settle the answer. Fetching the whole
// distribution (49,152 probabilities through wllama's worker message) every token halved wllama's sampled
// speed (bench/RESULTS-generation-page.md). Our sampler (src/llm/sampling.ts sampleToken: softmax(logits/T),
// nucleus = shortest prefix by probability whose mass exceeds p, inverse CDF inside it) depends on the tail
// beyond K only through the normaliser Z of the tempered weights, and only where the nucleus is cut: the draw
// inside a given nucleus is scale-free. With Z bounded by the tail mass llama.cpp leaves (1 − Σ top p, each
// tail p ≤ the K-th), the cut is computed at both ends; the same cut inside the K tokens gives the same token
// as the whole distribution would, else the caller asks for the whole distribution.

export interface TokenProb {
  token: number;
  p: number;
}

/** Weight of the tail beyond the top tokens, relative to the top token's tempered weight: an upper bound. */
function tailBound(top: readonly TokenProb[], temperature: number, vocab: number): number {
  const p0 = top[0].p;
  const pK = top[top.length - 1].p;
  const rest = Math.max(0, 1 - top.reduce((a, t) => a + t.p, 0));
  const n = Math.max(0, vocab - top.length);
  if (rest === 0 || n === 0) return 0;
  const a = 1 / temperature;
  // Each tail x = p/p0 ≤ pK/p0. a ≥ 1: Σ x^a ≤ Σ x · (pK/p0)^(a−1). a < 1: concave, at most n·(mean)^a.
  const bound = a >= 1 ? (rest / p0) * Math.pow(pK / p0, a - 1) : n * Math.pow(rest / p0 / n, a);
  // A margin for rounding: llama.cpp's probabilities are float32.
  return bound * (1 + 1e-6) + 1e-12;
}

/**
 * The token sampleToken would pick for (temperature, topP, coin) over the whole distribution, from its top
 * tokens only (sorted by p, largest first), or null when they cannot settle it.
 */
export function nucleusFromTop(top: readonly TokenProb[], temperature: number, topP: number, coin: number, vocab: number): number | null {
  if (!top.length || !(temperature > 0) || !(topP > 0 && topP < 1)) return null;
  const sorted = [...top].sort((x, y) => y.p - x.p || x.token - y.token);
  const logP0 = Math.log(sorted[0].p);
  const w = sorted.map((t) => (t.p > 0 ? Math.exp((Math.log(t.p) - logP0) / temperature) : 0));
  const cum: number[] = [];
  let s = 0;
  for (const x of w) cum.push((s += x));
  const zMin = s;
  const zMax = s + tailBound(sorted, temperature, vocab);
  const cut = (z: number) => cum.findIndex((c) => c > topP * z);
  const lo = cut(zMin);
  const hi = cut(zMax);
  if (hi < 0 || lo !== hi) return null;
  const r = coin * cum[lo];
  for (let i = 0; i <= lo; i++) if (r < cum[i]) return sorted[i].token;
  return sorted[lo].token;
}
