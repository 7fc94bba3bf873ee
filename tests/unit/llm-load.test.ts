// Loading model folders: sharded safetensors equal the single file, what is missing or mismatched is
// named, format detection; and the `generate` runner command on an HF folder with a chat template.
import { readdirSync, readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, test, vi } from 'vitest';
import { generateCommand } from '../../src/cli/generate-command.ts';
import { ModelFormatError, UsageError } from '../../src/errors.ts';
import { modelFilesFromBytes } from '../../src/llm/files.ts';
import { detectFormat, loadDecoder, loadDecoderFiles } from '../../src/llm/load.ts';
import { readSafetensors, writeSafetensors, type TensorToWrite } from '../../src/model/safetensors.ts';

const QWEN_DIR = new URL('../reference/fixtures/tiny-qwen2/', import.meta.url);
const qwenFiles = (): Record<string, Uint8Array> =>
  Object.fromEntries(readdirSync(QWEN_DIR).map((n) => [n, new Uint8Array(readFileSync(new URL(n, QWEN_DIR)))]));

/** The tensors of a safetensors file as writeSafetensors input. */
function tensorsOf(bytes: Uint8Array): Map<string, TensorToWrite> {
  const st = readSafetensors(bytes);
  return new Map([...st.tensors].map(([name, info]) => [name, { shape: info.shape, data: st.getFloat32(name) }]));
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('HF folders', () => {
  test('sharded safetensors (model.safetensors.index.json) load the same model as the single file', async () => {
    const files = qwenFiles();
    const all = [...tensorsOf(files['model.safetensors'])];
    const half = Math.ceil(all.length / 2);
    const shards = { 'model-00001-of-00002.safetensors': all.slice(0, half), 'model-00002-of-00002.safetensors': all.slice(half) };
    const sharded: Record<string, Uint8Array | string> = { ...files };
    delete sharded['model.safetensors'];
    const weightMap: Record<string, string> = {};
    for (const [file, entries] of Object.entries(shards)) {
      sharded[file] = writeSafetensors(new Map(entries));
      for (const [name] of entries) weightMap[name] = file;
    }
    sharded['model.safetensors.index.json'] = JSON.stringify({ metadata: {}, weight_map: weightMap });
    const a = await loadDecoderFiles(modelFilesFromBytes(files));
    const b = await loadDecoderFiles(modelFilesFromBytes(sharded));
    expect([...b.weights.keys()].sort()).toEqual([...a.weights.keys()].sort());
    for (const [name, w] of a.weights) expect(b.weights.get(name)!.data).toEqual(w.data);
  });

  test('a missing weight, a wrong shape and missing files are named', async () => {
    const files = qwenFiles();
    const tensors = tensorsOf(files['model.safetensors']);
    tensors.delete('model.layers.1.self_attn.k_proj.bias');
    await expect(loadDecoderFiles(modelFilesFromBytes({ ...files, 'model.safetensors': writeSafetensors(tensors) }))).rejects.toThrow(
      /missing 1 weight\(s\): model\.layers\.1\.self_attn\.k_proj\.bias/,
    );
    const config = JSON.parse(new TextDecoder().decode(files['config.json']));
    const wrong = { ...files, 'config.json': JSON.stringify({ ...config, intermediate_size: 65 }) };
    await expect(loadDecoderFiles(modelFilesFromBytes(wrong))).rejects.toThrow(/has shape \[64,32\] but the config needs \[65,32\]/);
    const noWeights: Record<string, Uint8Array> = { ...files, 'pytorch_model.bin': new Uint8Array(4) };
    delete noWeights['model.safetensors'];
    await expect(loadDecoderFiles(modelFilesFromBytes(noWeights))).rejects.toThrow(/Convert pytorch_model\.bin to safetensors/);
    expect(() => detectFormat(modelFilesFromBytes({ 'README.md': 'hi' }))).toThrow(ModelFormatError);
    await expect(loadDecoderFiles(modelFilesFromBytes({ 'a.bin': new Uint8Array(28), 'b.bin': new Uint8Array(28) }))).rejects.toThrow(/one model \.bin and one tokenizer/);
  });

  test('without tokenizer files the model loads, the tokenizer is null', async () => {
    const files = qwenFiles();
    const { model, tokenizer } = await loadDecoder(modelFilesFromBytes({ 'config.json': files['config.json'], 'model.safetensors': files['model.safetensors'] }));
    expect(tokenizer).toBeNull();
    expect(model.config.eosIds).toEqual([2]);
    model.dispose();
  });
});

describe('`expandr generate` command', () => {
  const run = async (args: string[]) => {
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((s: string) => void lines.push(s));
    try {
      await generateCommand([...args, '--backend', 'cpu', '--quiet'], new AbortController().signal);
    } finally {
      log.mockRestore();
    }
    return lines;
  };
  const dir = QWEN_DIR.pathname;

  test('--json: chat-templated by default, --raw plain; the last line is one object', async () => {
    const chat = JSON.parse((await run(['--model', dir, '--prompt', 'what is vitamin D?', '--max-tokens', '4', '--greedy', '--json'])).pop()!);
    expect(chat).toMatchObject({ chat: true, format: 'hf', backend: 'cpu', engine: 'tfjs', precision: 'float32' });
    expect(chat.tokens).toBeLessThanOrEqual(4);
    // tokens_per_s counts the prompt pass: generated tokens over prefill + decoding time.
    expect(chat.tokens_per_s).toBeCloseTo(chat.tokens / ((chat.prefill_ms + chat.decode_ms) / 1000), 0);
    expect(typeof chat.text).toBe('string');
    const raw = JSON.parse((await run(['--model', dir, '--prompt', 'Question:', '--max-tokens', '3', '--seed', '5', '--json', '--raw'])).pop()!);
    expect(raw.chat).toBe(false);
  });

  test('usage errors', async () => {
    await expect(run(['--model', dir])).rejects.toThrow(UsageError);
    await expect(run(['--model', dir, '--prompt', 'x', '--adapter', '/nonexistent/adapter'])).rejects.toThrow(/no such file or folder. Give a PEFT adapter folder/);
    await expect(run(['--model', dir, '--prompt', 'x', '--top-p', '0'])).rejects.toThrow(/--top-p/);
    await expect(run(['--model', dir, '--prompt', 'x', '--temperature', '-1'])).rejects.toThrow(/--temperature/);
  });
});
