// Unsupervised contrastive pretraining data on the corpus itself: independent cropping.
//
// Reference: Izacard et al. 2021, "Unsupervised Dense Information Retrieval with Contrastive Learning"
// (Contriever), §3.1 and src/data.py randomcrop: two spans of the same document, each of a random
// length ratio in [0.1, 0.5] at a random start, drawn independently, form a positive pair; the other
// documents of the batch are the negatives. Contriever also deletes tokens with p = 0.1.
// We crop whitespace words rather than token ids so that the Encoder contract (text in) is enough.
import { ExpandrError } from '../errors.ts';
import { createRng, deriveSeed, shuffleInPlace, type Rng } from '../util/random.ts';

export interface CropOptions {
  seed: number;
  batchSize: number;
  /** Span length as a share of the document's words: uniform in [ratioMin, ratioMax]. */
  ratioMin: number;
  ratioMax: number;
  /** Per-word deletion probability inside a crop (Contriever's 'delete' augmentation). */
  deleteProb: number;
  /** Words of a document considered (Contriever chunks texts to 256 tokens). */
  maxWords: number;
}

export const CROP_DEFAULTS: Readonly<Omit<CropOptions, 'seed' | 'batchSize'>> = Object.freeze({
  ratioMin: 0.1, // Contriever --ratio_min
  ratioMax: 0.5, // Contriever --ratio_max
  deleteProb: 0.1, // Contriever --augmentation delete --prob_augmentation 0.1
  maxWords: 256, // Contriever --chunk_length 256 (tokens; words here)
});

/** One random crop of `words`: a contiguous span of length ⌊n·ratio⌋ (at least 1), then word deletion. */
export function randomCrop(words: readonly string[], rng: Rng, options: Pick<CropOptions, 'ratioMin' | 'ratioMax' | 'deleteProb'>): string {
  const n = words.length;
  const ratio = options.ratioMin + (options.ratioMax - options.ratioMin) * rng.float();
  const len = Math.max(1, Math.floor(n * ratio));
  const start = rng.int(n - len + 1);
  const kept = words.slice(start, start + len).filter(() => !(options.deleteProb > 0 && rng.float() < options.deleteProb));
  return (kept.length ? kept : [words[start]]).join(' ');
}

const SHUFFLE_STREAM = 3;
const CROP_STREAM = 4;

/** Pairs of independent crops as micro-batches: queries[i] and docs[i] come from the same document. */
export class CropBatches {
  private readonly words: string[][];
  private permEpoch = -1;
  private perm: number[] = [];

  constructor(
    texts: readonly string[],
    readonly opts: CropOptions,
  ) {
    // Documents need two words to give two different spans; shorter ones are left out.
    this.words = texts.map((t) => t.split(/\s+/).filter(Boolean).slice(0, opts.maxWords)).filter((w) => w.length >= 2);
    if (this.words.length < 2) throw new ExpandrError('Corpus pretraining needs at least 2 documents with 2 or more words each.');
  }

  get size(): number {
    return this.words.length;
  }

  private permutation(epoch: number): number[] {
    if (epoch !== this.permEpoch) {
      this.perm = shuffleInPlace([...this.words.keys()], createRng(deriveSeed(deriveSeed(this.opts.seed, SHUFFLE_STREAM), epoch)));
      this.permEpoch = epoch;
    }
    return this.perm;
  }

  batch(index: number): { queries: string[]; docs: string[] } {
    const B = this.opts.batchSize;
    const n = this.words.length;
    const queries: string[] = [];
    const docs: string[] = [];
    for (let r = 0; r < B; r++) {
      const p = index * B + r;
      const words = this.words[this.permutation(Math.floor(p / n))[p % n]];
      const rng = createRng(deriveSeed(deriveSeed(this.opts.seed, CROP_STREAM), p));
      queries.push(randomCrop(words, rng, this.opts));
      docs.push(randomCrop(words, rng, this.opts));
    }
    return { queries, docs };
  }
}
