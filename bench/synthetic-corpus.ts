// A synthetic BEIR corpus N× the size of a real one: each document repeated N times with a new id and
// its words rotated (so copies are not byte-identical), gzipped as a stream; queries and qrels copied.
import { createReadStream, createWriteStream, copyFileSync, mkdirSync } from 'node:fs';
import { createGunzip, createGzip } from 'node:zlib';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { once } from 'node:events';

export async function writeSyntheticCorpus(srcDir: string, outDir: string, scale: number): Promise<void> {
  mkdirSync(join(outDir, 'qrels'), { recursive: true });
  for (const f of ['queries.jsonl', 'qrels/test.tsv', 'qrels/train.tsv']) copyFileSync(join(srcDir, f), join(outDir, f));
  const gz = createGzip();
  const done = new Promise<void>((res, rej) => gz.pipe(createWriteStream(join(outDir, 'corpus.jsonl.gz'))).on('finish', () => res()).on('error', rej));
  for (let r = 0; r < scale; r++) {
    const lines = createInterface({ input: createReadStream(join(srcDir, 'corpus.jsonl.gz')).pipe(createGunzip()) });
    for await (const line of lines) {
      const doc = JSON.parse(line) as { _id: string; title: string; text: string };
      const words = doc.text.split(' ');
      const shift = r % Math.max(1, words.length);
      const text = r === 0 ? doc.text : [...words.slice(shift), ...words.slice(0, shift)].join(' ');
      if (!gz.write(JSON.stringify({ _id: r === 0 ? doc._id : `${doc._id}-${r}`, title: doc.title, text }) + '\n')) await once(gz, 'drain');
    }
  }
  gz.end();
  await done;
}
