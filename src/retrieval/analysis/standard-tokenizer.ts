// Lucene's StandardTokenizer (UAX#29 word boundaries) as a hand-written longest-match scanner.
//
// Reference: lucene/core/.../analysis/standard/StandardTokenizerImpl.jflex (Lucene 9.12). Its rules,
// each with trailing (Extend | Format | ZWJ)* absorbed (WB4):
//   EMOJI   emoji char / presentation / modifier sequences joined by ZWJ, keycaps, flag pairs
//   WORD    ExtendNumLet* (Katakana (ExtendNumLet* Katakana)*
//                          | (Hebrew (SingleQuote | DoubleQuote Hebrew)
//                             | Numeric ((ExtendNumLet* | MidNum) Numeric)*
//                             | AHLetter ((ExtendNumLet* | MidLetter) AHLetter)*)+)
//           (ExtendNumLet+ <same>)* ExtendNumLet*          (MidNum/MidLetter include MidNumLet, ')
//   SOUTHEAST_ASIAN  Complex_Context+;   IDEOGRAPHIC  one Han;   HIRAGANA  one hiragana
//   anything else    skipped, one code point at a time
// The scanner takes the longest of these at each position, as the JFlex DFA does.
//
// The 255-char limit: JFlex scans in a 255-char buffer (StandardTokenizer.setMaxTokenLength sets
// the buffer size), and a token that would run past it ends where the buffer ends, so a long word
// comes out in pieces of at most 255 UTF-16 units (a high surrogate at the edge waits for the next
// piece). We reproduce that by giving every scan a window [start, start + 255).
import {
  classOf, WB_MASK, WB_ALETTER, WB_HEBREW, WB_NUMERIC, WB_KATAKANA, WB_EXTENDNUMLET, WB_MIDLETTER,
  WB_MIDNUM, WB_MIDNUMLET, WB_SINGLE_QUOTE, WB_DOUBLE_QUOTE, WB_EXTEND, WB_ZWJ, WB_HAN, WB_HIRAGANA,
  WB_COMPLEX, WB_REGIONAL, EM_CHAR, EM_MOD_BASE, EM_MOD, EM_KEYCAP_BASE,
} from './word-break.ts';

/** Lucene's StandardAnalyzer.DEFAULT_MAX_TOKEN_LENGTH (UTF-16 units). */
export const MAX_TOKEN_LENGTH = 255;

const KEYCAP = 0x20e3;
const VS15 = 0xfe0e;
const VS16 = 0xfe0f; // emoji presentation selector

function cpAt(s: string, i: number, end: number): number {
  const c = s.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < end) {
    const d = s.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
  }
  return c;
}
const width = (cp: number) => (cp > 0xffff ? 2 : 1);

function isAbsorbed(cls: number): boolean {
  const wb = cls & WB_MASK;
  return wb === WB_EXTEND || wb === WB_ZWJ;
}

/** End of the run of Extend/Format/ZWJ starting at i (WB4). `sansPresSel` stops at FE0E/FE0F. */
function skipExt(s: string, i: number, end: number, sansPresSel = false): number {
  while (i < end) {
    const cp = cpAt(s, i, end);
    if (!isAbsorbed(classOf(cp)) || (sansPresSel && (cp === VS15 || cp === VS16))) break;
    i += width(cp);
  }
  return i;
}

// Word states: what the last core character was.
const S_NONE = 0, S_AH = 1, S_HEBREW = 2, S_NUM = 3, S_KATA = 4, S_ENL = 5, S_HEB_QUOTE = 6;

/** End of the longest WORD/NUMERIC/KATAKANA/HANGUL match at `start`, or `start` if none. */
function matchWord(s: string, start: number, end: number): number {
  let pos = start;
  let accept = start;
  let state = S_NONE;
  let hasCore = false; // ExtendNumLet alone is not a token
  while (pos < end) {
    const cp = cpAt(s, pos, end);
    const wb = classOf(cp) & WB_MASK;
    let next = -1; // state after this character, or -1 to stop
    let after = pos + width(cp);
    const letter = wb === WB_ALETTER || wb === WB_HEBREW;
    const ahLike = state === S_AH || state === S_HEBREW;
    if (wb === WB_EXTENDNUMLET) next = S_ENL;
    else if (letter || wb === WB_NUMERIC) {
      if (state !== S_KATA) next = wb === WB_NUMERIC ? S_NUM : wb === WB_HEBREW ? S_HEBREW : S_AH;
    } else if (wb === WB_KATAKANA) {
      if (state === S_NONE || state === S_KATA || state === S_ENL) next = S_KATA;
    } else if (wb === WB_MIDLETTER || wb === WB_MIDNUM || wb === WB_MIDNUMLET || wb === WB_SINGLE_QUOTE) {
      // WB6/7 (letters) and WB11/12 (numbers): a mid character only between two of the same kind.
      const midOk = ahLike ? wb !== WB_MIDNUM : state === S_NUM ? wb !== WB_MIDLETTER : false;
      const j = skipExt(s, after, end);
      if (midOk && j < end) {
        const cp2 = cpAt(s, j, end);
        const wb2 = classOf(cp2) & WB_MASK;
        const ok = ahLike ? wb2 === WB_ALETTER || wb2 === WB_HEBREW : wb2 === WB_NUMERIC;
        if (ok) {
          next = wb2 === WB_NUMERIC ? S_NUM : wb2 === WB_HEBREW ? S_HEBREW : S_AH;
          after = j + width(cp2);
        }
      }
      if (next < 0 && state === S_HEBREW && wb === WB_SINGLE_QUOTE) next = S_HEB_QUOTE; // WB7a
    } else if (wb === WB_DOUBLE_QUOTE && state === S_HEBREW) {
      const j = skipExt(s, after, end); // WB7b/c: Hebrew " Hebrew
      if (j < end) {
        const cp2 = cpAt(s, j, end);
        if ((classOf(cp2) & WB_MASK) === WB_HEBREW) {
          next = S_HEBREW;
          after = j + width(cp2);
        }
      }
    }
    if (next < 0) break;
    if (next !== S_ENL) hasCore = true;
    state = next;
    pos = skipExt(s, after, end);
    if (hasCore) accept = pos;
  }
  return accept;
}

