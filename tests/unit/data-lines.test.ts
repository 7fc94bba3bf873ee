// Bytes → lines: every chunking gives the same lines; CRLF, BOM, multi-byte characters across chunks,
// invalid UTF-8, and the line-length limit.
import { describe, expect, it } from 'vitest';
import { BeirFormatError } from '../../src/errors.ts';
import { LineSplitter } from '../../src/data/lines.ts';

const enc = (s: string) => new TextEncoder().encode(s);

/** Splits `data` fed in chunks of `size`; returns [line number, text] pairs. */
function split(data: Uint8Array, size: number, max?: number): { lines: [number, string][]; s: LineSplitter } {
  const s = new LineSplitter('f.jsonl', max);
  const lines: [number, string][] = [];
  const on = (t: string, n: number) => void lines.push([n, t]);
  for (let i = 0; i < data.length; i += size) s.push(data.slice(i, i + size), on);
  s.finish(on);
  return { lines, s };
}

describe('LineSplitter', () => {
  const text = '{"a":1}\n\n{"b":"é中😀"}\r\nlast line without newline';
  const expected: [number, string][] = [
    [1, '{"a":1}'],
    [2, ''],
    [3, '{"b":"é中😀"}'],
    [4, 'last line without newline'],
  ];

  it('gives the same lines for every chunk size (multi-byte characters split across chunks)', () => {
    const data = enc(text);
    for (let size = 1; size <= data.length + 1; size++) expect(split(data, size).lines).toEqual(expected);
  });

  it('strips a byte-order mark and CRLF', () => {
    const data = enc('\uFEFFfirst\r\nsecond\r\n');
    for (const size of [1, 2, 3, 100]) expect(split(data, size).lines).toEqual([[1, 'first'], [2, 'second']]);
  });

  it('emits no extra line after a final newline, and none for empty input', () => {
    expect(split(enc('a\n'), 10).lines).toEqual([[1, 'a']]);
    expect(split(enc(''), 10).lines).toEqual([]);
  });

  it('replaces invalid UTF-8 and counts the lines where it happened', () => {
    const data = new Uint8Array([...enc('ok\n'), 0x61, 0xff, 0x62, 0x0a, ...enc('ok\n')]);
    const { lines, s } = split(data, 2);
    expect(lines[1]).toEqual([2, 'a\uFFFDb']);
    expect(s.invalidUtf8).toBe(1);
    expect(s.invalidUtf8Lines).toEqual([2]);
  });

  it('rejects a line over the limit with its file and line number, whether or not it spans chunks', () => {
    const data = enc('short\n' + 'x'.repeat(50) + '\nshort\n');
    for (const size of [4, 1000]) {
      let err: unknown;
      try {
        split(data, size, 40);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(BeirFormatError);
      expect((err as BeirFormatError).line).toBe(2);
      expect((err as Error).message).toMatch(/^f\.jsonl line 2: the line is longer than 40 B\./);
    }
  });

  it('accepts a line exactly at the limit', () => {
    expect(split(enc('x'.repeat(40) + '\n'), 7, 40).lines).toEqual([[1, 'x'.repeat(40)]]);
  });
});
