// TREC run and qrels text files.
//
// Run line:   qid Q0 docid rank score tag     (whitespace-separated; trec_eval reads only qid, docid, score)
// Qrels line: qid iter docid rel              (iter is ignored; rel an integer, may be 0 or negative)
//
// Writing: each query's hits in trec_eval order (ranking.ts), so the rank column agrees with the order
// trec_eval itself will use. Scores are written as JS's shortest round-trip decimal (String(x), e.g.
// 0.8123456789012345, 1e-7): reading the file back gives the identical double, so evaluating the file
// gives exactly what evaluating the in-memory run gave. Fixed decimals (e.g. %.6f) would turn distinct
// scores into ties and change tie-broken ranks. trec_eval, Pyserini and ranx all parse the exponent form.
//
// Reading is line-oriented (a RunParser takes one line at a time), so a large file can be streamed.

import { RunFormatError } from '../errors.ts';
import type { Qrels } from '../data/types.ts';
import { trecOrder } from './ranking.ts';
import type { Run } from './types.ts';

const WS = /\s+/;

/** Parses a score column: decimal, exponent, and trec_eval's (atof's) inf / infinity spellings. */
function parseScore(text: string): number {
  const lower = text.toLowerCase();
  if (/^[+-]?inf(inity)?$/.test(lower)) return lower.startsWith('-') ? -Infinity : Infinity;
  // Number('') is 0 and Number('0x1') is 1: require a decimal literal.
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(lower)) return NaN;
  return Number(text);
}

function checkId(kind: string, id: string, where: string): void {
  if (id === '' || WS.test(id)) {
    throw new RunFormatError(where, null, `${kind} "${id}" is empty or contains whitespace, which a TREC file cannot hold`, 'Use ids without spaces, tabs or newlines');
  }
}

/** The lines of a run file, one query after another in the run's order; `tag` fills the last column. */
export function* trecRunLines(run: Run, tag = 'expandr'): Generator<string> {
  checkId('Run tag', tag, 'run');
  for (const [qid, hits] of run) {
    checkId('Query id', qid, 'run');
    const ordered = trecOrder(qid, hits);
    for (let i = 0; i < ordered.length; i++) {
      const { docId, score } = ordered[i];
      checkId('Doc id', docId, `run, query "${qid}"`);
      yield `${qid} Q0 ${docId} ${i + 1} ${String(score)} ${tag}`;
    }
  }
}

/** The whole run file as one string (newline-terminated lines). */
export function writeTrecRun(run: Run, tag = 'expandr'): string {
  let out = '';
  for (const line of trecRunLines(run, tag)) out += line + '\n';
  return out;
}

/** Reads a run one line at a time: `push` each line (1-based numbering is kept), then `run()`. */
export class RunParser {
  #run: Run = new Map();
  #seen = new Map<string, Set<string>>();
  #line = 0;

  constructor(readonly file = 'run') {}

  push(text: string): void {
    this.#line++;
    const cols = text.trim().split(WS);
    if (cols.length === 1 && cols[0] === '') return; // blank line
    if (cols.length !== 6) {
      this.#fail(`expected 6 columns "qid Q0 docid rank score tag", found ${cols.length}`, 'Write one hit per line in TREC run format');
    }
    const [qid, , docId, , scoreText] = cols;
    const score = parseScore(scoreText);
    if (Number.isNaN(score)) this.#fail(`score "${scoreText}" is not a number`, 'The fifth column must be a decimal number');
    let seen = this.#seen.get(qid);
    let hits = this.#run.get(qid);
    if (seen === undefined || hits === undefined) {
      seen = new Set();
      hits = [];
      this.#seen.set(qid, seen);
      this.#run.set(qid, hits);
    }
    if (seen.has(docId)) this.#fail(`doc "${docId}" appears twice for query "${qid}"`, 'Keep one line per (query, doc) pair, as trec_eval requires');
    seen.add(docId);
    hits.push({ docId, score });
  }

  /** The run read so far (hits in file order; evaluation re-sorts them). */
  run(): Run {
    return this.#run;
  }

  #fail(problem: string, fix: string): never {
    throw new RunFormatError(this.file, this.#line, problem, fix);
  }
}

/** Reads TREC qrels one line at a time, like RunParser. */
export class QrelsParser {
  #qrels: Qrels = new Map();
  #line = 0;

  constructor(readonly file = 'qrels') {}

  push(text: string): void {
    this.#line++;
    const cols = text.trim().split(WS);
    if (cols.length === 1 && cols[0] === '') return;
    if (cols.length !== 4) this.#fail(`expected 4 columns "qid iter docid rel", found ${cols.length}`, 'Write one judgement per line in TREC qrels format');
    const [qid, , docId, relText] = cols;
    const rel = Number(relText);
    if (!/^[+-]?\d+(\.0*)?$/.test(relText) || !Number.isSafeInteger(rel)) {
      this.#fail(`relevance "${relText}" is not an integer`, 'The fourth column must be an integer grade such as 0, 1 or 2');
    }
    let docs = this.#qrels.get(qid);
    if (docs === undefined) this.#qrels.set(qid, (docs = new Map()));
    if (docs.has(docId)) this.#fail(`doc "${docId}" is judged twice for query "${qid}"`, 'Keep one judgement per (query, doc) pair, as trec_eval requires');
    docs.set(docId, rel);
  }

  qrels(): Qrels {
    return this.#qrels;
  }

  #fail(problem: string, fix: string): never {
    throw new RunFormatError(this.file, this.#line, problem, fix);
  }
}

function splitLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Parses a whole run file (string) or any iterable of lines. */
export function readTrecRun(input: string | Iterable<string>, file = 'run'): Run {
  const parser = new RunParser(file);
  for (const line of typeof input === 'string' ? splitLines(input) : input) parser.push(line);
  return parser.run();
}

/** Parses a whole TREC qrels file (string) or any iterable of lines. */
export function readTrecQrels(input: string | Iterable<string>, file = 'qrels'): Qrels {
  const parser = new QrelsParser(file);
  for (const line of typeof input === 'string' ? splitLines(input) : input) parser.push(line);
  return parser.qrels();
}

/** Qrels as TREC text (`qid 0 docid rel`), in map order. */
export function writeTrecQrels(qrels: Qrels): string {
  let out = '';
  for (const [qid, docs] of qrels) {
    checkId('Query id', qid, 'qrels');
    for (const [docId, rel] of docs) {
      checkId('Doc id', docId, `qrels, query "${qid}"`);
      out += `${qid} 0 ${docId} ${rel}\n`;
    }
  }
  return out;
}

