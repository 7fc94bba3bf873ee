// A folder on disk as the files a user drops into the page: { path: 'name/relative/path', file: Blob }.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export function folderFiles(dir: string, name: string): { path: string; file: Blob }[] {
  const out: { path: string; file: Blob }[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else out.push({ path: `${name}/${relative(dir, p)}`, file: new Blob([readFileSync(p)]) });
    }
  };
  walk(dir);
  return out;
}
