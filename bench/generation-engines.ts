// The three generation engines of bench/generation.bench.ts, each timed the same way: generated tokens
// (the stop token left out) over the wall time of one generate call for the whole batch, prompt pass
// included, model loading and a short warm-up excluded. Every engine gets the same prompt ids (our
// encodePrompt through the GGUF's chat template).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { useBackend } from '../src/cli/backend.ts';
import { decoderFilesFromPath } from '../src/cli/model-path.ts';
import { generate } from '../src/llm/generate.ts';
import { loadDecoder } from '../src/llm/load.ts';
import { LlamaCppGenerator } from '../src/pipeline/llamacpp-generator.ts';
import type { LlamaCppParallelMode } from '../src/llm/llamacpp/node-engine.ts';
import { createRng, deriveSeed } from '../src/util/random.ts';

export interface Sampling {
  name: 'greedy' | 'sampled';
  temperature: number;
  topP: number;
  seed: number;
}

export interface Measured {
  engine: string;
  /** How it ran: backend, threads, parallel mode. */
  how: string;
  sampling: string;
  batch: number;
  tokens: number;
  ms: number;
  tokensPerS: number;
  /** Generated ids per prompt (for the greedy agreement check). */
  ids: number[][];
  load: number;
}

const WARMUP_TOKENS = 4;
const measured = (m: Omit<Measured, 'tokensPerS' | 'load'>): Measured => ({ ...m, tokensPerS: m.tokens / (m.ms / 1000), load: Number(loadavg()[0].toFixed(2)) });

/** The tfjs decoder on wasm (single-threaded in Node), the GGUF dequantized to float32; prompts in one batch. */
export async function runTfjs(gguf: string, prompts: number[][], samplings: Sampling[], newTokens: number): Promise<Measured[]> {
  const backend = await useBackend('wasm');
  const { model, tokenizer } = await loadDecoder(await decoderFilesFromPath(gguf));
  if (!tokenizer) throw new Error(`${gguf}: no tokenizer`);
  const out: Measured[] = [];
  try {
    const run = (ps: number[][], s: Sampling, n: number) =>
      generate(model, ps, {
        maxNewTokens: n,
        temperature: s.temperature,
        topP: s.topP,
        greedy: s.temperature === 0,
        stopTokens: tokenizer.eosIds,
        padId: tokenizer.padId,
        coins: (row) => {
          const rng = createRng(deriveSeed(s.seed, row)); // promptSeed() without work.seeds
          return () => rng.float();
        },
      });
    await run([prompts[0]], samplings[0], WARMUP_TOKENS);
    for (const batch of [1, prompts.length]) {
      for (const s of samplings) {
        const t0 = performance.now();
        const r = await run(prompts.slice(0, batch), s, newTokens);
        const ms = performance.now() - t0;
        out.push(measured({ engine: 'tfjs decoder', how: `${backend}, 1 thread`, sampling: s.name, batch, tokens: r.tokens.reduce((a, t) => a + t.length, 0), ms, ids: r.tokens }));
        console.error(`  tfjs ${s.name} batch ${batch}: ${out.at(-1)!.tokensPerS.toFixed(2)} tokens/s`);
      }
    }
  } finally {
    model.dispose();
  }
  return out;
}

export interface LlamaCppSetup {
  parallel: number;
  mode: LlamaCppParallelMode;
  threads: number;
  /** Batches this setup is measured at. */
  batches: number[];
}

/** llama.cpp through LlamaCppGenerator (the runner's path), one engine per setup. */
export async function runLlamaCpp(gguf: string, prompts: string[], samplings: Sampling[], newTokens: number, setups: LlamaCppSetup[]): Promise<Measured[]> {
  const out: Measured[] = [];
  for (const setup of setups) {
    const gen = await LlamaCppGenerator.load({ modelPath: gguf, name: basename(gguf), chat: true, parallel: setup.parallel, mode: setup.mode, threads: setup.threads });
    try {
      await gen.generateWithTimes([prompts[0]], { temperature: 0, topP: 1, maxTokens: WARMUP_TOKENS, seed: 0 });
      for (const batch of setup.batches) {
        for (const s of samplings) {
          const t0 = performance.now();
          const r = await gen.generateWithTimes(prompts.slice(0, batch), { temperature: s.temperature, topP: s.topP, maxTokens: newTokens, seed: s.seed });
          const ms = performance.now() - t0;
          const ids = r.tokens.map((t) => t ?? []);
          const how = `CPU, ${setup.threads} thread${setup.threads > 1 ? 's' : ''} × ${setup.parallel} ${setup.mode === 'contexts' ? `context${setup.parallel > 1 ? 's' : ''}` : 'sequences in one context'}`;
          out.push(measured({ engine: 'llama.cpp', how, sampling: s.name, batch, tokens: ids.reduce((a, t) => a + t.length, 0), ms, ids }));
          console.error(`  llama.cpp ${how} ${s.name} batch ${batch}: ${out.at(-1)!.tokensPerS.toFixed(2)} tokens/s`);
        }
      }
    } finally {
      await gen.dispose();
    }
  }
  return out;
}

/** transformers (PyTorch, CPU, float32) in bench/generation_transformers.py; null when no venv. */
export function runTransformers(
  python: string,
  gguf: string,
  prompts: number[][],
  samplings: Sampling[],
  newTokens: number,
  threads: number,
  special: { eos: readonly number[]; pad: number },
): { measured: Measured[]; versions: string } {
  const runs = [1, prompts.length].flatMap((batch) =>
    samplings.map((s) => ({ name: `${s.name}:${batch}`, prompts: prompts.slice(0, batch), max_new_tokens: newTokens, greedy: s.temperature === 0, temperature: s.temperature || 1, top_p: s.topP, seed: s.seed })),
  );
  // A warm-up run of a few tokens first (discarded).
  runs.unshift({ ...runs[0], name: 'warmup', max_new_tokens: WARMUP_TOKENS });
  const req = { dir: dirname(gguf), file: basename(gguf), threads, runs, eos: [...special.eos], pad: special.pad };
  const r = spawnSync(python, [join(import.meta.dirname, 'generation_transformers.py')], { input: JSON.stringify(req), encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, OMP_NUM_THREADS: String(threads) } });
  if (r.status !== 0) throw new Error(`generation_transformers.py failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const res = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { torch: string; transformers: string; threads: number; runs: { name: string; tokens: number[]; ms: number; ids: number[][] }[] };
  const measuredRuns = res.runs
    .filter((x) => x.name !== 'warmup')
    .map((x) => {
      const [name, batch] = x.name.split(':');
      return measured({ engine: 'transformers', how: `PyTorch ${res.torch} float32, ${res.threads} thread${res.threads > 1 ? 's' : ''}`, sampling: name, batch: Number(batch), tokens: x.tokens.reduce((a, b) => a + b, 0), ms: x.ms, ids: x.ids });
    });
  return { measured: measuredRuns, versions: `torch ${res.torch}, transformers ${res.transformers}` };
}

export const pythonAt = (root: string): string | null => {
  const p = join(root, '.cache/venv-interop/bin/python');
  return existsSync(p) ? p : null;
};
