// Expansion files (DESIGN.md §6, "expansions as JSONL"): one {"id" | "query_id", "expansion" | "text"}
// per line, as the pipeline writes them and as scripts may produce them. One expansion per query.
import { FileFormatError } from '../../errors.ts';

const FIX = 'Each line must be a JSON object such as {"id": "q1", "expansion": "…"} ("query_id" and "text" are accepted too), one per query';

/** Parses an expansions file into query id → expansion text. `file` names it in errors. */
export function parseExpansions(text: string, file = 'expansions.jsonl'): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (e) {
      throw new FileFormatError(file, i + 1, `not valid JSON (${(e as Error).message})`, FIX);
    }
    if (!row || typeof row !== 'object' || Array.isArray(row)) throw new FileFormatError(file, i + 1, 'not a JSON object', FIX);
    const r = row as Record<string, unknown>;
    const id = r.id ?? r.query_id;
    const expansion = r.expansion ?? r.text;
    if (typeof id !== 'string' && typeof id !== 'number') throw new FileFormatError(file, i + 1, 'no "id" or "query_id"', FIX);
    if (typeof expansion !== 'string') throw new FileFormatError(file, i + 1, 'no "expansion" or "text" string', FIX);
    const qid = String(id);
    if (out.has(qid)) throw new FileFormatError(file, i + 1, `query ${qid} has a second expansion`, 'Keep one expansion per query for evaluation');
    out.set(qid, expansion);
  }
  return out;
}
