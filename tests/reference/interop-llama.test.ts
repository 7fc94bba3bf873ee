// Interop: the Hugging Face export of a tfjs decoder is a transformers LlamaForCausalLM with our numbers, and a
// LoRA adapter our DPO trains is a PEFT adapter for it. On stories260K (llama2.c format, ../shared/models):
//  1. export-hf's code path (src/llm/hf-export.ts, q/k rows permuted from llama2.c's interleaved RoPE layout,
//     tok512.bin converted to tokenizer.json) → tests/reference/gen/check_hf_llama.py: keys/shapes/dtypes as
//     LlamaForCausalLM's state dict, AutoModelForCausalLM.from_pretrained (float32) logits within
//     LOGIT_TOLERANCE of ours on token ids, and AutoTokenizer giving run.c's token ids and decoded text (ours
//     through transformers.js too, via our loader of the export);
//  2. train-llm (DPO, a few steps on experiments/pairs-stories-toy.jsonl) → PEFT adapter; our logits with it on
//     are what `generate --adapter` computes (readPeftAdapter on the llama2.c model); the adapter rewritten for
//     the export (peftAdapterForHfExport) loads with PeftModel.from_pretrained on the HF model and gives those
//     logits within LOGIT_TOLERANCE. Also: our own loader reads the exported folder back to the same logits.
// Python comes from tests/reference/helpers/python.ts (the Python checks skip with the reason and the fix when
// none has torch + transformers + peft + safetensors; the round trip through our loader still runs).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { readAdapterPath, writeAdapterPath } from '../../src/cli/adapter-files.ts';
import { useBackend } from '../../src/cli/backend.ts';
import { exportHfCommand } from '../../src/cli/export-hf-command.ts';
import { trainLlmCommand } from '../../src/cli/train-llm-command.ts';
import { sourcesFromPath } from '../../src/data/node-sources.ts';
import { modelFilesFromSources } from '../../src/llm/files.ts';
import { exportHfDecoder, peftAdapterForHfExport } from '../../src/llm/hf-export.ts';
import { LlamaModel } from '../../src/llm/llama.ts';
import { loadDecoder, loadDecoderFiles } from '../../src/llm/load.ts';
import { readPeftAdapter } from '../../src/llm/lora-peft.ts';
import { findPython, ROOT, runPythonJson } from './helpers/python.ts';

/** float32 forwards in two frameworks (different summation orders); stories260K logits reach ~15, and agree to ~3e-5. */
const LOGIT_TOLERANCE = 1e-4;
/** Python start + torch/transformers/peft imports take several seconds on 2 busy cores. */
const PYTHON_TIMEOUT_MS = 120_000;
const SCRIPT = new URL('./gen/check_hf_llama.py', import.meta.url).pathname;
const STORIES = join(ROOT, '../shared/models/stories260K');
const TOY_PAIRS = join(ROOT, 'experiments/pairs-stories-toy.jsonl');
/** Token ids of stories260K's 512-token vocabulary, BOS (1) first, as llama2.c feeds them. */
const IDS = [
  [1, 403, 407, 261, 378, 275, 261, 378, 283, 304, 270, 309, 356, 271, 411, 262],
  [1, 32, 117, 250, 7, 88, 300, 12, 499, 2, 64, 128, 256, 3, 45, 510],
  [1, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9],
];

/** run.c's encode/decode (Llama2cTokenizer) vs the converted tokenizer: multiple spaces, newlines, byte fallback. */
const TEXTS = [
  'Once upon a time, there was a little girl named Lily.',
  '',
  'Hello',
  '  two  spaces\nnewline café ☃ 日本',
  'Tom said, "Let\'s play!" They played in the park all day. The end.',
];

const MODULES = ['torch', 'transformers', 'peft', 'safetensors'];
const haveModel = existsSync(join(STORIES, 'stories260K.bin'));
if (!haveModel) console.log(`skipping the HF Llama interop check: ${STORIES} is missing (../shared/models/stories260K)`);
const { python } = haveModel ? findPython(MODULES, 'the HF Llama / PEFT interop check') : { python: null };

