// The config key llm.engine: 'tfjs' by default, 'llama.cpp' only with a .gguf model (the error names the fix).
import { describe, expect, it } from 'vitest';
import { EXPERIMENT_DEFAULTS, experimentConfig } from '../../src/pipeline/config.ts';
import { DEFAULT_NOTES } from '../../src/pipeline/config-notes.ts';

describe('llm.engine', () => {
  it("defaults to 'tfjs' and has its reason in the notes", () => {
    expect(EXPERIMENT_DEFAULTS.llm.engine).toBe('tfjs');
    expect(experimentConfig({}).llm.engine).toBe('tfjs');
    expect(DEFAULT_NOTES['llm.engine'].ours).toBe('"tfjs"');
  });

  it('takes llama.cpp with a .gguf model', () => {
    const c = experimentConfig({ llm: { model: '/m/SmolLM2-135M-Instruct.Q4_1.GGUF', engine: 'llama.cpp' } });
    expect(c.llm).toEqual({ model: '/m/SmolLM2-135M-Instruct.Q4_1.GGUF', chat: true, engine: 'llama.cpp' });
  });

  it('refuses llama.cpp with a folder or preset, naming the key and the fix', () => {
    const bad = () => experimentConfig({ llm: { model: '.cache/models/smollm2', engine: 'llama.cpp' } }, 'exp.json');
    expect(bad).toThrow(/exp\.json: "llm\.engine" "llama\.cpp" reads GGUF files only/);
    expect(bad).toThrow(/set llm\.engine to "tfjs"/);
    expect(() => experimentConfig({ llm: { model: 'Qwen2.5-0.5B-Instruct-q4f16_1-MLC', engine: 'llama.cpp' } })).toThrow(/\.gguf file/);
  });

  it('refuses an unknown engine', () => {
    expect(() => experimentConfig({ llm: { engine: 'vllm' } }, 'exp.json')).toThrow(/"llm\.engine" must be one of "tfjs", "llama\.cpp"/);
  });
});
