// Writes the inputs that LuceneReference.java reads (run by run.sh with tsx; not part of the app).
//
// Why a separate step: the Java side then needs no JSON library. Records are separated by
// RS (U+001E) and fields by US (U+001F); the script refuses texts that contain either.
//
// Outputs in OUT_DIR (git-ignored .cache/):
//   analyze.txt   name US text RS ...      ~300 SciFact texts (docs and queries) + handcrafted strings
//   corpus.txt    id US title+" "+text RS  all 5,183 SciFact docs, in corpus order
//   queries.txt   qid US text RS           the 300 test queries (qrels/test.tsv), in queries.jsonl order
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { resolve } from 'node:path';
import { TRICKY_STRINGS } from './tricky-strings.ts';

const [dataDir, outDir] = process.argv.slice(2);
if (!dataDir || !outDir) throw new Error('usage: tsx prepare-inputs.ts SCIFACT_DIR OUT_DIR');

const RS = '\u001e';
const US = '\u001f';
const SAMPLE_SIZE = 270; // SciFact docs in the analyzer fixture (plus 30 queries below)
const QUERY_SAMPLE = 30;

interface Doc { id: string; title: string; text: string }

function jsonl<T>(text: string): T[] {
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as T);
}

function clean(s: string, where: string): string {
  if (s.includes(RS) || s.includes(US)) throw new Error(`${where}: contains U+001E/U+001F`);
  return s;
}

// Seeded shuffle (mulberry32), so the selection is reproducible.
function shuffled<T>(xs: T[], seed: number): T[] {
  let a = seed >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = xs.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const docs = jsonl<{ _id: string; title: string; text: string }>(
  gunzipSync(readFileSync(resolve(dataDir, 'corpus.jsonl.gz'))).toString('utf8'),
).map((d): Doc => ({ id: d._id, title: d.title ?? '', text: d.text ?? '' }));
const queries = jsonl<{ _id: string; text: string }>(readFileSync(resolve(dataDir, 'queries.jsonl'), 'utf8'));
const testQids = new Set(
  readFileSync(resolve(dataDir, 'qrels/test.tsv'), 'utf8')
    .split('\n')
    .slice(1)
    .filter((l) => l.trim() !== '')
    .map((l) => l.split('\t')[0]!),
);
const flat = (d: Doc) => (d.title ? `${d.title} ${d.text}` : d.text);

// Categories of texts that stress the tokenizer; a few of each first, then random docs.
const CATEGORIES: [string, RegExp, number][] = [
  ['apostrophe', /['’‘＇]/, 25],
  ['url-email', /https?:|www\.|@/, 15],
  ['decimal-comma', /\d[.,]\d/, 20],
  ['hyphen-chemical', /\d,\d|\d'-|\w-\w+-\w/, 20],
  ['greek', /[α-ωΑ-Ωµ]/, 25],
  ['colon-middot', /[A-Za-z][:·][A-Za-z]/, 15],
  ['symbols', /[©®™↔★☆]/, 15],
  ['format-chars', /[\u00ad\u200b-\u200f\u202f\u00a0]/, 10],
  ['other-non-ascii', /[^\x00-\x7f]/, 25],
  ['underscore-slash', /[_/]/, 10],
];
const chosen = new Map<string, string>(); // doc id → category
const order = shuffled(docs, 20240917);
for (const [name, re, n] of CATEGORIES) {
  let k = 0;
  for (const d of order) {
    if (k >= n) break;
    if (!chosen.has(d.id) && re.test(flat(d))) {
      chosen.set(d.id, name);
      k++;
    }
  }
}
for (const d of order) {
  if (chosen.size >= SAMPLE_SIZE) break;
  if (!chosen.has(d.id)) chosen.set(d.id, 'random');
}

const analyze: string[] = [];
for (const d of docs) {
  const cat = chosen.get(d.id);
  if (cat) analyze.push(`scifact-doc:${d.id}:${cat}${US}${clean(flat(d), `doc ${d.id}`)}`);
}
for (const q of shuffled(queries, 7).slice(0, QUERY_SAMPLE)) {
  analyze.push(`scifact-query:${q._id}${US}${clean(q.text, `query ${q._id}`)}`);
}
for (const [name, text] of TRICKY_STRINGS) analyze.push(`tricky:${name}${US}${clean(text, name)}`);

mkdirSync(outDir, { recursive: true });
writeFileSync(resolve(outDir, 'analyze.txt'), analyze.join(RS));
writeFileSync(
  resolve(outDir, 'corpus.txt'),
  docs.map((d) => `${clean(d.id, 'id')}${US}${clean(flat(d), `doc ${d.id}`)}`).join(RS),
);
const testQueries = queries.filter((q) => testQids.has(q._id));
writeFileSync(resolve(outDir, 'queries.txt'), testQueries.map((q) => `${q._id}${US}${clean(q.text, q._id)}`).join(RS));
console.log(`analyze ${analyze.length} texts, corpus ${docs.length} docs, ${testQueries.length} test queries`);
