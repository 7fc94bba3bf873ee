// The wllama TextGenerator's own logic on a fake engine (the real llama.cpp runs in the browser test,
// tests/browser/wllama-generate.test.ts): ids fed are our encodePrompt's, greedy takes the engine's argmax,
// sampling draws from the engine's distribution with each prompt's own seeded stream (reproducible, independent
// of batch neighbours), stop ids end a text, a prompt past the context is a GenerationFailure, provenance.
import { describe, expect, it } from 'vitest';
import { WllamaGenerator, WLLAMA_CONTEXT, type WllamaLike } from '../../src/app/wllama-generator.ts';
import type { DecoderTokenizer } from '../../src/llm/tokenizer.ts';

const VOCAB = 6;
const EOS = 5;

/** Characters a..e are ids 0..4; EOS is 5. No chat template. */
const tokenizer: DecoderTokenizer = {
  vocabSize: VOCAB,
  bosId: null,
  eosIds: [EOS],
  padId: 0,
  hasChatTemplate: false,
  encode: (text) => [...text].map((c) => c.charCodeAt(0) - 97),
  decode: (ids) => ids.map((i) => String.fromCharCode(97 + i)).join(''),
  applyChatTemplate: () => {
    throw new Error('no template');
  },
};

/**
 * A fake llama.cpp whose next-token distribution depends on the last token fed: after token t, probabilities
 * favour (t + 1) mod 5, with EOS likely after `eosAfter` tokens of a sequence.
 */
function fakeEngine(opts: { eosAfter?: number; ctx?: number } = {}): WllamaLike & { fed: number[][] } {
  let seq: number[] = [];
  const fed: number[][] = [];
  const probs = (): number[] => {
    const last = seq[seq.length - 1] ?? 0;
    const p = [0.1, 0.1, 0.1, 0.1, 0.1, 0.0];
    p[(last + 1) % 5] = 0.5;
    if (opts.eosAfter !== undefined && seq.length >= opts.eosAfter) return [0, 0, 0, 0, 0, 1];
    return p;
  };
  return {
    fed,
    loadModel: async () => undefined,
    decode: async (tokens) => {
      seq.push(...tokens);
      fed.push([...tokens]);
      return { nPast: seq.length };
    },
    getLogits: async (k) => {
      const all = probs().map((p, token) => ({ token, p })).sort((a, b) => b.p - a.p);
      return k < 0 ? all : all.slice(0, k);
    },
    samplingInit: async () => undefined,
    samplingSample: async () => {
      const p = probs();
      return { token: p.indexOf(Math.max(...p)) };
    },
    kvClear: async () => {
      seq = [];
    },
    exit: async () => undefined,
    isMultithread: () => false,
    getNumThreads: () => 1,
    getLoadedContextInfo: () => ({ n_ctx: opts.ctx ?? 64, n_vocab: VOCAB }),
    tokenize: async (text) => tokenizer.encode(text),
    formatChat: async () => '',
  };
}

const create = (engine: WllamaLike, maxSeqLen = 64) =>
  WllamaGenerator.create({ model: new Blob([new Uint8Array(1)]), tokenizer, id: 'fake.gguf', precision: 'Q4_1', chat: false, maxSeqLen, engine: async () => engine });

describe('WllamaGenerator', () => {
  it('feeds our prompt ids, takes the argmax greedily and states its provenance', async () => {
    const engine = fakeEngine();
    const gen = await create(engine);
    expect(gen.provenance).toEqual({ engine: 'llama.cpp', precision: 'Q4_1', model: 'fake.gguf', sampler: 'expandr' });
    const [text] = await gen.generate(['ab'], { temperature: 0, topP: 1, maxTokens: 4, seed: 0 });
    expect(engine.fed[0]).toEqual([0, 1]);
    expect(text).toBe('cdea');
  });

  it('stops at an end-of-generation id without keeping it', async () => {
    const gen = await create(fakeEngine({ eosAfter: 3 }));
    expect(await gen.generate(['ab'], { temperature: 0, topP: 1, maxTokens: 10, seed: 0 })).toEqual(['c']);
  });

  it('samples each prompt from its own seeded stream: reproducible, and independent of batch neighbours', async () => {
    const gen = await create(fakeEngine());
    const s = { temperature: 1.5, topP: 1, maxTokens: 12, seed: 3 };
    const a = await gen.generate(['a', 'b'], s, { seeds: [11, 12] });
    const b = await gen.generate(['b'], s, { seeds: [12] });
    expect(await gen.generate(['a', 'b'], s, { seeds: [11, 12] })).toEqual(a);
    expect(b[0]).toBe(a[1]);
    expect((await gen.generate(['a'], s, { seeds: [99] }))[0]).not.toBe(a[0]);
  });

  it('keeps sampling inside the nucleus', async () => {
    const gen = await create(fakeEngine());
    // After token t only (t + 1) mod 5 has 0.5 ≥ top-p 0.4: every sampled step follows the chain.
    const [text] = await gen.generate(['a'], { temperature: 1, topP: 0.4, maxTokens: 6, seed: 5 });
    expect(text).toBe('bcdeab');
  });

  it('returns a GenerationFailure for a prompt with no room in the context, and runs the others', async () => {
    const gen = await create(fakeEngine({ ctx: 4 }), 4);
    const out = await gen.generate(['abcd', 'ab'], { temperature: 0, topP: 1, maxTokens: 5, seed: 0 });
    expect(out[0]).toEqual({ failed: expect.stringContaining("llama.cpp's context of 4 tokens") });
    expect(out[1]).toBe('cd'); // capped by the context: 2 prompt + 2 new
  });

  it('caps the context at WLLAMA_CONTEXT', async () => {
    let asked = 0;
    const engine = fakeEngine();
    const gen = await WllamaGenerator.create({
      model: new Blob([new Uint8Array(1)]), tokenizer, id: 'x', precision: 'Q8_0', chat: false, maxSeqLen: 1 << 20,
      engine: async () => ({ ...engine, loadModel: async (_b, c) => void (asked = c.n_ctx) }),
    });
    expect(asked).toBe(WLLAMA_CONTEXT);
    gen.dispose();
    await expect(gen.generate(['a'], { temperature: 0, topP: 1, maxTokens: 1, seed: 0 })).rejects.toThrow(/disposed/);
  });
});
