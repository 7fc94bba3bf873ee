// Failed generations are not answers (issue 14.4): a prompt the generator could not run is retried
// GENERATION_RETRIES times, then counted and never cached, so a rerun tries it again; a query whose
// expansion failed is left out of the expansions (scored plain), not given ''. And generations record their
// engine and precision (issue 14.3): the cache keys on both, the file cache writes them beside the text, and
// a decoder's precision is read from its files' headers.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CancelledError } from '../../src/errors.ts';
import { FileGenerationCache, GENERATION_CACHE_FILE } from '../../src/cli/generation-cache-file.ts';
import { sampleCandidateSets } from '../../src/pipeline/candidates.ts';
import { generateExpansions } from '../../src/pipeline/expansions.ts';
import { generateCached, GENERATION_RETRIES, MemoryGenerationCache, type FailedGeneration, type GenerationJob } from '../../src/pipeline/generation-cache.ts';
import { webLlmPrecision, type GenerationProvenance } from '../../src/pipeline/generation-provenance.ts';
import { decoderPrecision } from '../../src/llm/weight-precision.ts';
import type { GenerationFailure, SamplingSettings, TextGenerator } from '../../src/pipeline/types.ts';
import { modelFilesFromBytes, modelFilesFromSources } from '../../src/llm/files.ts';
import { fromFile } from '../../src/data/source.ts';
import { folderFiles } from './helpers/folder-files.ts';
import { tinyGguf } from './helpers/tiny-gguf.ts';

const S: SamplingSettings = { temperature: 0.8, topP: 0.9, maxTokens: 16, seed: 42 };
const QUERIES = [
  { id: 'q1', text: 'why is the sky blue' },
  { id: 'q2', text: 'what are tides' },
];
const TFJS: GenerationProvenance = { engine: 'tfjs', precision: 'float32', model: 'fake' };

/** Fails prompts containing `bad` the first `failures` times it sees them (Infinity: always); `throws` throws instead of returning a failure. */
class FlakyGenerator implements TextGenerator {
  readonly id = 'fake';
  calls = 0;
  seen = new Map<string, number>();
  constructor(
    private readonly bad: string,
    private readonly failures: number,
    private readonly mode: 'fail' | 'throw' = 'fail',
    readonly provenance: GenerationProvenance | undefined = TFJS,
  ) {}
  async generate(prompts: readonly string[]): Promise<(string | GenerationFailure)[]> {
    this.calls++;
    return prompts.map((p) => {
      if (!p.includes(this.bad)) return `text for ${p.split('\n')[1]}`;
      const n = (this.seen.get(p) ?? 0) + 1;
      this.seen.set(p, n);
      if (n > this.failures) return `text for ${p.split('\n')[1]}`;
      if (this.mode === 'throw') throw new Error('device lost');
      return { failed: `context window exceeded (try ${n})` };
    });
  }
}

const job = (qid: string, prompt: string): GenerationJob => ({ qid, kind: 'q2d', prompt, sampling: S, sample: 0 });

