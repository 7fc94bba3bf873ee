// Paired randomisation (permutation) test on per-query metric values, two-sided — the test behind the
// paper's marks against Raw and FT (what a mark means, with its direction: src/eval/significance-marks.ts).
//
// H0: the two systems are exchangeable on every query, so each difference d_i = a_i − b_i is as likely
// to have the opposite sign. Statistic T = Σ d_i (equivalently the mean difference). The p-value is the
// share of sign assignments s with |Σ s_i d_i| ≥ |Σ d_i|:
//  - exact: all 2^n assignments when n ≤ exactMaxN (the observed one is among them, so p ≥ 2^-n);
//  - Monte Carlo otherwise: p = (1 + #{rounds with |T*| ≥ |T|}) / (1 + rounds). The +1 counts the
//    observed assignment as one of the permutations (Phipson & Smyth 2010): p is never 0 and the test
//    keeps its level; the smallest reportable p is 1/(rounds + 1).
// "≥" allows a relative slack of 100 ε·|T| for sums that are equal in exact arithmetic but not in
// floating point — the same tolerance scipy.stats.permutation_test applies.
// For exact enumeration this equals scipy.stats.permutation_test(permutation_type='samples',
// alternative='two-sided', n_resamples=inf) on mean(x − y): the null distribution is symmetric, so
// scipy's 2·min(p_less, p_greater) is P(|T*| ≥ |T|) (checked in tests/reference/eval-pytrec.test.ts).

import { MetricError } from '../errors.ts';
import { createRng } from '../util/random.ts';
import { pairedBootstrapInterval, type DiffInterval } from './bootstrap.ts';

export interface PermutationOptions {
  /** Monte Carlo rounds (random sign assignments). Default 10,000. */
  rounds?: number;
  /** PRNG seed (mulberry32). Default 42. */
  seed?: number;
  /** Enumerate all 2^n assignments up to this n (2^16 = 65,536 sums: a few ms). Default 16. */
  exactMaxN?: number;
}

export interface PermutationResult {
  /** Two-sided p-value in (0, 1]. */
  pValue: number;
  /** mean(a) − mean(b) over the paired queries (0 when n = 0). */
  meanDiff: number;
  /** Number of pairs. */
  n: number;
  /** True when all 2^n sign assignments were enumerated. */
  exact: boolean;
}

/** Relative tolerance for "≥ observed" (scipy uses 100 machine epsilons as well). */
const REL_TOLERANCE = 100 * Number.EPSILON;

export const DEFAULT_PERMUTATION_ROUNDS = 10_000;
/** Up to this many pairs all 2^n sign assignments are enumerated (2^16 = 65,536 sums: a few ms). */
export const DEFAULT_EXACT_MAX_N = 16;

/** Two-sided paired permutation test of a against b (same length, same query order). */
export function pairedPermutationTest(a: readonly number[], b: readonly number[], options: PermutationOptions = {}): PermutationResult {
  if (a.length !== b.length) {
    throw new MetricError(`Paired test needs one value per query on both sides: got ${a.length} and ${b.length}. Pair them by query id with pairByQuery().`);
  }
  const rounds = options.rounds ?? DEFAULT_PERMUTATION_ROUNDS;
  const exactMaxN = options.exactMaxN ?? DEFAULT_EXACT_MAX_N;
  if (!Number.isInteger(rounds) || rounds < 1) throw new MetricError(`rounds must be a positive integer, got ${rounds}.`);
  if (exactMaxN > 24) throw new MetricError(`exactMaxN ${exactMaxN} is too large: 2^n sums would take minutes; use ≤ 24.`);

  const n = a.length;
  const d = new Float64Array(n);
  let observed = 0;
  for (let i = 0; i < n; i++) {
    d[i] = a[i] - b[i];
    if (!Number.isFinite(d[i])) throw new MetricError(`Query #${i}: values must be finite numbers (got ${a[i]} and ${b[i]}).`);
    observed += d[i];
  }
  if (n === 0) return { pValue: 1, meanDiff: 0, n: 0, exact: true };

  const threshold = Math.abs(observed) - REL_TOLERANCE * Math.abs(observed);
  const meanDiff = observed / n;

  if (n <= exactMaxN) {
    // Bit i of `mask` set → flip d_i. Summing in index order keeps T* = ±T exact for mask 0 / all-ones.
    const total = 2 ** n;
    let extreme = 0;
    for (let mask = 0; mask < total; mask++) {
      let t = 0;
      for (let i = 0; i < n; i++) t += (mask >>> i) & 1 ? -d[i] : d[i];
      if (Math.abs(t) >= threshold) extreme++;
    }
    return { pValue: extreme / total, meanDiff, n, exact: true };
  }

  const rng = createRng(options.seed ?? 42);
  let extreme = 0;
  for (let r = 0; r < rounds; r++) {
    let t = 0;
    let bits = 0;
    for (let i = 0; i < n; i++) {
      if ((i & 31) === 0) bits = rng.uint32(); // 32 signs per draw
      t += bits & 1 ? -d[i] : d[i];
      bits >>>= 1;
    }
    if (Math.abs(t) >= threshold) extreme++;
  }
  return { pValue: (extreme + 1) / (rounds + 1), meanDiff, n, exact: false };
}

export interface PairedValues {
  /** Query ids present on both sides, in the order of `a`. */
  queryIds: string[];
  a: number[];
  b: number[];
  /** Query ids of either side without a partner (left out of the test). */
  unpaired: string[];
}

/** Pairs two per-query result maps (EvalResult.perQuery) on one metric by query id. */
export function pairByQuery(
  a: ReadonlyMap<string, Readonly<Record<string, number>>>,
  b: ReadonlyMap<string, Readonly<Record<string, number>>>,
  metric: string,
): PairedValues {
  const out: PairedValues = { queryIds: [], a: [], b: [], unpaired: [] };
  for (const [qid, va] of a) {
    const vb = b.get(qid);
    if (vb === undefined) {
      out.unpaired.push(qid);
      continue;
    }
    const x = va[metric];
    const y = vb[metric];
    if (x === undefined || y === undefined) {
      throw new MetricError(`Metric "${metric}" is missing for query "${qid}": evaluate both runs with it.`);
    }
    out.queryIds.push(qid);
    out.a.push(x);
    out.b.push(y);
  }
  for (const qid of b.keys()) if (!a.has(qid)) out.unpaired.push(qid);
  return out;
}

/** Pairs two evaluations by query id on `metric`, tests a against b, and bounds mean(a − b) (95 % bootstrap interval, same seed). */
export function compareByQuery(
  a: ReadonlyMap<string, Readonly<Record<string, number>>>,
  b: ReadonlyMap<string, Readonly<Record<string, number>>>,
  metric: string,
  options: PermutationOptions = {},
): PermutationResult & { unpaired: string[]; ci95: DiffInterval } {
  const paired = pairByQuery(a, b, metric);
  return { ...pairedPermutationTest(paired.a, paired.b, options), unpaired: paired.unpaired, ci95: pairedBootstrapInterval(paired.a, paired.b, { seed: options.seed }) };
}
