// `expandr train-llm` and `generate --adapter` end to end (wasm, the runner's default): the JSON line (loss, margin_before,
// margin_after), the PEFT folder, checkpoints + --resume, a bad pairs line named by file and line, and the
// shipped toy pairs on stories260K (../shared/models, skipped when absent).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { useBackend } from '../../src/cli/backend.ts';
import { generateCommand } from '../../src/cli/generate-command.ts';
import { trainLlmCommand } from '../../src/cli/train-llm-command.ts';
import { FileFormatError } from '../../src/errors.ts';

const QWEN = new URL('../reference/fixtures/tiny-qwen2', import.meta.url).pathname;
const STORIES = new URL('../../../shared/models/stories260K', import.meta.url).pathname;
const TOY_PAIRS = new URL('../../experiments/pairs-stories-toy.jsonl', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'expandr-train-llm-'));
const pairs = join(tmp, 'pairs.jsonl');

beforeAll(async () => {
  await useBackend('wasm');
  const rows = [
    { prompt: 'Question: what is vitamin D?', chosen: 'Vitamin D helps the body absorb calcium.', rejected: 'Once upon a time.' },
    { prompt: 'Question: what keeps bones strong?', chosen: 'Calcium keeps bones strong.', rejected: 'Hello, world!' },
    { prompt: 'Please write a passage.', chosen: 'Dense retrievers encode queries.', rejected: 'Lily loved to play outside.' },
  ];
  writeFileSync(pairs, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function run(command: typeof trainLlmCommand, args: string[]): Promise<Record<string, unknown>> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  const err = vi.spyOn(console, 'error').mockImplementation(() => {});
  try {
    await command(args, new AbortController().signal);
    const lines = log.mock.calls.map((c) => String(c[0]));
    return JSON.parse(lines[lines.length - 1]);
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
}

describe('train-llm command', () => {
  const out = join(tmp, 'adapter');
  const base = ['--model', QWEN, '--pairs', pairs, '--out', out, '--batch', '2', '--accumulation', '1', '--lr', '1e-2', '--max-length', '56', '--max-prompt-length', '24', '--backend', 'wasm', '--quiet', '--json'];

  it('trains, prints {"loss", "margin_before", "margin_after"} and writes a PEFT folder that generate --adapter loads', async () => {
    const json = await run(trainLlmCommand, [...base, '--steps', '4', '--checkpoint-every', '2']);
    console.log(`train-llm tiny-qwen2: loss ${json.loss}, margin ${json.margin_before} → ${json.margin_after}`);
    expect(json).toMatchObject({ steps: 4, pairs: 3, chat: true, margin_before: 0, loss_before: Math.LN2, resumedFrom: null });
    expect(json.margin_after as number).toBeGreaterThan(json.margin_before as number);
    expect(Number.isFinite(json.loss)).toBe(true);
    const cfg = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'));
    expect(cfg).toMatchObject({ peft_type: 'LORA', r: 8, lora_alpha: 32, target_modules: ['q_proj', 'v_proj'], base_model_name_or_path: QWEN });
    expect(existsSync(join(out, 'adapter_model.safetensors'))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'training_info.json'), 'utf8')).curve).toHaveLength(4);
    expect(existsSync(join(out, 'checkpoint', 'dpo_state.safetensors'))).toBe(true);

    const gen = (adapter: string[]) => run(generateCommand, ['--model', QWEN, '--prompt', 'Question: what is vitamin D?', '--raw', '--greedy', '--max-tokens', '6', '--backend', 'wasm', '--quiet', '--json', ...adapter]);
    const [plain, tuned] = [await gen([]), await gen(['--adapter', out])];
    expect(tuned.adapter).toBe(out);
    expect(typeof tuned.text).toBe('string');
    expect(plain.adapter).toBeNull();
  });

  it('--resume continues from OUT/checkpoint to the same adapter', async () => {
    const first = readFileSync(join(out, 'adapter_model.safetensors'));
    const again = await run(trainLlmCommand, [...base, '--steps', '4', '--resume']);
    expect(again.resumedFrom).toBe(4); // the run above ended at step 4: nothing left to do
    expect(readFileSync(join(out, 'adapter_model.safetensors')).equals(first)).toBe(true);
  });

  it('a bad pairs line is reported with the file and line number', async () => {
    const bad = join(tmp, 'bad.jsonl');
    writeFileSync(bad, '{"prompt":"a","chosen":"b","rejected":"c"}\n{"prompt":"a","chosen":"b"}\n');
    const err = await trainLlmCommand([...base, '--pairs', bad], new AbortController().signal).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileFormatError);
    expect((err as Error).message).toBe(`${bad} line 2: "rejected" is missing. Every line needs string fields "prompt", "chosen" and "rejected"`);
  });

  it.skipIf(!existsSync(STORIES))('stories260K with the shipped toy pairs: the margin rises', async () => {
    const json = await run(trainLlmCommand, ['--model', STORIES, '--pairs', TOY_PAIRS, '--out', join(tmp, 'stories'), '--steps', '6', '--batch', '2', '--accumulation', '2', '--lr', '1e-3', '--backend', 'wasm', '--quiet', '--json']);
    console.log(`train-llm stories260K toy (6 steps, lr 1e-3, wasm): margin ${json.margin_before} → ${json.margin_after}, loss ${json.loss_before} → ${json.loss_after}`);
    expect(json).toMatchObject({ pairs: 12, chat: false, margin_before: 0 });
    expect(json.margin_after as number).toBeGreaterThan(0.05);
  });
});
