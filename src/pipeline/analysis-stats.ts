// Small descriptive statistics for the run analysis (analysis.ts): mean, quantiles, histograms, word
// counts. Plain numbers in, plain numbers out; NaN for an empty sample.

/** Words as the figures count them (figures-data.ts, preference records): whitespace-separated tokens. */
export const wordCount = (t: string): number => (t.trim() ? t.trim().split(/\s+/).length : 0);

export const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/**
 * The q-quantile (0 ≤ q ≤ 1) by linear interpolation between order statistics (Hyndman–Fan type 7,
 * numpy's and R's default): the median of an even sample is the mean of the two middle values.
 */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const h = (s.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  return s[lo] + (h - lo) * (s[hi] - s[lo]);
}

/** The quantiles the tables print. */
export const SUMMARY_QUANTILES = [0, 0.1, 0.25, 0.5, 0.75, 0.9, 1] as const;

export interface Summary {
  n: number;
  mean: number;
  /** Values at SUMMARY_QUANTILES (min, p10, p25, median, p75, p90, max). */
  quantiles: number[];
}

export function summarize(xs: readonly number[]): Summary {
  return { n: xs.length, mean: mean(xs), quantiles: SUMMARY_QUANTILES.map((q) => quantile(xs, q)) };
}

export interface Bucket {
  /** Lower edge (inclusive; -Infinity for the first bucket) and upper edge (exclusive; Infinity for the last). */
  lo: number;
  hi: number;
  count: number;
}

/** Counts of `xs` in the buckets (-∞, e0), [e0, e1), …, [e_last, ∞) of the ascending `edges`. */
export function histogram(xs: readonly number[], edges: readonly number[]): Bucket[] {
  const bounds = [-Infinity, ...edges, Infinity];
  const out: Bucket[] = bounds.slice(0, -1).map((lo, i) => ({ lo, hi: bounds[i + 1], count: 0 }));
  for (const x of xs) {
    const i = out.findIndex((b) => x >= b.lo && x < b.hi);
    if (i >= 0) out[i].count++;
  }
  return out;
}

/** `edges` with `extra` added (sorted, no duplicates): a histogram whose bucket boundary falls on a threshold. */
export function edgesWith(edges: readonly number[], extra: number): number[] {
  return [...new Set([...edges, extra])].sort((a, b) => a - b);
}

/** Up to `max` indices of 0..n-1, evenly spaced, the first and the last always in. */
export function spacedIndices(n: number, max: number): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  if (max <= 1) return [n - 1];
  return [...new Set(Array.from({ length: max }, (_, k) => Math.round((k * (n - 1)) / (max - 1))))];
}
