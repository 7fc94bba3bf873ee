// How large a paired difference is, not only whether it is there: a percentile bootstrap interval of the
// mean per-query difference mean(a − b). The permutation test (significance.ts) says whether two systems
// differ; this says by how much, with its uncertainty over the queries ("−0.047, 95 % CI −0.068 to −0.026").
//
// Resample the n differences with replacement `rounds` times, take each resample's mean, and read the
// interval off those means at (1 − level)/2 and (1 + level)/2 with linear interpolation between order
// statistics: scipy.stats.bootstrap(method='percentile') on the same differences (numpy's default
// percentile), checked in tests/reference/eval-bootstrap.test.ts within the Monte Carlo error of two
// independent draws. Seeded (mulberry32), so a table's intervals are reproducible.
import { MetricError } from '../errors.ts';
import { createRng } from '../util/random.ts';

export interface BootstrapOptions {
  /** Resamples. Default 10,000 (scipy's default 9,999). */
  rounds?: number;
  /** Coverage. Default 0.95. */
  level?: number;
  /** PRNG seed. Default 42. */
  seed?: number;
}

export const DEFAULT_BOOTSTRAP_ROUNDS = 10_000;
export const DEFAULT_INTERVAL_LEVEL = 0.95;

/** A paired difference's interval: [lo, hi] around mean(a − b), at `level`. */
export interface DiffInterval {
  lo: number;
  hi: number;
  level: number;
}

/** Linear interpolation between order statistics of sorted `xs` (numpy's default, R type 7). */
function sortedQuantile(xs: Float64Array, p: number): number {
  const h = (xs.length - 1) * p;
  const i = Math.floor(h);
  return i + 1 < xs.length ? xs[i] + (h - i) * (xs[i + 1] - xs[i]) : xs[i];
}

/** Percentile bootstrap interval of mean(a − b) over paired values (same length, same query order). */
export function pairedBootstrapInterval(a: readonly number[], b: readonly number[], options: BootstrapOptions = {}): DiffInterval {
  const rounds = options.rounds ?? DEFAULT_BOOTSTRAP_ROUNDS;
  const level = options.level ?? DEFAULT_INTERVAL_LEVEL;
  if (a.length !== b.length) throw new MetricError(`A paired interval needs one value per query on both sides: got ${a.length} and ${b.length}.`);
  if (!Number.isInteger(rounds) || rounds < 1) throw new MetricError(`rounds must be a positive integer, got ${rounds}.`);
  if (!(level > 0 && level < 1)) throw new MetricError(`level must lie in (0, 1), got ${level}.`);
  const n = a.length;
  if (n === 0) return { lo: 0, hi: 0, level };
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    d[i] = a[i] - b[i];
    if (!Number.isFinite(d[i])) throw new MetricError(`Query #${i}: values must be finite numbers (got ${a[i]} and ${b[i]}).`);
  }
  const rng = createRng(options.seed ?? 42);
  const means = new Float64Array(rounds);
  // rng.int(n)'s rejection sampling, inlined: the same indices without its per-call checks (the loop's cost).
  const limit = 0x1_0000_0000 - (0x1_0000_0000 % n);
  for (let r = 0; r < rounds; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) {
      let x = rng.uint32();
      while (x >= limit) x = rng.uint32();
      s += d[x % n];
    }
    means[r] = s / n;
  }
  means.sort();
  return { lo: sortedQuantile(means, (1 - level) / 2), hi: sortedQuantile(means, (1 + level) / 2), level };
}

/** "[-0.0683, +0.0012]": an interval as the tables print their differences (4 decimals, signed). */
export function intervalText(ci: DiffInterval, digits = 4): string {
  const f = (x: number) => `${x > 0 ? '+' : ''}${x.toFixed(digits)}`;
  return `[${f(ci.lo)}, ${f(ci.hi)}]`;
}
