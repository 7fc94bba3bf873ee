// Interop: a LoRA adapter we export is a PEFT adapter for Python. Runs tests/reference/gen/check_peft_adapter.py
// (adapter_config.json fields, key names and shapes as PEFT selects the modules, and
// PeftModel.from_pretrained onto the tiny Qwen2 / Llama 3 fixtures giving our logits within 1e-4) when the
// reference venv exists (scripts/ensure-python.sh, which npm test runs; or EXPANDR_PYTHON); machines
// without it skip with the reason printed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { useBackend } from '../../src/cli/backend.ts';
import { writeAdapterPath } from '../../src/cli/adapter-files.ts';
import { sourcesFromPath } from '../../src/data/node-sources.ts';
import { modelFilesFromSources } from '../../src/llm/files.ts';
import { loadDecoder } from '../../src/llm/load.ts';
import { LoraAdapters } from '../../src/llm/lora.ts';
import { exportPeftAdapter } from '../../src/llm/lora-peft.ts';
import { findPython } from './helpers/python.ts';

const SCRIPT = new URL('./gen/check_peft_adapter.py', import.meta.url).pathname;
const dir = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;
/** Python start + torch/transformers/peft imports take a few seconds on 2 cores. */
const PYTHON_TIMEOUT_MS = 180_000;

// EXPANDR_PYTHON_LLM (older name) first, then the interop venv scripts/ensure-python.sh makes.
if (process.env.EXPANDR_PYTHON_LLM && !process.env.EXPANDR_PYTHON) process.env.EXPANDR_PYTHON = process.env.EXPANDR_PYTHON_LLM;
const { python: FOUND, reason } = findPython(['peft', 'transformers', 'torch'], 'the PEFT interop check');
const PYTHON = FOUND ?? '';

const CASES = [
  { model: 'tiny-qwen2', targets: ['q_proj', 'v_proj'] }, // the default
  { model: 'tiny-llama3', targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] }, // every projection, MQA shapes
];

describe.skipIf(reason !== null)('PEFT reads our LoRA exports', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'expandr-peft-'));
  beforeAll(async () => {
    await useBackend('cpu');
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  test.each(CASES)('$model with LoRA on $targets: keys, shapes, config fields, and PeftModel logits within 1e-4', async ({ model: name, targets }) => {
    const { model } = await loadDecoder(modelFilesFromSources(await sourcesFromPath(dir(name))));
    const lora = LoraAdapters.attachNew(model, { targetModules: targets, seed: 3 });
    lora.layers.forEach((l, i) => tf.tidy(() => l.b.assign(tf.randomNormal(l.b.shape, 0, 0.2, 'float32', 100 + i)))); // B ≠ 0
    const ids = [[5, 17, 42, 99, 3, 250, 7, 61], [200, 1, 33, 33, 80, 9, 120, 44]];
    const logits = tf.tidy(() => model.logits(tf.tensor2d(ids.flat(), [2, 8], 'int32')));
    const out = join(tmp, name);
    writeAdapterPath(out, await exportPeftAdapter(lora, name));
    writeFileSync(join(tmp, `${name}.json`), JSON.stringify({ ids, logits: await logits.array() }));
    logits.dispose();
    lora.dispose();
    model.dispose();

    const r = spawnSync(PYTHON, [SCRIPT, out, dir(name), join(tmp, `${name}.json`)], { encoding: 'utf8', timeout: PYTHON_TIMEOUT_MS });
    const last = r.stdout.trim().split('\n').pop() ?? '';
    if (!last.startsWith('{')) throw new Error(`check_peft_adapter.py failed (status ${r.status}): ${r.stderr.slice(-2000)}`);
    const res = JSON.parse(last) as { ok: boolean; problems: string[]; keys: number; max_diff: number; base_diff: number };
    console.log(`check_peft_adapter.py ${name}: ${last}`);
    expect(res.problems).toEqual([]);
    expect(res.keys).toBe(2 * 2 * targets.length); // 2 layers × (A, B) per module
    expect(res.max_diff).toBeLessThanOrEqual(1e-4);
    expect(r.status).toBe(0);
  }, PYTHON_TIMEOUT_MS + 30_000);
});