describe('failed generations', () => {
  it('retries a prompt that fails twice, then keeps and caches its text', async () => {
    expect(GENERATION_RETRIES).toBe(2);
    const gen = new FlakyGenerator('tides', 2);
    const cache = new MemoryGenerationCache();
    const out = await generateExpansions(gen, QUERIES, S, cache);
    expect(out.get('q2')).toBe('text for Question: what are tides');
    expect(gen.calls).toBe(3); // the failed prompt alone on the retries
    expect(cache.size).toBe(2);
    expect(await generateExpansions(new FlakyGenerator('tides', Infinity), QUERIES, S, cache)).toEqual(out); // from the cache
  });

  it('retries a call that throws, then keeps its texts', async () => {
    const gen = new FlakyGenerator('tides', 2, 'throw');
    const out = await generateCached(gen, [job('q2', 'x\ntides')], new MemoryGenerationCache());
    expect(out).toEqual({ texts: ['text for tides'], failures: [] });
  });

  it('counts a prompt that always fails, caches nothing of it, and tries it again on a rerun', async () => {
    const gen = new FlakyGenerator('tides', Infinity);
    const cache = new MemoryGenerationCache();
    const heard: FailedGeneration[][] = [];
    const out = await generateExpansions(gen, QUERIES, S, cache, {}, { onFailures: (f) => heard.push(f) });
    expect([...out.keys()]).toEqual(['q1']); // no '' for q2: it is scored without an expansion
    expect(heard).toEqual([[{ qid: 'q2', kind: 'q2d', sample: 0, error: 'context window exceeded (try 3)', attempts: 3 }]]);
    expect(cache.size).toBe(1);
    expect([...cache.entries.values()]).toEqual(['text for Question: why is the sky blue']);
    const before = gen.seen.get([...gen.seen.keys()][0])!;
    await generateExpansions(gen, QUERIES, S, cache);
    expect(gen.seen.get([...gen.seen.keys()][0])).toBe(before + 1 + GENERATION_RETRIES); // asked again, not served from the cache
  });

  it('lets an error that persists through the retries stop the run, caching nothing of its chunk', async () => {
    const gen = new FlakyGenerator('tides', Infinity, 'throw');
    const cache = new MemoryGenerationCache();
    await expect(generateCached(gen, [job('q1', 'x\nsky'), job('q2', 'x\ntides')], cache, { chunk: 2 })).rejects.toThrow('device lost');
    expect(gen.calls).toBe(1 + GENERATION_RETRIES);
    expect(cache.size).toBe(0);
  });

  it('does not retry a cancel', async () => {
    let calls = 0;
    const gen: TextGenerator = {
      id: 'c',
      generate: async () => {
        calls++;
        throw new CancelledError('Generation was cancelled.');
      },
    };
    await expect(generateCached(gen, [job('q1', 'x\ny')], new MemoryGenerationCache())).rejects.toBeInstanceOf(CancelledError);
    expect(calls).toBe(1);
  });

  it('marks candidates and answers that failed, leaving them out rather than empty', async () => {
    const gen = new FlakyGenerator('Related Document', Infinity); // every Q2A prompt fails
    const sets = await sampleCandidateSets(
      gen,
      [{ qid: 't1', query: 'tides', goldDocId: 'd1', goldDoc: 'The moon pulls the sea.' }],
      { candidates: { temperatures: [0.8], perTemperature: 2, topP: 0.9, maxTokens: 16 }, answer: S, seed: 42 },
      new MemoryGenerationCache(),
    );
    expect(sets).toEqual([{ qid: 't1', answer: '', answerFailed: true, failed: 1, candidates: [expect.any(Object), expect.any(Object)] }]);
  });
});

describe('engine and precision of generations', () => {
  const dir = mkdtempSync(join(tmpdir(), 'expandr-genprov-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keys the cache on engine and precision: another precision of the same id is not a hit', async () => {
    const cache = new MemoryGenerationCache();
    const f32 = new FlakyGenerator('-', 0);
    await generateExpansions(f32, QUERIES, S, cache);
    const q4 = new FlakyGenerator('-', 0, 'fail', { engine: 'tfjs', precision: 'Q4_1', model: 'fake' });
    await generateExpansions(q4, QUERIES, S, cache);
    expect(q4.calls).toBe(1);
    expect(cache.size).toBe(4);
    const web = new FlakyGenerator('-', 0, 'fail', { engine: 'webllm', precision: 'Q4_1', model: 'fake' });
    await generateExpansions(web, QUERIES, S, cache);
    expect(web.calls).toBe(1);
    const again = new FlakyGenerator('-', 0);
    await generateExpansions(again, QUERIES, S, cache);
    expect(again.calls).toBe(0);
  });

  it('writes engine and precision beside each text in the runner cache file', async () => {
    await generateExpansions(new FlakyGenerator('-', 0, 'fail', { engine: 'tfjs', precision: 'Q4_1', model: 'fake' }), QUERIES, S, new FileGenerationCache(dir));
    const lines = readFileSync(join(dir, GENERATION_CACHE_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ text: 'text for Question: why is the sky blue', engine: 'tfjs', precision: 'Q4_1' });
  });

  it("reads a decoder's weight precision from its headers", async () => {
    expect(await decoderPrecision(modelFilesFromBytes({ 'tiny.gguf': await tinyGguf() }, 'tiny.gguf'))).toBe('Q4_1'); // matrices Q4_1, embedding Q8_0, norms F32
    const qwen = modelFilesFromSources(folderFiles(join(import.meta.dirname, '../reference/fixtures/tiny-qwen2'), 'tiny-qwen2').map((f) => fromFile(f.file, f.path)));
    expect(await decoderPrecision(qwen)).toBe('float32');
    const stories = modelFilesFromSources(
      ['stories260K.bin', 'tok512.bin'].map((n) => fromFile(new Blob([readFileSync(join(import.meta.dirname, '../../../shared/models/stories260K', n))]), `stories260K/${n}`)),
    );
    expect(await decoderPrecision(stories)).toBe('float32');
    expect(webLlmPrecision('Qwen2.5-0.5B-Instruct-q4f16_1-MLC')).toBe('q4f16_1');
    expect(webLlmPrecision('SmolLM2-360M-Instruct-q0f16-MLC')).toBe('q0f16');
    expect(webLlmPrecision('custom-model')).toBe('unknown');
  });
});
