// Top-p from llama.cpp's top tokens (src/app/wllama-nucleus.ts) must pick what our sampler picks over the whole
// distribution (src/llm/sampling.ts sampleToken), or decline: checked on random peaked and flat distributions,
// temperatures below and above 1, many coins.
import { describe, expect, it } from 'vitest';
import { nucleusFromTop } from '../../src/app/wllama-nucleus.ts';
import { sampleToken } from '../../src/llm/sampling.ts';
import { createRng } from '../../src/util/random.ts';

const VOCAB = 2000;
const K = 64;

/**
 * p over the vocabulary (float32, as llama.cpp returns it), Zipf-like as an LM's next-token distribution:
 * the token of rank r has logit −s·ln(r + 1) plus noise, the ranks shuffled over the ids.
 */
function distribution(seed: number, s: number): Float32Array {
  const rng = createRng(seed);
  const logits = Array.from({ length: VOCAB }, (_, r) => -s * Math.log(r + 1) + rng.float() * 0.5);
  for (let i = VOCAB - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [logits[i], logits[j]] = [logits[j], logits[i]];
  }
  const max = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - max));
  const z = e.reduce((a, b) => a + b, 0);
  return Float32Array.from(e, (x) => x / z);
}

const topOf = (p: Float32Array, k: number) => [...p].map((x, token) => ({ token, p: x })).sort((a, b) => b.p - a.p).slice(0, k);

describe('nucleusFromTop', () => {
  it('picks what sampleToken picks over the whole distribution, or declines', () => {
    let settled = 0;
    let total = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const p = distribution(seed, seed % 2 ? 2.5 : 1.5); // peaked and flatter
      const logits = Float32Array.from(p, (x) => (x > 0 ? Math.log(x) : -Infinity));
      const top = topOf(p, K);
      for (const temperature of [0.7, 0.8, 1, 1.1]) {
        for (const topP of [0.5, 0.9]) {
          const rng = createRng(seed * 100 + temperature * 10);
          for (let i = 0; i < 20; i++) {
            const coin = rng.float();
            const picked = nucleusFromTop(top, temperature, topP, coin, VOCAB);
            total++;
            if (picked === null) continue;
            settled++;
            expect(picked).toBe(sampleToken(logits, { temperature, topP }, coin));
          }
        }
      }
    }
    console.log(`[wllama-nucleus] settled by the top ${K} of ${VOCAB}: ${settled}/${total}`);
    expect(settled).toBeGreaterThan(total / 4); // the peaked half at least
  });

  it('declines without a nucleus (top-p off) and settles a certain top token', () => {
    const top = [{ token: 3, p: 0.97 }, { token: 1, p: 0.01 }];
    expect(nucleusFromTop(top, 1, 1, 0.5, 100)).toBeNull();
    expect(nucleusFromTop(top, 0.8, 0.9, 0.99, 100)).toBe(3);
  });
});