/** One emoji_character / presentation / modifier sequence at i (after optional ZWJs), or -1. */
function matchEmojiElement(s: string, i: number, end: number): number {
  while (i < end && s.charCodeAt(i) === 0x200d) i++;
  if (i >= end) return -1;
  const cp = cpAt(s, i, end);
  const cls = classOf(cp);
  let best = -1;
  if (cls & EM_CHAR) {
    best = skipExt(s, i + width(cp), end, true);
    if (best < end && s.charCodeAt(best) === VS16) best++;
  }
  // (Emoji_Modifier_Base Ex)? Emoji_Modifier Ex
  let j = i;
  if (cls & EM_MOD_BASE) j = skipExt(s, i + width(cp), end, true);
  if (j < end) {
    const cp2 = cpAt(s, j, end);
    if (classOf(cp2) & EM_MOD) best = Math.max(best, skipExt(s, j + width(cp2), end, true));
  }
  return best;
}

/** End of the longest EMOJI match at `start`, or `start` if none. */
function matchEmoji(s: string, start: number, end: number): number {
  const cls = classOf(cpAt(s, start, end));
  let best = start;
  // element (ZWJ element)*. Without a trailing FE0F the separating ZWJ already sits at the end
  // of the element's Ex run; after FE0F it must follow directly.
  let e = matchEmojiElement(s, start, end);
  while (e >= 0) {
    best = e;
    let next: number;
    if (s.charCodeAt(e - 1) === 0x200d) next = e;
    else if (e < end && s.charCodeAt(e) === 0x200d) next = e + 1;
    else break;
    e = matchEmojiElement(s, next, end);
  }
  if (cls & EM_KEYCAP_BASE) {
    // [0-9#*] Ex FE0F? U+20E3 Ex: U+20E3 is itself Extend, so it may sit inside the first Ex run.
    const r = skipExt(s, start + 1, end, true);
    if (s.slice(start + 1, r).includes('\u20e3')) best = Math.max(best, r);
    if (r + 1 < end && s.charCodeAt(r) === VS16 && s.charCodeAt(r + 1) === KEYCAP) {
      best = Math.max(best, skipExt(s, r + 2, end, true));
    }
  }
  if ((cls & WB_MASK) === WB_REGIONAL) {
    const j = skipExt(s, start + 2, end);
    if (j < end && (classOf(cpAt(s, j, end)) & WB_MASK) === WB_REGIONAL) best = Math.max(best, skipExt(s, j + 2, end));
  }
  return best;
}

/** End of the token that starts at `start`, or `start` when the character there is skipped. */
function matchAt(s: string, start: number, end: number): number {
  const cp = cpAt(s, start, end);
  const cls = classOf(cp);
  const wb = cls & WB_MASK;
  let best = start;
  if (wb === WB_ALETTER || wb === WB_HEBREW || wb === WB_NUMERIC || wb === WB_KATAKANA || wb === WB_EXTENDNUMLET) {
    best = matchWord(s, start, end);
  } else if (wb === WB_HAN || wb === WB_HIRAGANA) {
    best = skipExt(s, start + width(cp), end);
  } else if (wb === WB_COMPLEX) {
    best = start;
    while (best < end) {
      const c = cpAt(s, best, end);
      if ((classOf(c) & WB_MASK) !== WB_COMPLEX) break;
      best = skipExt(s, best + width(c), end);
    }
  }
  if (cls & (EM_CHAR | EM_MOD_BASE | EM_MOD | EM_KEYCAP_BASE) || wb === WB_REGIONAL || wb === WB_ZWJ) {
    best = Math.max(best, matchEmoji(s, start, end));
  }
  return best;
}

/**
 * Splits text into tokens as Lucene's StandardTokenizer does (terms only; types, offsets and
 * position increments are not needed by EnglishAnalyzer). Calls `emit` with each token's text.
 */
export function standardTokenize(text: string, emit: (token: string) => void): void {
  const n = text.length;
  let i = 0;
  while (i < n) {
    // Fast path: spaces and ASCII punctuation that can start no token.
    const c = text.charCodeAt(i);
    if (c < 128 && classOf(c) === 0) {
      i++;
      continue;
    }
    let end = Math.min(n, i + MAX_TOKEN_LENGTH);
    const last = text.charCodeAt(end - 1);
    if (end < n && last >= 0xd800 && last <= 0xdbff) end--; // JFlex keeps a split surrogate pair for later
    const stop = matchAt(text, i, end);
    if (stop > i) {
      emit(text.slice(i, stop));
      i = stop;
    } else {
      i += width(cpAt(text, i, n));
    }
  }
}
