// The order in which trec_eval reads a run, reproduced exactly (trec_eval 9, form_res_rels.c):
//  - scores are held as C `float` (TEXT_RESULTS.sim), so two doubles that round to the same float32 tie;
//  - sort by score descending, ties by docno descending with strcmp (byte order of the UTF-8 ids);
//  - the run's own rank column is ignored;
//  - a doc id twice in one query is an error ("duplicate docs"; checked in metrics.ts and trec-run.ts).

import { RunFormatError } from '../errors.ts';
import type { Hit } from './types.ts';

/**
 * strcmp over UTF-8 bytes, on JS (UTF-16) strings: UTF-8 byte order equals code-point order, which
 * differs from UTF-16 code-unit order only between surrogates (U+D800–DFFF) and U+E000–FFFF.
 * Returns <0, 0, >0 like strcmp.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      // Fix-up (as in ICU's u_strCmpCodePointOrder): move surrogates above U+E000–FFFF.
      if (x >= 0xd800 && y >= 0xd800) {
        x += x >= 0xe000 ? -0x800 : 0x2000;
        y += y >= 0xe000 ? -0x800 : 0x2000;
      }
      return x - y;
    }
  }
  return a.length - b.length;
}

/** trec_eval's comparator: float32 score descending, then doc id descending (strcmp). */
export function compareHits(a: Hit, b: Hit): number {
  const sa = Math.fround(a.score);
  const sb = Math.fround(b.score);
  if (sa > sb) return -1;
  if (sa < sb) return 1;
  return compareCodePoints(b.docId, a.docId);
}

/**
 * The hits of one query in trec_eval order. Returns `hits` itself when it is already in that order
 * (retrievers usually emit sorted lists: one linear check instead of a sort), else a sorted copy.
 * Throws RunFormatError on a non-finite score (trec_eval's order is undefined for NaN).
 */
export function trecOrder(qid: string, hits: readonly Hit[], source = 'run'): readonly Hit[] {
  let sorted = true;
  for (let i = 0; i < hits.length; i++) {
    const s = hits[i].score;
    if (Number.isNaN(s)) {
      throw new RunFormatError(source, null, `query "${qid}", doc "${hits[i].docId}": score is NaN`, 'Give every hit a numeric score');
    }
    if (sorted && i > 0 && compareHits(hits[i - 1], hits[i]) > 0) sorted = false;
  }
  return sorted ? hits : hits.slice().sort(compareHits);
}
