// A small SciFact subset as a BEIR folder on disk (for browser tests on SwiftShader, which is slow):
// the first N train and test queries, their gold documents, and filler documents up to `docs`.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

export function writeScifactSubset(scifact: string, out: string, opts: { queries: number; docs: number }): void {
  const corpus = gunzipSync(readFileSync(join(scifact, 'corpus.jsonl.gz'))).toString('utf8').trim().split('\n');
  const qrels = (split: string) =>
    readFileSync(join(scifact, 'qrels', `${split}.tsv`), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'));
  const keep = new Set<string>();
  const splits: Record<string, string[][]> = {};
  for (const split of ['train', 'test']) {
    const rows = qrels(split);
    const qids = [...new Set(rows.map((r) => r[0]))].slice(0, opts.queries);
    splits[split] = rows.filter((r) => qids.includes(r[0]));
    for (const r of splits[split]) keep.add(r[1]);
  }
  const docs = corpus.filter((line) => keep.has(JSON.parse(line)._id));
  for (const line of corpus) {
    if (docs.length >= opts.docs) break;
    if (!keep.has(JSON.parse(line)._id)) docs.push(line);
  }
  const qidsKept = new Set(Object.values(splits).flatMap((rows) => rows.map((r) => r[0])));
  const queries = readFileSync(join(scifact, 'queries.jsonl'), 'utf8').trim().split('\n').filter((l) => qidsKept.has(JSON.parse(l)._id));
  mkdirSync(join(out, 'qrels'), { recursive: true });
  writeFileSync(join(out, 'corpus.jsonl'), docs.join('\n') + '\n');
  writeFileSync(join(out, 'queries.jsonl'), queries.join('\n') + '\n');
  for (const [split, rows] of Object.entries(splits)) {
    writeFileSync(join(out, 'qrels', `${split}.tsv`), ['query-id\tcorpus-id\tscore', ...rows.map((r) => r.join('\t'))].join('\n') + '\n');
  }
}
