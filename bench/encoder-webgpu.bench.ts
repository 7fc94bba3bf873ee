// Benchmark: the encoder on WebGPU, which on these GPU-less machines is SwiftShader (Vulkan on the CPU,
// ~1 GFLOP/s), so the sizes are small and the figures describe SwiftShader, not a GPU:
//   - Chromium (vite build + preview, the bench page bench/pages/encoder-bench.*): our encoder on WebGPU
//     and transformers.js (onnxruntime-web) on its wasm and webgpu devices, same texts, same batches;
//   - Node (Dawn via npm `webgpu`, a child process of encoder.bench.ts): our encoder on WebGPU with
//     transformers.js (onnxruntime-node, CPU) in the same process.
//   npm run -s bench:encoder:webgpu                       minilm, 8 docs, max length 128, batch 8
//   npm run -s bench:encoder:webgpu -- --shapes tiny --docs 4 --max-lengths 32 --batches 4 --train-pairs 2
//   npm run -s bench:encoder:webgpu -- --hosts chromium   (or node)
// Prints measured figures and the load average; nothing here is a pass/fail test.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { join, normalize, resolve, sep } from 'node:path';
import { startHarness } from '../tests/browser/harness.ts';
import { BENCH_MODELS, machineLine, parseBenchArgs, runShape, type EncoderBenchOptions } from './encoder.bench.ts';
import { printReport, RESULT_PREFIX, type BenchRecord } from './encoder-results.ts';
import type { PageRequest } from './pages/encoder-bench.ts';
import { scifactTexts } from './scifact-texts.ts';

const ROOT = resolve(import.meta.dirname, '..');
const PAGE = 'bench/pages/encoder-bench.html';
const ORT_DIST = join(ROOT, 'node_modules/onnxruntime-web/dist');
/** The onnxruntime-web build transformers.js 4 picks where WebGPU exists (its default CDN path names it). */
const ORT_WASM = 'ort-wasm-simd-threaded.asyncify.wasm';

/** SwiftShader-sized defaults (the brief: small N). */
export const GPU_DEFAULTS: Readonly<EncoderBenchOptions> = Object.freeze({
  backends: ['webgpu'],
  shapes: ['minilm'],
  docs: 8, // one batch of 8 after a full warm-up pass (WebGPU compiles a pipeline per new shape)
  maxLengths: [128],
  batches: [8],
  ortThreads: [1], // the Node child's onnxruntime-node baseline
  trainPairs: 4, // 4 queries + 4 docs: a full 16 + 16 step takes minutes per step on SwiftShader
  trainMaxLength: 64,
  chunks: [2],
  trainSteps: 1,
  profileLength: 0, // the stage profile needs a synchronous backend
  profileBatch: 0,
  peakMemory: false,
  baseline: true,
  parts: ['encode', 'train'],
  trainPlain: true,
});

/**
 * Serves the model folders (/bench-models/...) and onnxruntime-web's wasm binary (/ort-wasm/...) from this
 * machine with CORS, so nothing comes from a CDN or the Hub. Not page.route: Playwright hands a fulfilled
 * body to the browser in one protocol message, and a 91 MB safetensors file takes Chromium down.
 */
async function fileServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const roots: Record<string, string> = { 'bench-models': BENCH_MODELS, 'ort-wasm': ORT_DIST };
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (process.env.BENCH_DEBUG) console.error(`[files] ${req.method} ${path} ${JSON.stringify(req.headers)}`);
    const [, top, ...rest] = path.split('/');
    const root = roots[top];
    const file = root ? normalize(join(root, ...rest)) : '';
    res.setHeader('Access-Control-Allow-Origin', '*');
    if (!root || !file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'Content-Type': file.endsWith('.wasm') ? 'application/wasm' : 'application/octet-stream', 'Content-Length': statSync(file).size });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise<void>((ok) => server.close(() => ok())) };
}

async function chromium(o: EncoderBenchOptions, hostsBaselines: ('wasm' | 'webgpu')[]): Promise<BenchRecord[]> {
  const records: BenchRecord[] = [];
  const files = await fileServer();
  const h = await startHarness([], { pages: [PAGE] });
  try {
    const texts = await scifactTexts(o.docs, o.trainPairs);
    for (const shape of o.shapes) {
      const page = await h.newPage();
      page.on('console', (msg) => {
        const text = msg.text();
        if (text.startsWith(RESULT_PREFIX)) {
          const r = JSON.parse(text.slice(RESULT_PREFIX.length)) as BenchRecord;
          records.push({ ...r, load1: loadavg()[0] });
        } else if (msg.type() === 'error' || msg.type() === 'warning' || text.startsWith('[chromium/')) console.error(`[page] ${text.slice(0, 500)}`);
      });
      await page.goto(h.url + PAGE);
      await page.locator('#status', { hasText: 'ready' }).waitFor();
      const req: PageRequest = {
        shape,
        modelsUrl: `${files.url}bench-models/`,
        ortWasmUrl: `${files.url}ort-wasm/${ORT_WASM}`,
        docs: texts.docs,
        queries: texts.queries,
        positives: texts.positives,
        maxLengths: o.parts.includes('encode') ? o.maxLengths : [], // --parts applies to the page too
        batches: o.batches,
        trainMaxLength: o.trainMaxLength,
        chunks: o.chunks,
        trainSteps: o.parts.includes('train') ? o.trainSteps : 0,
        baselines: hostsBaselines,
      };
      page.on('crash', () => console.error(`[page] ${shape}: the page crashed`));
      const skip = (why: string) => records.push({ host: 'Chromium', run: `chromium-${shape}`, shape, load1: loadavg()[0], kind: 'skip', what: `${shape} on WebGPU`, why });
      try {
        const out = await page.evaluate((r) => window.benchEncoder(r), req);
        if ('skip' in out) skip(out.skip);
        await page.close();
      } catch (e) {
        skip(`the page failed: ${(e as Error).message.split('\n')[0]}`);
      }
    }
  } finally {
    await h.close().catch((e: Error) => console.error(`closing the browser: ${e.message.split('\n')[0]}`));
    await files.close();
  }
  return records;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  // --hosts and --baselines are this script's; the rest are encoder.bench.ts options.
  const take = (name: string, fallback: string) => {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) return fallback;
    const v = argv[i + 1];
    argv.splice(i, 2);
    return v;
  };
  const hosts = take('hosts', 'chromium,node').split(',');
  const baselines = take('baselines', 'wasm,webgpu').split(',').filter(Boolean) as ('wasm' | 'webgpu')[];
  const o = parseBenchArgs(argv, GPU_DEFAULTS);
  console.log(`Encoder benchmark, WebGPU (SwiftShader: the CPU runs the shaders, ~1 GFLOP/s; small sizes): ${machineLine()}`);
  console.log(`  hosts ${hosts.join(', ')}; shapes ${o.shapes.join(', ')}; ${o.docs} docs; max lengths ${o.maxLengths.join(', ')}; batches ${o.batches.join(', ')}; train ${o.trainPairs} + ${o.trainPairs} at ${o.trainMaxLength}`);
  const records: BenchRecord[] = [];
  if (hosts.includes('chromium')) records.push(...(await chromium(o, baselines)));
  if (hosts.includes('node')) {
    for (const shape of o.shapes) records.push(...runShape('webgpu', shape, o));
  }
  printReport(records);
  console.log(`\nDone: ${machineLine()}`);
}

await main();
