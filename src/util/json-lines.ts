// JSON Lines read from text already in memory (small files the project writes: expansions, generation
// caches): blank lines skipped, every other line one JSON object, errors naming the file, line and fix.
import { FileFormatError } from '../errors.ts';

/**
 * Calls `visit(row, line)` for each object of `text` (line is 1-based). A line that is not JSON or not
 * an object throws FileFormatError(file, line, …, fix); `visit` may throw its own with the line it gets.
 */
export function forEachJsonLine(text: string, file: string, fix: string, visit: (row: Record<string, unknown>, line: number) => void): void {
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (e) {
      throw new FileFormatError(file, i + 1, `not valid JSON (${(e as Error).message})`, fix);
    }
    if (!row || typeof row !== 'object' || Array.isArray(row)) throw new FileFormatError(file, i + 1, 'not a JSON object', fix);
    visit(row as Record<string, unknown>, i + 1);
  }
}
