// Node only (the runner and tests; the browser never imports it): positioned reads of a byte range from
// an open file, clamped to the file's size, for every reader that seeks (zip central directory, GGUF
// tensors) instead of streaming.
import type { FileHandle } from 'node:fs/promises';

/** Bytes [offset, offset + length) of a file of `size` bytes, clamped; shorter if the file shrank meanwhile. */
export async function readFileRange(fh: FileHandle, size: number, offset: number, length: number): Promise<Uint8Array> {
  const from = Math.max(0, Math.min(offset, size));
  const len = Math.max(0, Math.min(offset + length, size) - from);
  const buf = new Uint8Array(len);
  let got = 0;
  while (got < len) {
    const { bytesRead } = await fh.read(buf, got, len - got, from + got);
    if (bytesRead === 0) break; // the file shrank while we read it
    got += bytesRead;
  }
  return got === len ? buf : buf.subarray(0, got);
}
