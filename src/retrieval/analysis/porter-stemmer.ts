// Lucene's PorterStemmer (org.apache.lucene.analysis.en.PorterStemmer, Lucene 9.12), ported
// step by step: Martin Porter's reference C implementation (release 3, with its departures from
// the 1980 paper: -bli → -ble, -logi → -log) as Brian Goetz adapted it for Lucene.
//
// Why not npm `stemmer` (Porter's regex-based JavaScript version): it decides consonant/vowel
// by regexes instead of Porter's recursive cons() and handles "eed" differently ("eed" → "e";
// Lucene keeps "eed", a term of SciFact's vocabulary). Over the 38,404 distinct SciFact tokens
// that is the only difference, but BM25 must equal Pyserini term for term, so we port Lucene's
// code; tests/unit/bm25-stemmer.test.ts pins it to Lucene's output.
//
// Characters are UTF-16 code units; anything but a, e, i, o, u (and y after a consonant) is a
// consonant, digits and non-ASCII letters included, as in Lucene.

const A = 97, E = 101, I = 105, O = 111, U = 117, Y = 121, S = 115, L = 108, Z = 122, W = 119, X = 120;

class Stemmer {
  b: number[] = [];
  k = 0; // index of the last character of the current word
  j = 0; // end of the stem before a matched suffix
  // k0 = 0: Lucene stems whole tokens.

  cons(i: number): boolean {
    switch (this.b[i]) {
      case A: case E: case I: case O: case U:
        return false;
      case Y:
        return i === 0 ? true : !this.cons(i - 1);
      default:
        return true;
    }
  }

  /** Number of VC sequences in b[0..j]: <c>(vc)^m<v>. */
  m(): number {
    let n = 0;
    let i = 0;
    const j = this.j;
    for (;;) {
      if (i > j) return n;
      if (!this.cons(i)) break;
      i++;
    }
    i++;
    for (;;) {
      for (;;) {
        if (i > j) return n;
        if (this.cons(i)) break;
        i++;
      }
      i++;
      n++;
      for (;;) {
        if (i > j) return n;
        if (!this.cons(i)) break;
        i++;
      }
      i++;
    }
  }

  vowelInStem(): boolean {
    for (let i = 0; i <= this.j; i++) if (!this.cons(i)) return true;
    return false;
  }

  doublec(j: number): boolean {
    if (j < 1) return false;
    if (this.b[j] !== this.b[j - 1]) return false;
    return this.cons(j);
  }

  cvc(i: number): boolean {
    if (i < 2 || !this.cons(i) || this.cons(i - 1) || !this.cons(i - 2)) return false;
    const ch = this.b[i];
    return !(ch === W || ch === X || ch === Y);
  }

  ends(s: string): boolean {
    const l = s.length;
    const o = this.k - l + 1;
    if (o < 0) return false;
    for (let i = 0; i < l; i++) if (this.b[o + i] !== s.charCodeAt(i)) return false;
    this.j = this.k - l;
    return true;
  }

  setto(s: string): void {
    const o = this.j + 1;
    for (let i = 0; i < s.length; i++) this.b[o + i] = s.charCodeAt(i);
    this.k = this.j + s.length;
  }

  r(s: string): void {
    if (this.m() > 0) this.setto(s);
  }

  /** Plurals and -ed, -ing. */
  step1(): void {
    const b = this.b;
    if (b[this.k] === S) {
      if (this.ends('sses')) this.k -= 2;
      else if (this.ends('ies')) this.setto('i');
      else if (b[this.k - 1] !== S) this.k--;
    }
    if (this.ends('eed')) {
      if (this.m() > 0) this.k--;
    } else if ((this.ends('ed') || this.ends('ing')) && this.vowelInStem()) {
      this.k = this.j;
      if (this.ends('at')) this.setto('ate');
      else if (this.ends('bl')) this.setto('ble');
      else if (this.ends('iz')) this.setto('ize');
      else if (this.doublec(this.k)) {
        const ch = b[this.k--];
        if (ch === L || ch === S || ch === Z) this.k++;
      } else if (this.m() === 1 && this.cvc(this.k)) this.setto('e');
    }
  }

