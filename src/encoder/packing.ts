// Rows of a padded batch without its padding: the index arrays that gather the tokens of a (B·T, d) batch into
// (N, d), N = Σ lengths, and back. Inference then runs every row-wise product on tokens only, and attention
// per sequence (wasmPackedAttention, webgpuPackedAttention). Pure JS over the attention mask.

export interface Packing {
  /** Row b·T + t of the padded batch for each packed row, in order (N). */
  keep: Int32Array;
  /** For each padded row, its packed row, or −1 (a zero row) for padding (B·T). */
  back: Int32Array;
  /** Sequence b is packed rows starts[b] … starts[b+1]−1 (B + 1). */
  starts: Int32Array;
  /** For each packed row, its sequence's first packed row and length (2N: start, length, start, length, …). */
  rowSeqs: Int32Array;
  /** The longest sequence. */
  maxSeq: number;
}

/**
 * The packing of a right-padded batch (each row's mask 1…1 then 0…0), or null where packing gains nothing
 * (no padding) or does not apply (a mask with a hole, an empty row).
 */
export function packingOf(attentionMask: ArrayLike<number>, B: number, T: number): Packing | null {
  const lengths = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    let len = 0;
    while (len < T && attentionMask[b * T + len]) len++;
    for (let t = len; t < T; t++) if (attentionMask[b * T + t]) return null; // not right-padded
    if (len === 0) return null;
    lengths[b] = len;
  }
  const starts = new Int32Array(B + 1);
  for (let b = 0; b < B; b++) starts[b + 1] = starts[b] + lengths[b];
  const n = starts[B];
  if (n === B * T) return null;
  const keep = new Int32Array(n);
  const back = new Int32Array(B * T).fill(-1);
  const rowSeqs = new Int32Array(2 * n);
  let maxSeq = 0;
  for (let b = 0; b < B; b++) {
    maxSeq = Math.max(maxSeq, lengths[b]);
    for (let t = 0; t < lengths[b]; t++) {
      keep[starts[b] + t] = b * T + t;
      back[b * T + t] = starts[b] + t;
      rowSeqs.set([starts[b], lengths[b]], 2 * (starts[b] + t));
    }
  }
  return { keep, back, starts, rowSeqs, maxSeq };
}
