// A fake LLM side for the loop tests: an "adapter" is one byte, its level, and LLM_t's expansion repeats the
// query t + 1 times, so each round's LLM expands differently and the base LLM's expansion is the query itself.
// Candidates are the query and 'unrelated words'; every train query gives the pair (query, unrelated words).
import type { LlmSide } from '../../../src/pipeline/loop.ts';

export const levelLlm: LlmSide = {
  generator: async (adapter, name) => ({ id: name, generate: async (prompts: readonly string[]) => prompts.map((p) => p), level: adapter?.get('level')?.[0] ?? 0 }) as never,
  expand: async (gen, queries) => {
    const level = (gen as unknown as { level: number }).level;
    return new Map(queries.map((q) => [q.id, Array(level + 1).fill(q.text).join(' ')]));
  },
  candidates: async (_gen, queries) => queries.map((q) => ({ qid: q.qid, answer: q.query, candidates: [{ text: q.query, temperature: 0.8, sample: 0 }, { text: 'unrelated words', temperature: 1.1, sample: 0 }] })),
  preferences: async (_enc, _cands, queries) => ({ records: [], pairs: queries.map((q) => ({ prompt: q.query, chosen: q.query, rejected: 'unrelated words' })) }),
  trainDpo: async (_pairs, from) => ({ adapter: new Map([['level', Uint8Array.of((from?.get('level')?.[0] ?? 0) + 1)]]), curve: [] }),
};
