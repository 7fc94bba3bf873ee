// Synthetic BEIR folders of any number of documents with SciFact's lengths and words (bench/scale*.bench.ts):
// document i is SciFact document i mod 5,183, its words rotated by ⌊i / 5,183⌋ so that copies differ, with a
// new id after the first round. corpus.jsonl is plain JSON lines; queries.jsonl and qrels/test.tsv are
// SciFact's (every judged id is in the first round), so search runs the 300 real test queries.
import { createReadStream, createWriteStream, copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';

export const SCIFACT = join(import.meta.dirname, '../../shared/data/beir/scifact');

interface Doc {
  _id: string;
  title: string;
  text: string;
}

async function scifactDocs(): Promise<Doc[]> {
  const docs: Doc[] = [];
  const lines = createInterface({ input: createReadStream(join(SCIFACT, 'corpus.jsonl.gz')).pipe(createGunzip()) });
  for await (const line of lines) docs.push(JSON.parse(line) as Doc);
  return docs;
}

/** Writes `dir` (corpus.jsonl, queries.jsonl, qrels/test.tsv) with `n` documents unless it is already complete. */
export async function writeScaleCorpus(dir: string, n: number): Promise<{ bytes: number; reused: boolean }> {
  const done = join(dir, '.complete');
  if (existsSync(done) && readFileSync(done, 'utf8') === String(n)) return { bytes: statSync(join(dir, 'corpus.jsonl')).size, reused: true };
  mkdirSync(join(dir, 'qrels'), { recursive: true });
  copyFileSync(join(SCIFACT, 'queries.jsonl'), join(dir, 'queries.jsonl'));
  copyFileSync(join(SCIFACT, 'qrels/test.tsv'), join(dir, 'qrels/test.tsv'));
  const src = await scifactDocs();
  const out = createWriteStream(join(dir, 'corpus.jsonl'));
  let bytes = 0;
  let buf = '';
  for (let i = 0; i < n; i++) {
    const doc = src[i % src.length]!;
    const r = Math.floor(i / src.length);
    let text = doc.text;
    if (r > 0) {
      const words = doc.text.split(' ');
      const shift = r % Math.max(1, words.length);
      text = [...words.slice(shift), ...words.slice(0, shift)].join(' ');
    }
    buf += JSON.stringify({ _id: r === 0 ? doc._id : `${doc._id}-${r}`, title: doc.title, text }) + '\n';
    if (buf.length > 1 << 20) {
      bytes += Buffer.byteLength(buf);
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  bytes += Buffer.byteLength(buf);
  out.end(buf);
  await once(out, 'close');
  writeFileSync(done, String(n));
  return { bytes, reused: false };
}
