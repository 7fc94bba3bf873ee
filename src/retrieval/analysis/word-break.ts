// Character classes for the UAX#29 word-break rules that Lucene's StandardTokenizer implements.
//
// Lucene 9 generates StandardTokenizerImpl with JFlex from a grammar over Unicode 9.0 Word_Break
// properties, plus emoji properties that Lucene generated from Unicode 14 (ICU4J 70.1) in
// data/jflex/UnicodeEmojiProperties.jflex. JavaScript regexes have no \p{Word_Break=...}, so each
// class is rebuilt here from the properties it is derived from (UAX#29 §4.1, Table 3), using the
// engine's current Unicode version, except Extended_Pictographic, which later Unicode versions
// shrank (U+2605 ★ left it), so its Unicode 14 ranges are listed below.
// Known approximations (none occurs in BEIR SciFact):
//  - characters assigned after Unicode 9 are classified by today's properties;
//  - Format excludes only U+200B..U+200D (Unicode 9 had no Prepend exclusion either);
//  - Line_Break=Complex_Context is approximated by letters of the Southeast Asian scripts, so a
//    Thai/Lao/... combining mark that starts a token is dropped instead of starting one;
//  - a code point that is both Han and ALetter (U+3005 々) is treated as Han only.

// Word_Break classes (low 5 bits of the packed class).
export const WB_OTHER = 0;
export const WB_ALETTER = 1;
export const WB_HEBREW = 2; // Hebrew_Letter (also an AHLetter)
export const WB_NUMERIC = 3;
export const WB_KATAKANA = 4;
export const WB_EXTENDNUMLET = 5;
export const WB_MIDLETTER = 6;
export const WB_MIDNUM = 7;
export const WB_MIDNUMLET = 8;
export const WB_SINGLE_QUOTE = 9;
export const WB_DOUBLE_QUOTE = 10;
export const WB_EXTEND = 11; // Extend | Format: absorbed by the preceding character (WB4)
export const WB_ZWJ = 12; // absorbed like Extend, and joins emoji
export const WB_HAN = 13;
export const WB_HIRAGANA = 14;
export const WB_COMPLEX = 15; // Line_Break=Complex_Context (Thai, Lao, Myanmar, Khmer, ...)
export const WB_REGIONAL = 16; // Regional_Indicator
export const WB_MASK = 31;

// Emoji flags (bits above the class), after the grammar's emoji macros.
export const EM_CHAR = 32; // Extended_Pictographic (Unicode 14), or Emoji minus {RI, [0-9#*], ©®™〰〽, Emoji_Modifier}
export const EM_MOD_BASE = 64;
export const EM_MOD = 128;
export const EM_KEYCAP_BASE = 256; // [0-9#*]

const RE_EXTEND = /[\p{Grapheme_Extend}\p{Mc}]/u;
const RE_FORMAT = /\p{Cf}/u;
const RE_KATAKANA = /[\p{Script=Katakana}\u3031-\u3035\u309b\u309c\u30a0\u30fc\uff70]/u;
const RE_HEBREW = /\p{Script=Hebrew}/u;
const RE_LO = /\p{Lo}/u;
// UAX#29 ALetter: Alphabetic, or one of these listed non-alphabetic characters.
const RE_ALPHA = /[\p{Alphabetic}\u02c2-\u02c5\u02d2-\u02d7\u02de\u02df\u02e5-\u02eb\u02ed\u02ef-\u02ff\u055a-\u055c\u055e\u058a\u05f3\ua708-\ua716\ua720\ua721\ua789\ua78a\uab5b]/u;
const RE_IDEOGRAPHIC = /\p{Ideographic}/u;
const RE_HAN = /\p{Script=Han}/u;
const RE_HIRAGANA = /\p{Script=Hiragana}/u;
const RE_SEA_LETTER =
  /[\p{Script=Thai}\p{Script=Lao}\p{Script=Myanmar}\p{Script=Khmer}\p{Script=Tai_Le}\p{Script=New_Tai_Lue}\p{Script=Tai_Tham}\p{Script=Tai_Viet}\p{Script=Ahom}]/u;