  /** Terminal y → i when the stem has a vowel. */
  step2(): void {
    if (this.ends('y') && this.vowelInStem()) this.b[this.k] = I;
  }

  /** Double suffixes → single ones, keyed on the penultimate letter; first suffix that ends wins. */
  step3(): void {
    if (this.k === 0) return;
    const rules = STEP3[String.fromCharCode(this.b[this.k - 1]!)];
    if (rules) this.firstMatch(rules);
  }

  /** -ic-, -full, -ness etc., keyed on the last letter. */
  step4(): void {
    const rules = STEP4[String.fromCharCode(this.b[this.k]!)];
    if (rules) this.firstMatch(rules);
  }

  private firstMatch(rules: readonly (readonly [string, string])[]): void {
    for (const [suffix, repl] of rules) {
      if (this.ends(suffix)) {
        this.r(repl);
        return;
      }
    }
  }

  /** -ant, -ence etc. in context <c>vcvc<v>. */
  step5(): void {
    if (this.k === 0) return;
    const c = String.fromCharCode(this.b[this.k - 1]!);
    if (c === 'o') {
      const bj = () => this.b[this.j];
      if (!(this.ends('ion') && this.j >= 0 && (bj() === S || bj() === 116 /* t */)) && !this.ends('ou')) return;
    } else {
      const suffixes = STEP5[c];
      if (!suffixes || !suffixes.some((s) => this.ends(s))) return;
    }
    if (this.m() > 1) this.k = this.j;
  }

  /** Final -e when m > 1, and -ll → -l. */
  step6(): void {
    this.j = this.k;
    if (this.b[this.k] === E) {
      const a = this.m();
      if (a > 1 || (a === 1 && !this.cvc(this.k - 1))) this.k--;
    }
    if (this.b[this.k] === L && this.doublec(this.k) && this.m() > 1) this.k--;
  }

  stem(word: string): string {
    const n = word.length;
    if (n < 3) return word; // Lucene: only when k > k0 + 1
    const b = this.b;
    b.length = n;
    for (let i = 0; i < n; i++) b[i] = word.charCodeAt(i);
    this.k = n - 1;
    this.j = 0;
    this.step1();
    this.step2();
    this.step3();
    this.step4();
    this.step5();
    this.step6();
    return String.fromCharCode(...b.slice(0, this.k + 1));
  }
}

// Step tables in Lucene's order (order matters: the first suffix that ends the word is used).
const STEP3: Record<string, readonly (readonly [string, string])[]> = {
  a: [['ational', 'ate'], ['tional', 'tion']],
  c: [['enci', 'ence'], ['anci', 'ance']],
  e: [['izer', 'ize']],
  l: [['bli', 'ble'], ['alli', 'al'], ['entli', 'ent'], ['eli', 'e'], ['ousli', 'ous']],
  o: [['ization', 'ize'], ['ation', 'ate'], ['ator', 'ate']],
  s: [['alism', 'al'], ['iveness', 'ive'], ['fulness', 'ful'], ['ousness', 'ous']],
  t: [['aliti', 'al'], ['iviti', 'ive'], ['biliti', 'ble']],
  g: [['logi', 'log']],
};
const STEP4: Record<string, readonly (readonly [string, string])[]> = {
  e: [['icate', 'ic'], ['ative', ''], ['alize', 'al']],
  i: [['iciti', 'ic']],
  l: [['ical', 'ic'], ['ful', '']],
  s: [['ness', '']],
};
const STEP5: Record<string, readonly string[]> = {
  a: ['al'],
  c: ['ance', 'ence'],
  e: ['er'],
  i: ['ic'],
  l: ['able', 'ible'],
  n: ['ant', 'ement', 'ment', 'ent'],
  s: ['ism'],
  t: ['ate', 'iti'],
  u: ['ous'],
  v: ['ive'],
  z: ['ize'],
};

const shared = new Stemmer();

/** Porter stem of a lower-cased term, exactly as Lucene's PorterStemFilter computes it. */
export function porterStem(term: string): string {
  return shared.stem(term);
}
