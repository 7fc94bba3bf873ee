// The import check of `npm test` (.dependency-cruiser.cjs): it passes on the project and fails on a tree
// with an upward import, an import across one rank, or a cycle (type-only included).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cruise } from 'dependency-cruiser';

const require = createRequire(import.meta.url);
const rules = require('../../.dependency-cruiser.cjs');
const ROOT = join(__dirname, '../..');

async function violations(cwd: string, dirs: string[]): Promise<string[]> {
  const here = process.cwd();
  process.chdir(cwd); // dependency-cruiser matches rule paths relative to the working directory
  try {
    const r = await cruise(dirs, { validate: true, ruleSet: rules, ...rules.options, outputType: 'json' });
    const out = JSON.parse(r.output as string) as { summary: { violations: { rule: { name: string }; from: string; to: string }[] } };
    return out.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);
  } finally {
    process.chdir(here);
  }
}

describe('import layers', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'expandr-layers-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const write = (rel: string, text: string) => {
    mkdirSync(dirname(join(tmp, rel)), { recursive: true });
    writeFileSync(join(tmp, rel), text);
  };

  it('the project has no upward import and no cycle', async () => {
    expect(await violations(ROOT, ['src', 'workers'])).toEqual([]);
  }, 60_000);

  it('finds an upward import, an import across a rank and a type-only cycle', async () => {
    write('src/util/fine.ts', 'export const one = 1;\n');
    write('src/data/ok.ts', "import { one } from '../util/fine.ts';\nexport const two = one + 1;\n");
    write('src/pipeline/loop.ts', "export const loop = 1;\n");
    write('src/pipeline/eval-up.ts', "import { host } from '../app/host.ts';\nexport const x = host;\n");
    write('src/app/host.ts', "export const host = 1;\n");
    write('src/encoder/enc.ts', "import type { Llm } from '../llm/llm.ts';\nexport type Enc = Llm;\n");
    write('src/llm/llm.ts', 'export type Llm = number;\n');
    write('src/store/a.ts', "import type { B } from './b.ts';\nexport type A = { b?: B };\n");
    write('src/store/b.ts', "import type { A } from './a.ts';\nexport type B = { a?: A };\n");
    const found = await violations(tmp, ['src']);
    expect(found).toContain('up-from-src-pipeline: src/pipeline/eval-up.ts -> src/app/host.ts');
    expect(found).toContain('across-from-src-encoder: src/encoder/enc.ts -> src/llm/llm.ts');
    expect(found.filter((v) => v.startsWith('no-circular:')).length).toBeGreaterThan(0);
    expect(found.some((v) => v.includes('src/data/ok.ts'))).toBe(false);
  }, 60_000);
});
