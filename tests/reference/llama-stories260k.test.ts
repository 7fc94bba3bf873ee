// The shipped stories260K model (llama2.c format) against two outside references:
//  - the published greedy sample, ../shared/models/stories260K/expected-greedy.txt (llama2.c `run -t 0.0`,
//    default -n 256: 256 tokens after BOS), through the runner command of DESIGN.md §5;
//  - llama2.c's run.c itself (fixtures/llama2c-stories260k.json, tests/reference/gen/llama2c_run.py):
//    BPE encode ids, logits of forward(), and the token ids of its generate() loop — greedy, and sampled
//    with temperature/top-p when our sampler is fed run.c's xorshift coins.
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { useBackend, type BackendName } from '../../src/cli/backend.ts';
import { generateCommand } from '../../src/cli/generate-command.ts';
import { sourcesFromPath } from '../../src/data/node-sources.ts';
import { modelFilesFromSources } from '../../src/llm/files.ts';
import { generate } from '../../src/llm/generate.ts';
import type { LlamaModel } from '../../src/llm/llama.ts';
import { Llama2cTokenizer } from '../../src/llm/llama2c-tokenizer.ts';
import { loadDecoder } from '../../src/llm/load.ts';

const MODEL_DIR = new URL('../../../shared/models/stories260K', import.meta.url).pathname;
const EXPECTED = readFileSync(`${MODEL_DIR}/expected-greedy.txt`, 'utf8');
const FIXTURE = JSON.parse(readFileSync(new URL('./fixtures/llama2c-stories260k.json', import.meta.url), 'utf8')) as {
  encode: { text: string; ids: number[] }[];
  logits: number[][];
  samples: { prompt: string; temperature: number; topp: number; seed: number; steps: number; ids: number[]; stdout: string }[];
};
/** float32 forward in tfjs vs run.c's float32 loops: only summation order differs. */
const LOGIT_TOLERANCE = 1e-4;
const GENERATION_TIMEOUT_MS = 120_000;

/** run.c's random_u32 / random_f32: xorshift64* on a 64-bit state, 24-bit floats. */
function llama2cCoins(seed: number): () => number {
  const M = (1n << 64n) - 1n;
  let s = BigInt(seed);
  return () => {
    s ^= s >> 12n;
    s = (s ^ (s << 25n)) & M;
    s ^= s >> 27n;
    const u32 = Number(((s * 0x2545f4914f6cdd1dn) & M) >> 32n);
    return Math.fround((u32 >>> 8) / 16777216);
  };
}

async function load() {
  const { model, tokenizer } = await loadDecoder(modelFilesFromSources(await sourcesFromPath(MODEL_DIR)));
  return { model, tokenizer: tokenizer as Llama2cTokenizer };
}

describe('stories260K: the published greedy sample, through the runner', () => {
  test(
    '`generate --prompt "" --greedy --max-tokens 255` prints the published text up to its last token',
    async () => {
      const lines: string[] = [];
      const log = vi.spyOn(console, 'log').mockImplementation((s: string) => void lines.push(s));
      try {
        await generateCommand(['--model', MODEL_DIR, '--prompt', '', '--greedy', '--max-tokens', '255', '--backend', 'wasm', '--json', '--quiet'], new AbortController().signal);
      } finally {
        log.mockRestore();
      }
      const out = JSON.parse(lines[lines.length - 1]) as { text: string; tokens: number };
      expect(out.tokens).toBe(255);
      const expectedLines = EXPECTED.split('\n');
      expect(out.text.split('\n').slice(0, 3)).toEqual(expectedLines.slice(0, 3));
      // run.c's default -n 256 makes 256 tokens; 255 stop one short, before the final ".".
      expect(out.text).toBe(EXPECTED.trimEnd().slice(0, -1));
    },
    GENERATION_TIMEOUT_MS,
  );
});

describe('stories260K vs llama2.c run.c', () => {
  let model: LlamaModel;
  let tokenizer: Llama2cTokenizer;
  beforeAll(async () => {
    await useBackend('wasm');
    ({ model, tokenizer } = await load());
  });
  afterAll(() => model?.dispose());

  test('BPE encode gives run.c encode ids', () => {
    for (const { text, ids } of FIXTURE.encode) expect(tokenizer.encode(text), text).toEqual(ids);
  });

  test(
    'greedy 256 tokens (run.c -n 256 -t 0.0) are the published sample, id for id',
    async () => {
      const r = await generate(model, [[1]], { maxNewTokens: 256, greedy: true, stopTokens: tokenizer.eosIds });
      expect(r.tokens[0]).toEqual(FIXTURE.samples[0].ids);
      expect(tokenizer.decode(r.tokens[0], { previous: 1 }) + '\n').toBe(EXPECTED);
    },
    GENERATION_TIMEOUT_MS,
  );

  test.each(FIXTURE.samples.slice(1).map((s) => [`${JSON.stringify(s.prompt)} t=${s.temperature} p=${s.topp} seed=${s.seed}`, s] as const))(
    'generate() ids and printed text equal run.c: %s',
    async (_, s) => {
      const prompt = tokenizer.encode(s.prompt);
      const r = await generate(model, [prompt], {
        maxNewTokens: s.steps - (prompt.length - 1), // run.c's steps count positions, the prompt's included
        temperature: s.temperature,
        topP: s.topp,
        coins: () => llama2cCoins(s.seed),
        stopTokens: [1], // run.c's generate() stops at BOS only
      });
      expect([...prompt.slice(1), ...r.tokens[0]]).toEqual(s.ids);
      expect(tokenizer.decode([...prompt.slice(1), ...r.tokens[0]], { previous: 1 }) + '\n').toBe(s.stdout);
    },
    GENERATION_TIMEOUT_MS,
  );
});

describe.each(['cpu', 'wasm'] as BackendName[])('stories260K logits vs run.c forward() (%s)', (backend) => {
  test(`${FIXTURE.logits.length} positions along the greedy path within ${LOGIT_TOLERANCE}`, async () => {
    await useBackend(backend);
    const { model } = await load();
    try {
      // run.c fed BOS, then each argmax: the greedy ids are the inputs after BOS.
      const ids = [1, ...FIXTURE.samples[0].ids.slice(0, FIXTURE.logits.length - 1)];
      const logits = tf.tidy(() => model.logits(tf.tensor2d([ids], [1, ids.length], 'int32')));
      const got = (await logits.array())[0];
      logits.dispose();
      let maxDiff = 0;
      FIXTURE.logits.forEach((row, t) => row.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - got[t][i])))));
      console.log(`stories260K ${backend}: max |logit − run.c| = ${maxDiff.toExponential(2)}`);
      expect(maxDiff).toBeLessThanOrEqual(LOGIT_TOLERANCE);
    } finally {
      model.dispose();
    }
  });
});
