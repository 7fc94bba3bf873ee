// Seeded pseudo-random numbers: the same seed gives the same stream in Node and every browser,
// so permutation tests, shuffles and training runs are reproducible from their recorded seed.
//
// Generator: mulberry32 (Tommy Ettinger, public domain) — 32-bit state, passes gjrand/PractRand up
// to a few GB, far more than any stream this app draws. Not for cryptography.

export interface Rng {
  /** Uniform integer in [0, 2^32). */
  uint32(): number;
  /** Uniform float in [0, 1) with 53 random bits (two draws). */
  float(): number;
  /** Uniform integer in [0, n), without modulo bias; n in [1, 2^32]. */
  int(n: number): number;
  /** Standard normal N(0, 1) (Box–Muller; the spare value is kept for the next call). */
  normal(): number;
}

/** Folds any number (negative, fractional, > 2^32) into a 32-bit seed. */
function seedToUint32(seed: number): number {
  if (!Number.isFinite(seed)) throw new RangeError(`Seed must be a finite number, got ${seed}`);
  // Integers up to 2^53 keep all their bits: mix the high word into the low one.
  const hi = Math.floor(seed / 0x1_0000_0000);
  return (Math.floor(seed) ^ Math.imul(hi, 0x9e3779b9)) >>> 0;
}

/** A mulberry32 generator. `createRng(42)` always yields the same sequence. */
export function createRng(seed: number): Rng {
  let state = seedToUint32(seed);
  let spare: number | null = null;

  const uint32 = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };

  const float = (): number => {
    // 27 high bits + 26 bits → 53-bit mantissa, as in the classic genrand_res53.
    const a = uint32() >>> 5;
    const b = uint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  };

  const int = (n: number): number => {
    if (!(n >= 1 && n <= 0x1_0000_0000) || !Number.isInteger(n)) {
      throw new RangeError(`int(n) needs an integer n in [1, 2^32], got ${n}`);
    }
    // Rejection sampling: draws ≥ limit would bias small values.
    const limit = 0x1_0000_0000 - (0x1_0000_0000 % n);
    for (;;) {
      const x = uint32();
      if (x < limit) return x % n;
    }
  };

  const normal = (): number => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = float(); // log(0) guard
    const v = float();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };

  return { uint32, float, int, normal };
}

/** Fisher–Yates shuffle in place; returns the same array. */
export function shuffleInPlace<T>(items: T[], rng: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const tmp = items[i];
    items[i] = items[j];
    items[j] = tmp;
  }
  return items;
}

/** Derives an independent child seed (e.g. one per epoch or per worker) from a parent seed. */
export function deriveSeed(seed: number, stream: number): number {
  // splitmix32-style finaliser over the pair, so nearby (seed, stream) pairs decorrelate.
  let z = (seedToUint32(seed) ^ Math.imul(seedToUint32(stream) + 0x9e3779b9, 0x85ebca6b)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}