interface CheckResult {
  ok: boolean;
  problems: string[];
  architecture: string;
  keys: number;
  max_diff: number;
  adapter_max_diff?: number;
  adapter_base_diff?: number;
  scaling?: number;
  tokenizer?: string;
  texts_encoded_alike?: number;
  texts_decoded_alike?: number;
}

async function logitsOf(model: LlamaModel): Promise<number[][][]> {
  const t = tf.tidy(() => model.logits(tf.tensor2d(IDS.flat(), [IDS.length, IDS[0].length], 'int32')));
  const v = (await t.array()) as number[][][];
  t.dispose();
  return v;
}

function maxAbsDiff(a: number[][][], b: number[][][]): number {
  let m = 0;
  a.forEach((row, i) => row.forEach((pos, j) => pos.forEach((x, k) => (m = Math.max(m, Math.abs(x - b[i][j][k]))))));
  return m;
}

// The round trip through our own loader needs no Python: it runs whenever stories260K is there.
describe.skipIf(!haveModel)('stories260K exported to HF loads in transformers (and its DPO adapter in PEFT) with our logits', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'expandr-hf-llama-'));
  const hfDir = join(tmp, 'hf');
  const adapterDir = join(tmp, 'adapter');
  const hfAdapterDir = join(tmp, 'hf-adapter');
  let ours: number[][][];
  let oursAdapted: number[][][];
  let roundTripDiff: number;
  let tokenIds: number[][];
  let viaOurLoader: number[][];
  let dpo: Record<string, unknown>;

  beforeAll(async () => {
    await useBackend('wasm');
    const files = modelFilesFromSources(await sourcesFromPath(STORIES));
    const loaded = await loadDecoderFiles(files);
    expect(loaded.config.ropeLayout).toBe('interleaved');
    const model = new LlamaModel(loaded.config, loaded.weights);
    ours = await logitsOf(model);
    model.dispose();
    const hf = await exportHfDecoder(loaded.config, loaded.weights, files, loaded.tokenizer);
    expect(hf.permutedQk).toBe(true);
    expect(hf.tokenizerFiles).toEqual(['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']);
    mkdirSync(hfDir, { recursive: true });
    for (const [name, bytes] of hf.files) writeFileSync(join(hfDir, name), bytes);
    const tok = loaded.tokenizer!;
    tokenIds = TEXTS.map((t) => tok.encode(t));
    const decoded = tokenIds.map((ids) => tok.decode(ids));
    writeFileSync(join(tmp, 'ours.json'), JSON.stringify({ ids: IDS, logits: ours, texts: TEXTS, token_ids: tokenIds, decoded }));

    // Our loader reads the export back (half RoPE layout, tied embeddings from config.json, tokenizer.json
    // through transformers.js).
    const back = await loadDecoder(modelFilesFromSources(await sourcesFromPath(hfDir)));
    roundTripDiff = maxAbsDiff(await logitsOf(back.model), ours);
    viaOurLoader = TEXTS.map((t) => back.tokenizer!.encode(t));
    back.model.dispose();

    if (python === null) return;
    // DPO through the train-llm command (q/k/v/o so both permuted projections carry LoRA).
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      await trainLlmCommand(
        ['--model', STORIES, '--pairs', TOY_PAIRS, '--out', adapterDir, '--steps', '3', '--batch', '2', '--accumulation', '1', '--lr', '2e-2',
          '--max-length', '48', '--max-prompt-length', '24', '--lora-targets', 'q_proj,k_proj,v_proj,o_proj', '--lora-dropout', '0.1', '--seed', '5',
          '--backend', 'wasm', '--quiet', '--json'],
        new AbortController().signal,
      );
      dpo = JSON.parse(String(log.mock.calls.at(-1)?.[0]));
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
    // What `generate --adapter` computes: the adapter read onto the llama2.c model (eval mode: no dropout).
    const base = await loadDecoder(modelFilesFromSources(await sourcesFromPath(STORIES)));
    const { lora } = await readPeftAdapter(base.model, readAdapterPath(adapterDir), adapterDir);
    oursAdapted = await logitsOf(base.model);
    lora.dispose();
    base.model.dispose();
    writeFileSync(join(tmp, 'ours-adapter.json'), JSON.stringify({ ids: IDS, logits: oursAdapted }));
    writeAdapterPath(hfAdapterDir, peftAdapterForHfExport(readAdapterPath(adapterDir), loaded.config, hfDir));
  }, 120_000);
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  test('our loader reads the export back to the same logits and token ids', () => {
    console.log(`HF export read back by our loader: max |Δ logits| ${roundTripDiff.toExponential(2)}`);
    expect(roundTripDiff).toBeLessThanOrEqual(LOGIT_TOLERANCE);
    expect(viaOurLoader).toEqual(tokenIds);
  });

  test.skipIf(python === null)('the export-hf command writes the same files (model and converted adapter)', async () => {
    const out = join(tmp, 'cli');
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    let printed: Record<string, unknown>;
    try {
      await exportHfCommand(['--model', STORIES, '--out', out, '--adapter', adapterDir, '--json'], new AbortController().signal);
      printed = JSON.parse(String(log.mock.calls.at(-1)?.[0]));
    } finally {
      log.mockRestore();
    }
    expect(printed).toMatchObject({ format: 'llama2c', architecture: 'llama', permuted_qk: true, adapter_out: join(out, 'adapter') });
    for (const name of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) expect(readFileSync(join(out, name)).equals(readFileSync(join(hfDir, name)))).toBe(true);
    expect(readFileSync(join(out, 'adapter/adapter_model.safetensors')).equals(readFileSync(join(hfAdapterDir, 'adapter_model.safetensors')))).toBe(true);
  });

  test.skipIf(python === null)(`LlamaForCausalLM logits, and PeftModel logits with our DPO adapter, within ${LOGIT_TOLERANCE}`, () => {
    console.log(`train-llm on stories260K: loss ${dpo.loss}, margin ${dpo.margin_before} → ${dpo.margin_after}`);
    const r = runPythonJson<CheckResult>(python!, SCRIPT, [hfDir, join(tmp, 'ours.json'), hfAdapterDir, join(tmp, 'ours-adapter.json')], PYTHON_TIMEOUT_MS);
    console.log(`check_hf_llama.py (${python}): ${JSON.stringify(r.out)}`);
    expect(r.out.problems).toEqual([]);
    expect(r.out.architecture).toBe('LlamaForCausalLM');
    expect(r.out.keys).toBe(1 + 5 * 9 + 1); // embed, 5 layers × 9, norm; lm_head tied
    expect(r.out.max_diff).toBeLessThanOrEqual(LOGIT_TOLERANCE);
    expect(r.out.adapter_max_diff!).toBeLessThanOrEqual(LOGIT_TOLERANCE);
    expect(r.out.adapter_base_diff!).toBeGreaterThan(100 * LOGIT_TOLERANCE);
    expect(r.out.scaling).toBe(32 / 8); // PEFT's lora_alpha / r, as ours
    expect(r.out.tokenizer).toBe('LlamaTokenizerFast');
    expect([r.out.texts_encoded_alike, r.out.texts_decoded_alike]).toEqual([TEXTS.length, TEXTS.length]);
    expect(r.status).toBe(0);
  }, PYTHON_TIMEOUT_MS + 10_000);

  test.skipIf(python === null)('the adapter as trained (llama2.c q/k row order) does not fit the HF export: the permutation matters', () => {
    const r = runPythonJson<CheckResult>(python!, SCRIPT, [hfDir, join(tmp, 'ours.json'), adapterDir, join(tmp, 'ours-adapter.json')], PYTHON_TIMEOUT_MS);
    console.log(`unpermuted adapter on the HF export: max |Δ| ${r.out.adapter_max_diff}`);
    expect(r.out.adapter_max_diff!).toBeGreaterThan(100 * LOGIT_TOLERANCE);
  }, PYTHON_TIMEOUT_MS + 10_000);
});
