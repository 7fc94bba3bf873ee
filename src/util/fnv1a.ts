// FNV-1a (32-bit), the project's one short content fingerprint: run-state config keys, training-data
// keys of the retriever and DPO trainers. Not a checksum against tampering (use sha256 for files);
// a cheap way to tell "same inputs" from "other inputs" when resuming.

const OFFSET_BASIS = 0x811c9dc5;
const PRIME = 0x01000193;

/** Incremental FNV-1a over 32-bit integers (a string is fed as its UTF-16 code units). */
export class Fnv1a {
  private h = OFFSET_BASIS;

  /** Mixes one integer (its low 32 bits). */
  add(value: number): this {
    this.h = Math.imul(this.h ^ value, PRIME);
    return this;
  }

  addString(text: string): this {
    for (let i = 0; i < text.length; i++) this.h = Math.imul(this.h ^ text.charCodeAt(i), PRIME);
    return this;
  }

  /** The hash as an unsigned hex string (no padding). */
  hex(): string {
    return (this.h >>> 0).toString(16);
  }
}

/** FNV-1a of a string's UTF-16 code units, unpadded hex. */
export function fnv1aHex(text: string): string {
  return new Fnv1a().addString(text).hex();
}
