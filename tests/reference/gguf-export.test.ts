// The tuned SmolLM2 back out as GGUF, checked in Python (issue 13, point 5): SmolLM2-135M-Instruct (Q4_1 GGUF)
// loaded by our reader into the tfjs decoder, a LoRA attached (PEFT's defaults for Llama: q_proj/v_proj, r 8,
// α 32; B seeded-random so the merge moves the logits, as a DPO-tuned adapter does), exported as a PEFT folder,
// merged and written by the runner's `export-gguf` (default types: merged matrices F16, every other tensor
// copied from the source). tests/reference/gen/check_gguf_export.py then reads the file with the `gguf` package
// (tensor names, types, shapes, untouched tensors byte-identical, every metadata key incl. tokenizer and chat
// template) and loads it with transformers, whose last-position logits must equal ours (adapter on, float32)
// within EXPORT_LOGIT_TOLERANCE; PEFT's own merge_and_unload gives the reference merged weights.
// Skips, saying why, without the model (npm run -s expandr -- fetch-model smollm2-135m-instruct) or without a
// Python with gguf, peft, transformers and torch (bash scripts/ensure-python.sh).
// EXPANDR_GGUF_EXPORT_DRIFT=1 also writes the 'requantize' and 'f16' variants and prints each one's drift
// against the adapter-on model as our decoder reads them back (the figures in merge-export.ts's header).
// EXPANDR_GGUF_EXPORT_ADAPTER=DIR runs the same on a trained adapter (e.g. train-llm --steps 2 on the .gguf),
// reporting rather than requiring that its effect on the logits clears the tolerance. EXPANDR_KEEP_TMP=1 keeps
// the temporary folder (adapter, export, spec.json for check_gguf_export.py) and prints its path.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readAdapterPath, writeAdapterPath } from '../../src/cli/adapter-files.ts';
import { useBackend } from '../../src/cli/backend.ts';
import { exportGgufCommand } from '../../src/cli/export-gguf-command.ts';
import { readGgufDecoder } from '../../src/llm/gguf/decoder.ts';
import { ggufSourceFromFile } from '../../src/llm/gguf/node-source.ts';
import { LlamaModel } from '../../src/llm/llama.ts';
import { LoraAdapters } from '../../src/llm/lora.ts';
import { exportPeftAdapter, readPeftAdapter } from '../../src/llm/lora-peft.ts';
import { findPython, ROOT, runPythonJson } from './helpers/python.ts';

const MODEL = join(ROOT, '.cache/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf');
const SCRIPT = join(ROOT, 'tests/reference/gen/check_gguf_export.py');
/** GGUFReader twice (~4 s each), two transformers loads of a GGUF (~10 s each on 2 busy cores), three forwards. */
const PYTHON_TIMEOUT_MS = 240_000;
/**
 * |ours − transformers on the export|, last-position logits: float16 rounding of the 60 merged q/v matrices,
 * measured 0.014 on these inputs (0.011 on others; our decoder on the export vs with the adapter, whose own
 * effect is 3.35), plus tfjs vs torch float32 on the same weights (~1e-4). Set at ~2× their sum.
 */
const EXPORT_LOGIT_TOLERANCE = 0.03;
/**
 * float32 only: |ours − PEFT on the source| (measured 5.5e-5) and |transformers on the export − PEFT's own
 * merge_and_unload with the merged matrices rounded to float16| (measured 1.1e-4): the file is exactly that.
 */
const PEFT_LOGIT_TOLERANCE = 5e-4;
/** Token ids of two short SmolLM2 inputs (a chat-template head; words and digits), equal lengths; kept short
 * because transformers runs on Debian's reference BLAS here. */
const IDS = [
  [1, 9690, 198, 2683, 359, 253, 5356, 5646],
  [504, 2365, 282, 34, 35, 30, 36, 3365],
];

const GIVEN_ADAPTER = process.env.EXPANDR_GGUF_EXPORT_ADAPTER;

const pythonCheck = existsSync(MODEL) ? findPython(['gguf', 'peft', 'transformers', 'torch'], 'the GGUF export check') : null;
const reason = !existsSync(MODEL) ? `no ${MODEL}: run \`npm run -s expandr -- fetch-model smollm2-135m-instruct\`` : pythonCheck!.reason;
if (!existsSync(MODEL)) console.log(`skipping the GGUF export check: ${reason}`);

