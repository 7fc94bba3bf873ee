// Checksums of stored bulk data (embedding chunks and trainer checkpoints in IndexedDB): FNV-1a with the
// 32-bit constants of fnv1a.ts, fed the content as little-endian 32-bit words, so a typed array costs one
// step per 4 bytes (about 4× the byte-wise CRC-32 of data/hash.ts in JS here, which matters for a
// checkpoint of hundreds of MB; WebCrypto's SHA-256 was no faster on these CPUs and is async-only).
// Against damage, not tampering: each step is a bijection of the running hash, so any one changed word
// changes the result, and lengths go in too, so a truncated array does as well.

const OFFSET_BASIS = 0x811c9dc5;
const PRIME = 0x01000193;

// Scratch views for a number's float64 bits.
const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);

export class ContentChecksum {
  private h = OFFSET_BASIS;
  /** Content bytes fed so far (typed arrays' bytes, 2 per string code unit, 8 per number): a size estimate. */
  bytes = 0;

  /** Mixes one 32-bit word. */
  word(w: number): this {
    this.h = Math.imul(this.h ^ w, PRIME);
    return this;
  }

  /** Mixes a typed array's bytes (its length first), 4 bytes a step; a tail of 1-3 bytes is one last word. */
  view(v: ArrayBufferView): this {
    const n = v.byteLength;
    this.word(n);
    this.bytes += n;
    const whole = n >>> 2;
    if (v.byteOffset % 4 === 0) {
      const w = new Uint32Array(v.buffer, v.byteOffset, whole);
      let h = this.h;
      for (let i = 0; i < whole; i++) h = Math.imul(h ^ w[i], PRIME);
      this.h = h;
    } else {
      const b = new Uint8Array(v.buffer, v.byteOffset, n);
      for (let i = 0; i < whole * 4; i += 4) this.word(b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24));
    }
    if (n % 4) {
      const b = new Uint8Array(v.buffer, v.byteOffset + whole * 4, n % 4);
      let last = 0;
      for (let i = 0; i < b.length; i++) last |= b[i] << (8 * i);
      this.word(last);
    }
    return this;
  }

  string(s: string): this {
    this.bytes += 2 * s.length;
    return this.label(s);
  }

  /** Mixes a string that describes content rather than being it (a type name): not counted in `bytes`. */
  label(s: string): this {
    this.word(s.length);
    for (let i = 0; i < s.length; i++) this.h = Math.imul(this.h ^ s.charCodeAt(i), PRIME);
    return this;
  }

  number(x: number): this {
    F64[0] = x;
    this.bytes += 8;
    return this.word(U32[0]).word(U32[1]);
  }

  /** 8 hex digits. */
  hex(): string {
    return (this.h >>> 0).toString(16).padStart(8, '0');
  }
}

/** Type tags, so that e.g. the string '1' and the number 1, or [] and {}, never feed the same words. */
const enum Tag {
  Undefined = 1,
  Null,
  Boolean,
  Number,
  String,
  BigInt,
  View,
  Buffer,
  Array,
  Map,
  Set,
  Date,
  Object,
}

/** Feeds a structured-cloneable value: objects by sorted keys, so a clone gives the same checksum. */
export function feedValue(c: ContentChecksum, v: unknown): void {
  if (v === undefined) c.word(Tag.Undefined);
  else if (v === null) c.word(Tag.Null);
  else if (typeof v === 'boolean') c.word(Tag.Boolean).word(v ? 1 : 0);
  else if (typeof v === 'number') c.word(Tag.Number).number(v);
  else if (typeof v === 'string') c.word(Tag.String).string(v);
  else if (typeof v === 'bigint') c.word(Tag.BigInt).string(v.toString());
  else if (ArrayBuffer.isView(v)) c.word(Tag.View).label(v.constructor.name).view(v);
  else if (v instanceof ArrayBuffer) c.word(Tag.Buffer).view(new Uint8Array(v));
  else if (Array.isArray(v)) {
    c.word(Tag.Array).word(v.length);
    for (const x of v) feedValue(c, x);
  } else if (v instanceof Map) {
    c.word(Tag.Map).word(v.size);
    for (const [k, x] of v) {
      feedValue(c, k);
      feedValue(c, x);
    }
  } else if (v instanceof Set) {
    c.word(Tag.Set).word(v.size);
    for (const x of v) feedValue(c, x);
  } else if (v instanceof Date) c.word(Tag.Date).number(v.getTime());
  else if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).sort();
    c.word(Tag.Object).word(keys.length);
    for (const k of keys) {
      c.string(k);
      feedValue(c, o[k]);
    }
  } else throw new TypeError(`Cannot checksum a ${typeof v}: stored records hold structured-cloneable data only`);
}

/** 'fnv1a32:<8 hex>' of a structured-cloneable value, and its content size in bytes. */
export function checksumValue(v: unknown): { checksum: string; bytes: number } {
  const c = new ContentChecksum();
  feedValue(c, v);
  return { checksum: `fnv1a32:${c.hex()}`, bytes: c.bytes };
}
