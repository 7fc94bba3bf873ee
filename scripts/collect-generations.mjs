#!/usr/bin/env node
// Gathers the generation caches of several run folders into one gzipped JSON Lines file, each key once (the
// first seen), for committing beside an experiment's config: `expandr experiment --generations FILE` pours it
// into a new run's cache, so a fresh clone or another machine resumes without sampling again what is recorded.
//   node scripts/collect-generations.mjs OUT.jsonl.gz RUN_DIR [RUN_DIR ...]
// Lines already in OUT are kept (it is read first when it exists).
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

const [out, ...runs] = process.argv.slice(2);
if (!out || runs.length === 0) {
  console.error('usage: node scripts/collect-generations.mjs OUT.jsonl.gz RUN_DIR [RUN_DIR ...]');
  process.exit(2);
}
const seen = new Set();
const lines = [];
const take = (text, file) => {
  let added = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    let row;
    try {
      row = JSON.parse(line);
    } catch (e) {
      // A torn last line of a killed run is skipped; anything else is a damaged file.
      if (i === text.split('\n').length - 1) return;
      throw new Error(`${file}:${i + 1}: not valid JSON (${e.message}); fix or delete the line`);
    }
    if (typeof row.key !== 'string' || typeof row.text !== 'string') throw new Error(`${file}:${i + 1}: no "key" and "text" strings`);
    if (seen.has(row.key)) return;
    seen.add(row.key);
    lines.push(line);
    added++;
  });
  return added;
};
if (existsSync(out)) console.log(`${out}: ${take(gunzipSync(readFileSync(out)).toString('utf8'), out)} kept`);
for (const dir of runs) {
  const file = join(dir, 'generations.jsonl');
  if (!existsSync(file)) {
    console.log(`${file}: none`);
    continue;
  }
  console.log(`${file}: ${take(readFileSync(file, 'utf8'), file)} new`);
}
// mtime 0 and no name in the header: the same lines give the same bytes (a clean git diff).
const gz = gzipSync(Buffer.from(lines.join('\n') + '\n'), { level: 9 });
writeFileSync(`${out}.tmp`, gz);
renameSync(`${out}.tmp`, out);
console.log(`wrote ${out}: ${lines.length} generations, ${(gz.length / 1024).toFixed(0)} KiB`);
