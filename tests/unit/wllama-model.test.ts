// What the page hands llama.cpp (src/app/wllama-model.ts), on a tiny llama.cpp-style GGUF and a fake engine:
// the dropped file's bytes, or with an adapter the merged GGUF (the Export step's bytes); the id, precision
// and tokenizer of the GGUF; and a clear refusal for an LLM that is not a GGUF.
import { describe, expect, it } from 'vitest';
import { exportAdapterAsGguf } from '../../src/app/export-gguf.ts';
import type { LoadedLlm } from '../../src/app/llm-session.ts';
import type { WllamaLike } from '../../src/app/wllama-generator.ts';
import { loadWllamaGenerator } from '../../src/app/wllama-model.ts';
import { modelFilesFromBytes } from '../../src/llm/files.ts';
import { adapterHash } from '../../src/pipeline/generators.ts';
import { seededLoraAdapter, TINY_GGUF_CONFIG, tinyGguf } from './helpers/tiny-gguf.ts';

/** A fake engine that keeps the Blob it was asked to load. */
function recordingEngine(): { engine: WllamaLike; loaded: () => Blob | undefined } {
  let blob: Blob | undefined;
  const engine = {
    loadModel: async (blobs: Blob[]) => void (blob = blobs[0]),
    isMultithread: () => false,
    getNumThreads: () => 1,
    getLoadedContextInfo: () => ({ n_ctx: 64, n_vocab: TINY_GGUF_CONFIG.vocab }),
    exit: async () => undefined,
  } as unknown as WllamaLike;
  return { engine, loaded: () => blob };
}

const bytesOf = async (b: Blob) => new Uint8Array(await b.arrayBuffer());

async function tinyLlm(): Promise<{ llm: LoadedLlm; bytes: Uint8Array }> {
  const bytes = await tinyGguf();
  const files = modelFilesFromBytes({ 'tiny.gguf': bytes }, 'tiny.gguf');
  const llm = { files, summary: { handle: 'l1', name: 'tiny.gguf', engine: 'tfjs', format: 'gguf', arch: 'llama', layers: 2, dim: 64, vocab: 128, chat: true, maxSeqLen: 64 } } as LoadedLlm;
  return { llm, bytes };
}

describe('loadWllamaGenerator', () => {
  it('loads the GGUF as it is, named and typed as the file', async () => {
    const { llm, bytes } = await tinyLlm();
    const { engine, loaded } = recordingEngine();
    const gen = await loadWllamaGenerator(llm, { chat: true, engine: async () => engine });
    expect(await bytesOf(loaded()!)).toEqual(bytes);
    expect(gen.provenance).toEqual({ engine: 'llama.cpp', precision: 'Q4_1', model: 'tiny.gguf', sampler: 'expandr' });
    // The chat template of the GGUF renders the prompt, as the tfjs decoder's encodePrompt does.
    expect(gen.promptIds('t5').length).toBeGreaterThan(1);
  });

  it('loads the adapter merged into the GGUF (the Export step\'s bytes) under the adapter\'s id', async () => {
    const { llm } = await tinyLlm();
    const adapter = seededLoraAdapter({ baseModel: 'tiny.gguf' });
    const { engine, loaded } = recordingEngine();
    const gen = await loadWllamaGenerator(llm, { chat: true, adapter, engine: async () => engine });
    expect(await bytesOf(loaded()!)).toEqual(await bytesOf(await exportAdapterAsGguf(llm, adapter)));
    expect(gen.id).toBe(`tiny.gguf+lora:${adapterHash(adapter)}`);
  });

  it('refuses an LLM that is not a GGUF, naming the fix', async () => {
    const { llm } = await tinyLlm();
    const hf = { ...llm, summary: { ...llm.summary, format: 'hf' as const } };
    await expect(loadWllamaGenerator(hf, { chat: true, engine: async () => recordingEngine().engine })).rejects.toThrow(/llm.engine "llama.cpp" runs a .gguf file.*"tfjs"/);
  });
});
