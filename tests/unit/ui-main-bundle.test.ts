// The page's main bundle stays light: what src/ui/main.ts reaches through imports that survive
// compilation is Svelte, uPlot and small pure modules; tfjs, transformers.js, WebLLM, druidjs, fflate and
// idb load only in the workers. Walks the import graph the way the build sees it (tsconfig has
// verbatimModuleSyntax: `import type` is erased, `import { type A }` stays as a side-effect import;
// `?worker` / `?url` imports are separate bundles; `import()` is a lazy chunk, not the main bundle).
// `npm run -s build:report` measures the chunks themselves.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
/** Packages the page itself runs on. */
const PAGE_PACKAGES = ['svelte', 'uplot'];

interface Reach {
  files: Set<string>;
  packages: Set<string>;
  /** For each reached file or package, the file that imported it first (to print the path). */
  via: Map<string, string>;
}

/** Specifiers of the imports a file keeps after compilation (static ones only). */
function keptImports(file: string): string[] {
  let code = readFileSync(file, 'utf8');
  if (file.endsWith('.svelte')) code = [...code.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1]).join('\n');
  const source = ts.createSourceFile(file, code, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out: string[] = [];
  for (const s of source.statements) {
    if (ts.isImportDeclaration(s) && !s.importClause?.isTypeOnly) out.push((s.moduleSpecifier as ts.StringLiteral).text);
    if (ts.isExportDeclaration(s) && s.moduleSpecifier && !s.isTypeOnly) out.push((s.moduleSpecifier as ts.StringLiteral).text);
  }
  return out;
}

function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function reach(entry: string): Reach {
  const r: Reach = { files: new Set(), packages: new Set(), via: new Map() };
  const queue = [resolve(ROOT, entry)];
  r.files.add(queue[0]);
  while (queue.length) {
    const file = queue.shift()!;
    for (const spec of keptImports(file)) {
      if (/\?(worker|url)$/.test(spec) || spec.endsWith('.css')) continue;
      if (!spec.startsWith('.')) {
        const pkg = packageOf(spec);
        if (!r.packages.has(pkg)) r.via.set(pkg, file);
        r.packages.add(pkg);
        continue;
      }
      const target = [spec, `${spec}.ts`, join(spec, 'index.ts')].map((s) => resolve(dirname(file), s)).find(existsSync);
      if (!target) throw new Error(`${relative(ROOT, file)}: cannot resolve ${spec}`);
      if (r.files.has(target)) continue;
      r.files.add(target);
      r.via.set(target, file);
      queue.push(target);
    }
  }
  return r;
}

/** entry -> ... -> what, as relative paths. */
function pathTo(r: Reach, what: string): string {
  const chain = [what];
  for (let at = r.via.get(what); at; at = r.via.get(at)) chain.unshift(relative(ROOT, at));
  return chain.join(' -> ');
}

describe('the main bundle (src/ui/main.ts)', () => {
  it('reaches no package but Svelte and uPlot', () => {
    const r = reach('src/ui/main.ts');
    const heavy = [...r.packages].filter((p) => !PAGE_PACKAGES.includes(p));
    expect(heavy.map((p) => pathTo(r, p))).toEqual([]);
  });

  it('reaches no worker code and none of the sessions', () => {
    const r = reach('src/ui/main.ts');
    const banned = [...r.files].map((f) => relative(ROOT, f)).filter((f) => f.startsWith('workers/') || /^src\/app\/(?!protocol\.ts|session-types\.ts)/.test(f));
    expect(banned.map((f) => pathTo(r, resolve(ROOT, f)))).toEqual([]);
  });

  it('finds heavy imports where they are (the walk can fail)', () => {
    const r = reach('src/encoder/encoder.ts');
    expect([...r.packages]).toEqual(expect.arrayContaining(['@tensorflow/tfjs-core', '@huggingface/transformers']));
    expect(pathTo(r, '@huggingface/transformers')).toMatch(/^src\/encoder\/encoder\.ts -> .* -> @huggingface\/transformers$/);
  });
});