const RE_LETTER = /\p{L}/u;
const RE_ND = /\p{Nd}/u;
const RE_PC = /\p{Pc}/u;
const RE_EMOJI = /\p{Emoji}/u;
const RE_EMOJI_MOD = /\p{Emoji_Modifier}/u;
const RE_EMOJI_MOD_BASE = /\p{Emoji_Modifier_Base}/u;

// Extended_Pictographic in Unicode 14 emoji-data.txt, as [first, last] code point ranges.
// prettier-ignore
const EXT_PICT_14: readonly number[] = [
  0xa9, 0xa9, 0xae, 0xae, 0x203c, 0x203c, 0x2049, 0x2049, 0x2122, 0x2122, 0x2139, 0x2139,
  0x2194, 0x2199, 0x21a9, 0x21aa, 0x231a, 0x231b, 0x2328, 0x2328, 0x2388, 0x2388, 0x23cf, 0x23cf,
  0x23e9, 0x23f3, 0x23f8, 0x23fa, 0x24c2, 0x24c2, 0x25aa, 0x25ab, 0x25b6, 0x25b6, 0x25c0, 0x25c0,
  0x25fb, 0x25fe, 0x2600, 0x2605, 0x2607, 0x2612, 0x2614, 0x2685, 0x2690, 0x2705, 0x2708, 0x2712,
  0x2714, 0x2714, 0x2716, 0x2716, 0x271d, 0x271d, 0x2721, 0x2721, 0x2728, 0x2728, 0x2733, 0x2734,
  0x2744, 0x2744, 0x2747, 0x2747, 0x274c, 0x274c, 0x274e, 0x274e, 0x2753, 0x2755, 0x2757, 0x2757,
  0x2763, 0x2767, 0x2795, 0x2797, 0x27a1, 0x27a1, 0x27b0, 0x27b0, 0x27bf, 0x27bf, 0x2934, 0x2935,
  0x2b05, 0x2b07, 0x2b1b, 0x2b1c, 0x2b50, 0x2b50, 0x2b55, 0x2b55, 0x3030, 0x3030, 0x303d, 0x303d,
  0x3297, 0x3297, 0x3299, 0x3299, 0x1f000, 0x1f0ff, 0x1f10d, 0x1f10f, 0x1f12f, 0x1f12f,
  0x1f16c, 0x1f171, 0x1f17e, 0x1f17f, 0x1f18e, 0x1f18e, 0x1f191, 0x1f19a, 0x1f1ad, 0x1f1e5,
  0x1f201, 0x1f20f, 0x1f21a, 0x1f21a, 0x1f22f, 0x1f22f, 0x1f232, 0x1f23a, 0x1f23c, 0x1f23f,
  0x1f249, 0x1f3fa, 0x1f400, 0x1f53d, 0x1f546, 0x1f64f, 0x1f680, 0x1f6ff, 0x1f774, 0x1f77f,
  0x1f7d5, 0x1f7ff, 0x1f80c, 0x1f80f, 0x1f848, 0x1f84f, 0x1f85a, 0x1f85f, 0x1f888, 0x1f88f,
  0x1f8ae, 0x1f8ff, 0x1f90c, 0x1f93a, 0x1f93c, 0x1f945, 0x1f947, 0x1faff, 0x1fc00, 0x1fffd,
];

function isExtPict14(cp: number): boolean {
  for (let i = 0; i < EXT_PICT_14.length; i += 2) {
    if (cp < EXT_PICT_14[i]!) return false;
    if (cp <= EXT_PICT_14[i + 1]!) return true;
  }
  return false;
}

