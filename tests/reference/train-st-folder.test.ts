// Interop: a trained, exported encoder folder is a Hugging Face BertModel checkpoint for Python. Runs
// tests/reference/gen/check_st_folder.py (keys and shapes as BertModel's for the config, safetensors
// header, sentence-transformers files) when /usr/bin/python3 can import numpy; skipped with the reason
// printed otherwise, failed where Python is required (helpers/python.ts pythonRequired).
// EXPANDR_PYTHON=/path/to/python (a venv with transformers) adds a run that also loads the folder with
// BertModel.from_pretrained.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCpuBackend } from '../unit/helpers/tiny-encoder.ts';
import { syntheticTask } from '../unit/helpers/train-corpus.ts';
import { missingPython } from './helpers/python.ts';
import { loadBertEncoder } from '../../src/encoder/encoder.ts';
import { readModelDir } from '../../src/encoder/node-files.ts';
import { exportBertEncoder } from '../../src/encoder/st-folder.ts';
import { buildTrainData } from '../../src/train/examples.ts';
import { trainRetriever } from '../../src/train/trainer.ts';
import { writeSafetensors, readSafetensors } from '../../src/model/safetensors.ts';

const SCRIPT = new URL('./gen/check_st_folder.py', import.meta.url).pathname;
const TINY_BERT = new URL('./fixtures/tiny-bert', import.meta.url).pathname;

function pythonWithNumpy(python: string): string | null {
  const r = spawnSync(python, ['-c', 'import numpy'], { encoding: 'utf8' });
  if (r.error) return `${python} cannot be run (${r.error.message})`;
  return r.status === 0 ? null : `${python} cannot import numpy (${r.stderr.trim().split('\n').pop()})`;
}
const PYTHONS = ['/usr/bin/python3', ...(process.env.EXPANDR_PYTHON ? [process.env.EXPANDR_PYTHON] : [])];
const why = new Map(PYTHONS.map((p) => [p, pythonWithNumpy(p)]));
const usable = PYTHONS.filter((p) => !why.get(p));
for (const p of PYTHONS) if (why.get(p) && usable.length > 0) console.log(`skipping the Python checkpoint check with ${p}: ${why.get(p)}`);
if (usable.length === 0) missingPython('the Python checkpoint check', [...why.values()].join('; '));

function check(python: string, dir: string): { status: number; out: Record<string, unknown> } {
  const r = spawnSync(python, [SCRIPT, dir], { encoding: 'utf8' });
  const last = r.stdout.trim().split('\n').pop() ?? '{}';
  return { status: r.status ?? -1, out: JSON.parse(last) };
}

function writeFolder(files: Map<string, Uint8Array>, dir: string): void {
  for (const [name, bytes] of files) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), bytes);
  }
}

describe.skipIf(usable.length === 0)('exported checkpoint read by Python', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'expandr-st-'));
  let files: Map<string, Uint8Array>;
  beforeAll(async () => {
    await useCpuBackend();
    const src = await readModelDir(TINY_BERT);
    const enc = await loadBertEncoder(src, { settings: { normalize: true, maxLength: 16 } });
    const { docs, queries, qrels } = syntheticTask(8);
    const { data } = buildTrainData(docs, queries, qrels);
    await trainRetriever(enc, data, { settings: { steps: 2, batchSize: 4, lr: 1e-3, hardNegatives: false, dropout: false } });
    files = await exportBertEncoder(enc, src);
    enc.dispose();
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  for (const python of usable) {
    it(`keys and shapes are HF BertModel's (${python})`, () => {
      const dir = join(tmp, `ok-${usable.indexOf(python)}`);
      writeFolder(files, dir);
      const r = check(python, dir);
      console.log(`check_st_folder.py with ${python}:`, JSON.stringify(r.out));
      expect(r.out.problems).toEqual([]);
      expect(r.status).toBe(0);
      expect(r.out).toMatchObject({ ok: true, tensors: 39, pooler: true, modules: ['Transformer', 'Pooling', 'Normalize'] });
    });

    it(`fails for the right reason on a wrong key or shape (${python})`, () => {
      const st = readSafetensors(files.get('model.safetensors')!);
      const tensors = new Map([...st.tensors.keys()].map((n) => [n, { shape: st.tensors.get(n)!.shape, data: st.getFloat32(n) }]));
      const renamed = new Map(tensors);
      renamed.set('encoder.layer.0.attention.self.query.kernel', renamed.get('encoder.layer.0.attention.self.query.weight')!);
      renamed.delete('encoder.layer.0.attention.self.query.weight');
      const dir = join(tmp, `bad-${usable.indexOf(python)}`);
      writeFolder(new Map([...files, ['model.safetensors', writeSafetensors(renamed, { format: 'pt' })]]), dir);
      const r = check(python, dir);
      expect(r.status).toBe(1);
      expect(JSON.stringify(r.out.problems)).toMatch(/missing BertModel tensors.*query\.weight/);
      expect(JSON.stringify(r.out.problems)).toMatch(/does not have.*query\.kernel/);
    });
  }
});

const PY_COMPILE = '/usr/bin/python3';
const noPython3 = spawnSync(PY_COMPILE, ['--version']).status !== 0;
if (noPython3) missingPython('the checker script syntax check', `${PY_COMPILE} cannot be run`);
it.skipIf(noPython3)(`the checker script parses (${PY_COMPILE} -m py_compile)`, () => {
  execFileSync(PY_COMPILE, ['-m', 'py_compile', SCRIPT]);
});
