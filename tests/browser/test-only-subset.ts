// A test-only BEIR set for "train on one dataset, test on another" runs: SciFact test queries after the
// first `skip` (so none is in writeScifactSubset's folder), their judged documents and filler from the end
// of the corpus, every id renamed (queries "b<id>", documents "bd<id>") so that nothing is shared with the
// SciFact subset by id; only qrels/test.tsv, as BEIR's test-only sets ship.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

export function writeTestOnlySubset(scifact: string, out: string, opts: { queries: number; docs: number; skip: number }): void {
  const corpus = gunzipSync(readFileSync(join(scifact, 'corpus.jsonl.gz'))).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as { _id: string });
  const rows = readFileSync(join(scifact, 'qrels', 'test.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'));
  const qids = [...new Set(rows.map((r) => r[0]))].slice(opts.skip, opts.skip + opts.queries);
  const kept = rows.filter((r) => qids.includes(r[0]));
  const docIds = new Set(kept.map((r) => r[1]));
  for (let i = corpus.length - 1; i >= 0 && docIds.size < opts.docs; i--) docIds.add(corpus[i]._id);
  const docs = corpus.filter((d) => docIds.has(d._id)).map((d) => JSON.stringify({ ...d, _id: `bd${d._id}` }));
  const queries = readFileSync(join(scifact, 'queries.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { _id: string }).filter((q) => qids.includes(q._id));
  mkdirSync(join(out, 'qrels'), { recursive: true });
  writeFileSync(join(out, 'corpus.jsonl'), docs.join('\n') + '\n');
  writeFileSync(join(out, 'queries.jsonl'), queries.map((q) => JSON.stringify({ ...q, _id: `b${q._id}` })).join('\n') + '\n');
  writeFileSync(join(out, 'qrels', 'test.tsv'), ['query-id\tcorpus-id\tscore', ...kept.map(([q, d, s]) => `b${q}\tbd${d}\t${s}`)].join('\n') + '\n');
}