async function lastLogits(model: LlamaModel): Promise<number[][]> {
  const [rows, len] = [IDS.length, IDS[0].length];
  const t = tf.tidy(() => tf.reshape(tf.slice(model.logits(tf.tensor2d(IDS.flat(), [rows, len], 'int32')), [0, len - 1, 0], [rows, 1, model.config.vocab]), [rows, model.config.vocab]));
  const out = (await t.array()) as number[][];
  t.dispose();
  return out;
}

const maxDiff = (a: number[][], b: number[][]) => Math.max(...a.map((row, r) => Math.max(...row.map((v, i) => Math.abs(v - b[r][i])))));

describe.skipIf(reason !== null)('SmolLM2 tuned with a LoRA, exported as GGUF, read by gguf and transformers', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'expandr-gguf-export-'));
  const adapterDir = join(tmp, 'adapter');
  let ours: number[][];
  let off: number[][];
  beforeAll(async () => {
    await useBackend('wasm');
    const src = await ggufSourceFromFile(MODEL);
    const decoder = await readGgufDecoder(src).finally(() => src.close());
    const model = new LlamaModel(decoder.config, decoder.weights);
    off = await lastLogits(model);
    let lora: LoraAdapters;
    if (GIVEN_ADAPTER) lora = (await readPeftAdapter(model, readAdapterPath(GIVEN_ADAPTER), GIVEN_ADAPTER)).lora;
    else {
      lora = LoraAdapters.attachNew(model, { seed: 13 });
      lora.layers.forEach((l, i) => tf.tidy(() => l.b.assign(tf.randomNormal(l.b.shape, 0, 0.02, 'float32', 1300 + i))));
    }
    ours = await lastLogits(model);
    writeAdapterPath(adapterDir, await exportPeftAdapter(lora, 'SmolLM2-135M-Instruct'));
    lora.dispose();
    model.dispose();
  }, 120_000);
  afterAll(() => process.env.EXPANDR_KEEP_TMP ? console.log(tmp) : rmSync(tmp, { recursive: true, force: true }));

  const exportAs = async (types: string) => {
    const out = join(tmp, `tuned-${types}.gguf`);
    await exportGgufCommand(['--model', MODEL, '--adapter', adapterDir, '--out', out, '--type', types, '--json'], new AbortController().signal);
    return out;
  };

  test('export-gguf writes a file the gguf package reads as the source plus the merge, and transformers gives our logits', async () => {
    const out = await exportAs('source');
    const merged = Array.from({ length: 30 }, (_, l) => [`blk.${l}.attn_q.weight`, `blk.${l}.attn_v.weight`]).flat();
    const spec = join(tmp, 'spec.json');
    writeFileSync(spec, JSON.stringify({ source: MODEL, out, adapter: adapterDir, mode: 'source', merged, ids: IDS, logits: ours, logits_off: off, tolerance: EXPORT_LOGIT_TOLERANCE, peft_tolerance: PEFT_LOGIT_TOLERANCE, min_effect: GIVEN_ADAPTER ? 0 : 10 * EXPORT_LOGIT_TOLERANCE }));
    const { out: res } = runPythonJson<{ ok: boolean; problems: string[] } & Record<string, unknown>>(pythonCheck!.python!, SCRIPT, [spec], PYTHON_TIMEOUT_MS);
    console.log(`check_gguf_export.py: ${JSON.stringify(res)}`);
    expect(res.problems).toEqual([]);
    expect(res.ok).toBe(true);
  }, 300_000);

  test.runIf(process.env.EXPANDR_GGUF_EXPORT_DRIFT === '1')('drift of each type mode against the adapter-on model (measurement)', async () => {
    const drift: Record<string, number> = { adapter_effect: maxDiff(ours, off) };
    for (const types of ['source', 'requantize', 'f16']) {
      const src = await ggufSourceFromFile(await exportAs(types));
      const decoder = await readGgufDecoder(src).finally(() => src.close());
      const m = new LlamaModel(decoder.config, decoder.weights);
      drift[types] = maxDiff(await lastLogits(m), ours);
      m.dispose();
    }
    console.log(`SmolLM2 export drift, max |Δ last logit| vs adapter-on: ${JSON.stringify(drift)}`);
  }, 300_000);
});
