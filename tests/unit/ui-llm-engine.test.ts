// The LLM panel's engine choice reads and writes llm.engine in the run's config text, keeping every other key.
import { describe, expect, it } from 'vitest';
import { configuredEngine, withEngine } from '../../src/ui/llm-engine.ts';
import { wllamaThreads } from '../../src/llm/wllama-threads.ts';

describe('llm.engine in the config text', () => {
  it('reads the engine, tfjs by default, null for text that is not a JSON object', () => {
    expect(configuredEngine('{"llm":{"engine":"llama.cpp"}}')).toBe('llama.cpp');
    expect(configuredEngine('{"trainQueries":8}')).toBe('tfjs');
    expect(configuredEngine('')).toBe('tfjs');
    expect(configuredEngine('{"llm":')).toBeNull();
    expect(configuredEngine('[1]')).toBeNull();
  });

  it('writes the engine and keeps the other keys', () => {
    const text = withEngine(JSON.stringify({ trainQueries: 8, llm: { chat: true } }), 'llama.cpp');
    expect(JSON.parse(text)).toEqual({ trainQueries: 8, llm: { chat: true, engine: 'llama.cpp' } });
    expect(configuredEngine(withEngine(text, 'tfjs'))).toBe('tfjs');
  });
});

describe('wllamaThreads', () => {
  it('is 1 without cross-origin isolation, else the request or half the cores', () => {
    expect(wllamaThreads(8, false, 4)).toBe(1);
    expect(wllamaThreads(8, true)).toBe(4);
    expect(wllamaThreads(2, true)).toBe(1);
    expect(wllamaThreads(2, true, 2)).toBe(2);
  });
});
