// Throughputs the experiment estimate divides its work by (estimate.ts), measured by
// bench/estimate-rates.bench.ts --big on the tfjs wasm backend in Node (the backend of the page's pipeline
// without a usable GPU, and the runner's default), on the project's 2-core machine under a 1-minute load
// average of 10.8–15.4 (other jobs shared the cores: an idle machine is faster). bench/RESULTS-estimate-rates.md
// has the run. Tokens: generated tokens (Q2D, 4–8 prompts a batch), document tokens encoded, query +
// positive tokens per training step (forward, backward, AdamW), DPO row tokens (load, reference pass, one step).
import type { Rates } from './estimate.ts';

export const WASM_RATES: Rates = Object.freeze({
  backend: 'wasm',
  source: 'bench/estimate-rates.bench.ts on tfjs wasm, 2 shared CPU cores, load 11–15, 2026-12-04',
  generate: [
    { model: 'stories260K', params: 260_032, tokensPerSecond: 72.3 },
    { model: 'SmolLM2-135M-Instruct Q4_1', params: 134_515_008, tokensPerSecond: 2.44 },
  ],
  generateByEngine: {
    // llama.cpp in the page is wllama (one thread, one sequence: a batch is its prompts one after another).
    'llama.cpp': [
      {
        model: 'SmolLM2-135M-Instruct Q4_1',
        params: 134_515_008,
        tokensPerSecond: 8.44,
        source: 'bench/generation-page.bench.ts, wllama 2.4.0 in Chromium, sampled, batch 8, 2 cores at load 1.6–3.4, 2026-12-04 (bench/RESULTS-generation-page.md)',
      },
    ],
  },
  encode: [
    { model: 'tiny-bert', params: 25_024, tokensPerSecond: 2413 },
    { model: 'all-MiniLM-L6-v2', params: 22_565_376, tokensPerSecond: 344 },
  ],
  trainEncoder: [
    { model: 'tiny-bert', params: 25_024, tokensPerSecond: 456 },
    { model: 'all-MiniLM-L6-v2', params: 22_565_376, tokensPerSecond: 120 },
  ],
  dpo: [
    { model: 'stories260K', params: 260_032, tokensPerSecond: 250 },
    { model: 'SmolLM2-135M-Instruct Q4_1', params: 134_515_008, tokensPerSecond: 5.39 },
  ],
});
