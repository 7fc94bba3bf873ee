// Benchmark: CPU generation in Chromium. SmolLM2-135M-Instruct Q4_1 (the GGUF of .cache), Q2D prompts of
// SciFact queries, greedy and sampled (T 0.8, top-p 0.9, seeded), batch 1 and 8: llama.cpp compiled to wasm
// (@wllama/wllama, src/app/wllama-generator.ts) per thread count against our tfjs decoder (wasm backend; webgpu
// on SwiftShader with few tokens) in the same page and worker (tests/browser/pages/wllama-generate.*).
// tokens/s = generated tokens / time from the prompt pass to the last token (model loading excluded);
// wllama runs one sequence, so its batch is the prompts one after another. Every engine is loaded first, then
// each mode × batch runs on all of them back to back (the load of a shared machine drifts over minutes).
// wllama's threaded build with 2 threads on the 2 shared cores collapsed to 0.19 tokens/s (busy-waiting
// threads, as native llama.cpp does under load): 1 thread is the default here and in the app on 2 cores.
//   npx tsx bench/generation-page.bench.ts                      128 tokens, batches 1 and 8, wllama 1 thread, tfjs wasm
//   npx tsx bench/generation-page.bench.ts --tokens 32 --batches 1 --threads 1 --tfjs wasm,webgpu --webgpu-tokens 8
// Prints measured figures, ratios against the tfjs decoder measured in the same run, and the load average;
// --out FILE writes them as markdown. Nothing here is a pass/fail test.
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { startHarness } from '../tests/browser/harness.ts';
import { scifactQ2dPrompts, serveFile, SMOLLM2_GGUF, SMOLLM2_GGUF_NAME, WLLAMA_PAGE } from '../tests/browser/wllama-files.ts';
import type { BenchRecord, BenchRequest } from '../tests/browser/pages/wllama-generate.worker.ts';

interface Options {
  tokens: number;
  batches: number[];
  threads: number[];
  tfjs: ('wasm' | 'webgpu')[];
  webgpuTokens: number;
  modes: ('greedy' | 'sampled')[];
  out?: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { tokens: 128, batches: [1, 8], threads: [1], tfjs: ['wasm'], webgpuTokens: 8, modes: ['greedy', 'sampled'] };
  const list = (v: string) => v.split(',').filter(Boolean);
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1] ?? ''];
    if (k === '--tokens') o.tokens = Number(v);
    else if (k === '--batches') o.batches = list(v).map(Number);
    else if (k === '--threads') o.threads = list(v).map(Number);
    else if (k === '--tfjs') o.tfjs = list(v) as Options['tfjs'];
    else if (k === '--webgpu-tokens') o.webgpuTokens = Number(v);
    else if (k === '--modes') o.modes = list(v) as Options['modes'];
    else if (k === '--out') o.out = v;
    else throw new Error(`bench/generation-page.bench.ts: unknown option ${k} (see the header for the options)`);
  }
  return o;
}

const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

function table(records: BenchRecord[]): string {
  const peer = (r: BenchRecord) => records.find((p) => p.engine === 'tfjs decoder' && p.backend === 'wasm' && p.mode === r.mode && p.batch === r.batch);
  const lines = [
    '| engine | backend | threads | mode | batch | prompt tokens | new tokens | s | tokens/s | vs tfjs wasm | load s |',
    '|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of records) {
    const p = peer(r);
    const ratio = p ? (r.tokensPerS / p.tokensPerS).toFixed(2) : '–';
    lines.push(`| ${r.engine} | ${r.backend} | ${r.threads} | ${r.mode} | ${r.batch} | ${r.promptTokens} | ${r.newTokens} | ${(r.ms / 1000).toFixed(1)} | ${r.tokensPerS.toFixed(2)} | ${ratio} | ${(r.loadMs / 1000).toFixed(1)} |`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const head = `Chromium generation benchmark: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load average at start ${load()}; ${SMOLLM2_GGUF_NAME}, ${o.tokens} new tokens, batches ${o.batches.join(', ')}`;
  console.log(head);
  const files = await serveFile(SMOLLM2_GGUF, SMOLLM2_GGUF_NAME);
  const h = await startHarness([], { pages: [WLLAMA_PAGE] });
  try {
    const page = await h.newPage();
    page.on('console', (m) => console.log(`[page] ${m.text()}`));
    await page.goto(`${h.url}${WLLAMA_PAGE}`);
    await page.waitForFunction(() => document.getElementById('status')?.textContent?.startsWith('ready'));
    const isolated = await page.evaluate(() => crossOriginIsolated);
    const req: BenchRequest = {
      ggufUrl: files.url,
      name: SMOLLM2_GGUF_NAME,
      prompts: scifactQ2dPrompts(Math.max(...o.batches)),
      maxTokens: o.tokens,
      batches: o.batches,
      modes: o.modes,
      wllamaThreads: o.threads,
      tfjsBackends: o.tfjs,
      webgpuMaxTokens: o.webgpuTokens,
      sampling: { temperature: 0.8, topP: 0.9, seed: 1 },
    };
    page.setDefaultTimeout(0);
    const records = (await page.evaluate((req) => window.wllamaPage('bench', req), req)) as BenchRecord[];
    const md = `${head}\nPage cross-origin isolated: ${isolated}; load average at end ${load()}.\n\n${table(records)}\n`;
    console.log(`\n${md}`);
    if (o.out) writeFileSync(o.out, md);
  } finally {
    await h.close();
    await files.close();
  }
}

await main();
