// llama2.c's tokenizer (tokenizer.bin / tok512.bin) with its BPE encode and its decode, as run.c does
// them (karpathy/llama2.c run.c: build_tokenizer, encode, decode, safe_printf).
//
// File: int32 max_token_length, then per token: float32 score, int32 byte length, the piece's bytes (the
// SentencePiece piece with '▁' already turned into ' '). Ids 0, 1, 2 are <unk>, <s> (BOS), </s> (EOS);
// ids 3..258 are the byte-fallback tokens <0x00>..<0xFF>. Pieces are kept as "binary strings" (one char
// per byte) so that concatenation and lookup are byte-exact, like the C strcmp/sprintf they mirror.
import { ModelFormatError } from '../errors.ts';
import type { ChatMessage, DecoderTokenizer } from './tokenizer.ts';

const BOS = 1;
const EOS = 2;
/** Byte b is token b + 3 under byte fallback (after <unk>, <s>, </s>). */
const BYTE_OFFSET = 3;

const toBinary = (bytes: Uint8Array): string => {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
};

export class Llama2cTokenizer implements DecoderTokenizer {
  readonly bosId = BOS;
  readonly eosIds = [EOS, BOS] as const; // run.c stops on BOS (stories are delimited by it); EOS too
  readonly eosId = EOS;
  readonly padId = 0;
  readonly hasChatTemplate = false;
  private readonly lookup = new Map<string, number>();

  private constructor(
    readonly pieces: string[],
    readonly scores: Float32Array,
    readonly maxTokenLength: number,
  ) {
    // Duplicates (none in the shipped files) resolve to the lowest id.
    pieces.forEach((p, i) => {
      if (!this.lookup.has(p)) this.lookup.set(p, i);
    });
  }

  get vocabSize(): number {
    return this.pieces.length;
  }

  /** Parses a llama2.c tokenizer file; the vocabulary size comes from the model header (run.c does the same). */
  static read(bytes: Uint8Array, vocabSize: number, file = 'tokenizer.bin'): Llama2cTokenizer {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const fail = (problem: string) => new ModelFormatError(file, problem, 'Use the tokenizer .bin exported with this model (e.g. tok512.bin for stories260K)');
    if (bytes.byteLength < 4) throw fail('shorter than its 4-byte header');
    const maxTokenLength = view.getInt32(0, true);
    let at = 4;
    const pieces: string[] = [];
    const scores = new Float32Array(vocabSize);
    for (let i = 0; i < vocabSize; i++) {
      if (at + 8 > bytes.byteLength) throw fail(`ends after ${i} of ${vocabSize} tokens: it belongs to a model with a smaller vocabulary`);
      scores[i] = view.getFloat32(at, true);
      const len = view.getInt32(at + 4, true);
      at += 8;
      if (len < 0 || at + len > bytes.byteLength) throw fail(`token ${i} has an invalid length ${len}`);
      pieces.push(toBinary(bytes.subarray(at, at + len)));
      at += len;
    }
    if (at !== bytes.byteLength) throw fail(`${bytes.byteLength - at} bytes left after ${vocabSize} tokens: it belongs to a model with a larger vocabulary`);
    return new Llama2cTokenizer(pieces, scores, maxTokenLength);
  }

  /** run.c `encode(text, bos, eos)`: dummy-prefix space, code points (or their bytes), then greedy BPE merges by score. */
  encode(text: string, opts: { addSpecialTokens?: boolean; eos?: boolean } = {}): number[] {
    const bytes = new TextEncoder().encode(text.split('\0')[0]); // C strings end at NUL
    const tokens: number[] = [];
    if (opts.addSpecialTokens ?? true) tokens.push(BOS);
    if (bytes.length > 0) {
      const space = this.lookup.get(' ');
      if (space === undefined) throw new ModelFormatError('tokenizer', 'no " " token for the dummy prefix', 'Use a llama2.c tokenizer exported from SentencePiece');
      tokens.push(space);
    }
    let buf: number[] = [];
    for (let i = 0; i < bytes.length; i++) {
      if ((bytes[i] & 0xc0) !== 0x80) buf = []; // not a continuation byte: a new code point starts
      buf.push(bytes[i]);
      const next = i + 1 < bytes.length ? bytes[i + 1] : 0;
      if ((next & 0xc0) === 0x80 && buf.length < 4) continue;
      const id = this.lookup.get(String.fromCharCode(...buf));
      if (id !== undefined) tokens.push(id);
      else for (const b of buf) tokens.push(b + BYTE_OFFSET); // byte fallback
      buf = [];
    }
    // Merge the adjacent pair whose merged piece scores best, until no pair is in the vocabulary.
    for (;;) {
      let bestScore = -1e10;
      let bestId = -1;
      let bestIdx = -1;
      for (let i = 0; i < tokens.length - 1; i++) {
        const id = this.lookup.get(this.pieces[tokens[i]] + this.pieces[tokens[i + 1]]);
        if (id !== undefined && this.scores[id] > bestScore) {
          bestScore = this.scores[id];
          bestId = id;
          bestIdx = i;
        }
      }
      if (bestIdx === -1) break;
      tokens.splice(bestIdx, 2, bestId);
    }
    if (opts.eos) tokens.push(EOS);
    return tokens;
  }

  /**
   * run.c `decode(prev, token)` + `safe_printf`: the space after BOS is dropped, <0xNN> pieces become the
   * byte, lone control bytes are skipped. Unlike safe_printf (C locale), bytes ≥ 0x80 are kept so that
   * byte-fallback UTF-8 decodes to its characters instead of vanishing.
   */
  pieceBytes(prev: number, token: number): number[] {
    let piece = this.pieces[token];
    if (piece === undefined) throw new RangeError(`token ${token} is outside the vocabulary (${this.vocabSize})`);
    if (prev === BOS && piece[0] === ' ') piece = piece.slice(1);
    const byte = /^<0x([0-9A-Fa-f]{1,2})/.exec(piece); // sscanf(piece, "<0x%02hhX>")
    const out = byte ? [parseInt(byte[1], 16)] : [...piece].map((ch) => ch.charCodeAt(0));
    if (out.length === 1 && !isPrintOrSpace(out[0])) return [];
    return out;
  }

  decode(ids: readonly number[], opts: { previous?: number } = {}): string {
    const bytes: number[] = [];
    let prev = opts.previous ?? -1;
    for (const id of ids) {
      if (id !== BOS && id !== EOS) bytes.push(...this.pieceBytes(prev, id));
      prev = id;
    }
    return new TextDecoder().decode(new Uint8Array(bytes));
  }

  applyChatTemplate(_messages: ChatMessage[]): string {
    throw new ModelFormatError('tokenizer', 'a llama2.c tokenizer has no chat template', 'Send the prompt as plain text (generate without a chat template)');
  }
}

/** C isprint || isspace in the C locale, with bytes ≥ 0x80 let through (see pieceBytes). */
function isPrintOrSpace(b: number): boolean {
  return (b >= 0x20 && b < 0x7f) || (b >= 0x09 && b <= 0x0d) || b >= 0x80;
}
