import { compareCodePoints } from '../eval/ranking.ts';

// Exact top-k selection with a bounded binary min-heap: O(n log k) instead of sorting all n.
//
// Order: score descending, then document id descending in code-point order (strcmp on UTF-8, as
// trec_eval ranks a run), so that the k kept are the k that evaluation reads first. Ids are compared
// through precomputed ranks (idRanks) so that the hot loop compares numbers only.

/** rank[ordinal]: position of ids[ordinal] in ascending code-point order (equal ids share no rank). */
export function idRanks(ids: readonly string[]): Uint32Array {
  const order = Array.from({ length: ids.length }, (_, i) => i);
  order.sort((a, b) => compareCodePoints(ids[a]!, ids[b]!) || a - b);
  const rank = new Uint32Array(ids.length);
  for (let r = 0; r < order.length; r++) rank[order[r]!] = r;
  return rank;
}

/** Collects the best `k` (ordinal, score) pairs. Reusable: `drain` empties it. */
export class TopK {
  private readonly ords: Int32Array; // heap of ordinals; ords[0] is the worst kept
  private readonly scores: Float64Array;
  private size = 0;

  constructor(
    readonly k: number,
    private readonly rank: Uint32Array,
  ) {
    this.ords = new Int32Array(k);
    this.scores = new Float64Array(k);
  }

  /** A candidate below this score cannot enter (at equal score the id decides). */
  get threshold(): number {
    return this.size < this.k ? -Infinity : this.scores[0]!;
  }

  push(ord: number, score: number): void {
    const { ords, scores, rank } = this;
    const r = rank[ord]!;
    if (this.size < this.k) {
      let i = this.size++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        const ps = scores[p]!;
        if (score > ps || (score === ps && r > rank[ords[p]!]!)) break; // parent is worse: stop
        ords[i] = ords[p]!;
        scores[i] = ps;
        i = p;
      }
      ords[i] = ord;
      scores[i] = score;
      return;
    }
    const root = scores[0]!;
    if (this.k === 0 || score < root || (score === root && r < rank[ords[0]!]!)) return;
    this.siftDown(ord, score, r, this.k);
  }

  /** Puts (ord, score) at the root and restores the heap over [0, n). */
  private siftDown(ord: number, score: number, r: number, n: number): void {
    const { ords, scores, rank } = this;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      let c = l;
      const rr = l + 1;
      if (rr < n && (scores[rr]! < scores[l]! || (scores[rr] === scores[l] && rank[ords[rr]!]! < rank[ords[l]!]!))) c = rr;
      const cs = scores[c]!;
      if (score < cs || (score === cs && r < rank[ords[c]!]!)) break; // new item is worse than both children
      ords[i] = ords[c]!;
      scores[i] = cs;
      i = c;
    }
    ords[i] = ord;
    scores[i] = score;
  }

  /** Calls `emit` with the kept pairs best first, and empties the heap (heap sort). */
  drain(emit: (ord: number, score: number) => void): void {
    const n = this.size;
    const outOrd = new Int32Array(n);
    const outScore = new Float64Array(n);
    for (let last = n - 1; last >= 0; last--) {
      outOrd[last] = this.ords[0]!; // the worst remaining goes to the back
      outScore[last] = this.scores[0]!;
      const ord = this.ords[last]!;
      if (last > 0) this.siftDown(ord, this.scores[last]!, this.rank[ord]!, last);
    }
    this.size = 0;
    for (let i = 0; i < n; i++) emit(outOrd[i]!, outScore[i]!);
  }
}
