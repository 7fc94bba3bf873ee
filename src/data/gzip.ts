// Streaming gunzip through fflate, with the end-of-data checks fflate leaves out: fflate's Gunzip
// accepts a stream cut inside its 8-byte trailer and does not verify the CRC, so both are checked here.
// Input is fed in small pieces so that one step never inflates more than a few MiB (limits.ts).
import { Gunzip } from 'fflate';
import { BeirFormatError } from '../errors.ts';
import { formatBytes } from '../util/format.ts';
import { Crc32 } from './hash.ts';
import { feedPieces, InflateGuard, MAX_SILENT_INPUT_BYTES } from './limits.ts';

/** The shortest valid gzip member: 10-byte header, 2-byte empty deflate block, 8-byte trailer. */
const MIN_GZIP_BYTES = 20;

function damaged(label: string, detail: string): BeirFormatError {
  return new BeirFormatError(
    label,
    null,
    `the gzip data is ${detail}`,
    'Re-download the file (or gzip it again from the original); the file is truncated or damaged',
  );
}

/**
 * Decompresses a gzip byte stream. Concatenated members (as `cat a.gz b.gz` or bgzip make) are read
 * through; the CRC-32 and length of the last member are verified against its trailer, which catches
 * a truncated download whichever byte it stops at. With `maxInflateRatio`, a stream that inflates more
 * than that many times its compressed size (past INFLATE_RATIO_AFTER_BYTES) ends in a DataLimitError.
 */
export async function* gunzipChunks(raw: AsyncIterable<Uint8Array>, label: string, maxInflateRatio?: number): AsyncGenerator<Uint8Array> {
  const out: Uint8Array[] = [];
  let crc = new Crc32();
  let outLen = 0;
  const guard = new InflateGuard(label, maxInflateRatio);
  const g = new Gunzip();
  g.ondata = (chunk) => {
    if (chunk.length === 0) return;
    crc.update(chunk);
    outLen += chunk.length;
    out.push(chunk);
  };
  // A new member starts: the trailer at the end of the input belongs to the last member only.
  g.onmember = () => {
    crc = new Crc32();
    outLen = 0;
  };
  const tail = new Uint8Array(8); // the last 8 input bytes, i.e. the last member's trailer
  let rawLen = 0;
  let silent = 0; // input bytes since the last output
  const push = (chunk: Uint8Array, final: boolean) => {
    try {
      g.push(chunk, final);
    } catch (e) {
      throw damaged(label, `truncated or corrupt (${(e as Error).message})`);
    }
  };
  for await (const chunk of raw) {
    rawLen += chunk.length;
    if (chunk.length >= 8) tail.set(chunk.subarray(chunk.length - 8));
    else {
      tail.copyWithin(0, chunk.length);
      tail.set(chunk, 8 - chunk.length);
    }
    for (const piece of feedPieces(chunk)) {
      push(piece, false);
      guard.consumed(piece.length);
      silent = out.length > 0 ? 0 : silent + piece.length;
      if (silent > MAX_SILENT_INPUT_BYTES) {
        throw damaged(label, `corrupt: ${formatBytes(silent)} of it gave no data (a header that never ends, or not gzip at all)`);
      }
      yield* guard.pass(out.splice(0));
    }
  }
  if (rawLen < MIN_GZIP_BYTES) throw damaged(label, rawLen === 0 ? 'empty' : 'truncated (shorter than a gzip header)');
  push(new Uint8Array(0), true);
  yield* guard.pass(out.splice(0));
  const view = new DataView(tail.buffer);
  if (view.getUint32(0, true) !== crc.value() || view.getUint32(4, true) !== outLen % 2 ** 32) {
    throw damaged(label, 'truncated or corrupt (its CRC-32 or length does not match the data)');
  }
}