const MIDLETTER = new Set([0x3a, 0xb7, 0x387, 0x5f4, 0x2027, 0xfe13, 0xfe55, 0xff1a]);
const MIDNUM = new Set([
  0x2c, 0x3b, 0x37e, 0x589, 0x60c, 0x60d, 0x66c, 0x7f8, 0x2044, 0xfe10, 0xfe14, 0xfe50, 0xfe54, 0xff0c, 0xff1b,
]);
const MIDNUMLET = new Set([0x2e, 0x2018, 0x2019, 0x2024, 0xfe52, 0xff07, 0xff0e]);
const ACCIDENTAL_EMOJI = new Set([0xa9, 0xae, 0x2122, 0x3030, 0x303d]);
const NEWLINES = new Set([0x0a, 0x0b, 0x0c, 0x0d, 0x85, 0x2028, 0x2029]);

function wordBreakClass(cp: number, s: string): number {
  if (NEWLINES.has(cp)) return WB_OTHER;
  if (cp === 0x200d) return WB_ZWJ;
  if (cp === 0x22) return WB_DOUBLE_QUOTE;
  if (cp === 0x27) return WB_SINGLE_QUOTE;
  if (MIDLETTER.has(cp)) return WB_MIDLETTER;
  if (MIDNUM.has(cp)) return WB_MIDNUM;
  if (MIDNUMLET.has(cp)) return WB_MIDNUMLET;
  if (cp >= 0x1f1e6 && cp <= 0x1f1ff) return WB_REGIONAL;
  if (RE_EMOJI_MOD.test(s)) return WB_OTHER; // E_Modifier is its own class in Unicode 9
  if (RE_EXTEND.test(s)) return WB_EXTEND;
  if (RE_FORMAT.test(s)) return cp === 0x200b ? WB_OTHER : WB_EXTEND;
  if (cp === 0x202f || RE_PC.test(s)) return WB_EXTENDNUMLET;
  if (RE_ND.test(s) || cp === 0x66b) return WB_NUMERIC; // fullwidth digits too, as the grammar adds them
  if (RE_HAN.test(s)) return WB_HAN;
  if (RE_HIRAGANA.test(s)) return WB_HIRAGANA;
  if (RE_KATAKANA.test(s)) return WB_KATAKANA;
  if (RE_SEA_LETTER.test(s) && RE_LETTER.test(s)) return WB_COMPLEX;
  if (RE_HEBREW.test(s) && RE_LO.test(s)) return WB_HEBREW;
  if (RE_ALPHA.test(s) && !RE_IDEOGRAPHIC.test(s)) return WB_ALETTER;
  return WB_OTHER;
}

function emojiFlags(cp: number, s: string): number {
  let f = 0;
  const keycap = (cp >= 0x30 && cp <= 0x39) || cp === 0x23 || cp === 0x2a;
  if (keycap) f |= EM_KEYCAP_BASE;
  const mod = RE_EMOJI_MOD.test(s);
  if (mod) f |= EM_MOD;
  if (RE_EMOJI_MOD_BASE.test(s)) f |= EM_MOD_BASE;
  const rkam = keycap || mod || ACCIDENTAL_EMOJI.has(cp) || (cp >= 0x1f1e6 && cp <= 0x1f1ff);
  if (isExtPict14(cp) || (RE_EMOJI.test(s) && !rkam)) f |= EM_CHAR;
  return f;
}

/** Packed class of a code point: Word_Break class | emoji flags. */
export function classify(cp: number): number {
  const s = String.fromCodePoint(cp);
  return wordBreakClass(cp, s) | emojiFlags(cp, s);
}

// ASCII from a table, the rest computed once and cached (a corpus has few distinct code points).
const ASCII = new Uint16Array(128).map((_, cp) => classify(cp));
const cache = new Map<number, number>();

export function classOf(cp: number): number {
  if (cp < 128) return ASCII[cp]!;
  let c = cache.get(cp);
  if (c === undefined) {
    c = classify(cp);
    cache.set(cp, c);
  }
  return c;
}
