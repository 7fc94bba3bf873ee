// One BEIR line → one record, or a BeirFormatError naming the file and line with a fix.
// What is an error and what is a warning (a researcher's view: ids are keys, text is data):
// - errors: invalid JSON; a line that is not an object; "_id" missing, empty or not a string/number;
//   "title"/"text" of the wrong type; a query without "text"; qrels with the wrong number of columns or
//   a non-integer score. (Duplicate ids and empty files are errors too: see read-beir.ts.)
// - silent: blank lines; a missing "title" ('' as BEIR's own loader does); empty document text;
//   numeric ids (turned into strings, as BEIR's loader does with str()); extra fields such as "metadata".
// - warnings (counted, record kept): a document without a "text" field (kept with ''), an empty query.
import { BeirFormatError } from '../errors.ts';
import type { BeirDoc, BeirQuery } from './types.ts';
import type { WarningLog } from './warnings.ts';

type Json = Record<string, unknown>;

function parseObject(text: string, file: string, line: number): Json {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new BeirFormatError(file, line, `not valid JSON (${(e as Error).message})`, 'Fix the line or remove it');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    const found = v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`;
    throw new BeirFormatError(file, line, `expected a JSON object like {"_id": ..., "text": ...}, found ${found}`, 'Fix the line or remove it');
  }
  return v as Json;
}

function idOf(o: Json, file: string, line: number): string {
  const id = o._id;
  if (typeof id === 'number' && Number.isFinite(id)) return String(id);
  if (typeof id === 'string' && id !== '') return id;
  const problem = id === undefined ? 'missing "_id"' : id === '' ? '"_id" is empty' : `"_id" must be a string or a number, found ${JSON.stringify(id)}`;
  throw new BeirFormatError(file, line, problem, 'Every record needs a non-empty "_id"');
}

/** A string field: absent or null → undefined; a string → itself; anything else → error. */
function stringField(o: Json, key: string, file: string, line: number): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  throw new BeirFormatError(file, line, `"${key}" must be a string, found ${JSON.stringify(v).slice(0, 40)}`, 'Fix the line or remove it');
}

export function parseDocLine(text: string, file: string, line: number, warn: WarningLog): BeirDoc {
  const o = parseObject(text, file, line);
  const id = idOf(o, file, line);
  const title = stringField(o, 'title', file, line) ?? '';
  let body = stringField(o, 'text', file, line);
  if (body === undefined) {
    warn.add(file, 'doc-no-text', `line ${line}: "${id}"`);
    body = '';
  }
  return { id, title, text: body };
}

export function parseQueryLine(text: string, file: string, line: number, warn: WarningLog): BeirQuery {
  const o = parseObject(text, file, line);
  const id = idOf(o, file, line);
  const body = stringField(o, 'text', file, line);
  if (body === undefined) throw new BeirFormatError(file, line, `query "${id}" has no "text"`, 'Every query needs a "text" field');
  if (body.trim() === '') warn.add(file, 'query-empty-text', `line ${line}: "${id}"`);
  return { id, text: body };
}

export interface QrelLine {
  qid: string;
  docid: string;
  score: number;
}

const INTEGER = /^[+-]?\d+$/;
/** A header names its columns: BEIR's is `query-id corpus-id score`; others say qid/topic, rel/relevance/label. */
const HEADER_FIRST = /^(query|qid|topic)/i;
const HEADER_LAST = /^(score|rel|relevance|label|grade|judg)/i;

/**
 * One qrels line. BEIR: `query-id<TAB>corpus-id<TAB>score`; TREC: `qid 0 docid rel` (tabs or spaces).
 * Returns null for the header line, which is recognised only as the first non-blank line.
 */
export function parseQrelsLine(text: string, file: string, line: number, first: boolean): QrelLine | null {
  const trimmed = text.trim();
  const cols = trimmed.includes('\t') ? trimmed.split('\t').map((c) => c.trim()) : trimmed.split(/\s+/);
  const score = cols[cols.length - 1];
  if (first && !INTEGER.test(score) && (HEADER_FIRST.test(cols[0]) || HEADER_LAST.test(score))) return null;
  if (cols.length !== 3 && cols.length !== 4) {
    throw new BeirFormatError(
      file,
      line,
      `expected 3 tab-separated columns (query-id, corpus-id, score), found ${cols.length}`,
      'BEIR qrels lines are "query-id<TAB>corpus-id<TAB>score" (TREC "qid 0 docid rel" is accepted too)',
    );
  }
  if (!INTEGER.test(score)) {
    throw new BeirFormatError(file, line, `score "${score}" is not an integer`, 'Relevance scores must be integers (0, 1, 2, ...)');
  }
  const [qid, docid] = cols.length === 3 ? [cols[0], cols[1]] : [cols[0], cols[2]];
  if (qid === '' || docid === '') throw new BeirFormatError(file, line, 'empty query or document id', 'Fix the line or remove it');
  return { qid, docid, score: Number.parseInt(score, 10) };
}
