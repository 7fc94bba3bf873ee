// Benchmark: encoding speed of the real all-MiniLM-L6-v2 in Chromium, ours vs transformers.js in the same
// page (bench/pages/encoder-page.*), on SciFact documents (title + ' ' + text) truncated at 256 tokens:
//   wasm     ours: tfjs-wasm, threaded SIMD build (XNNPACK threads)  vs  onnxruntime-web wasm, same threads
//   webgpu   ours: tfjs-webgpu  vs  onnxruntime-web's WebGPU provider (SwiftShader here: no GPU)
// The app is built and served by `vite preview` with cross-origin isolation (vite.config.ts); the model
// folders (.cache/models/all-MiniLM-L6-v2 and its ONNX export) and onnxruntime-web's wasm come from a
// local file server with CORS. An agreement gate runs first on each backend (normalised embeddings of
// untruncated docs, max |Δ| < AGREEMENT_TOLERANCE), then interleaved rounds; ratios are ours ÷ theirs in
// docs/s, medians of the per-round ratios.
//   .cache/venv-interop/bin/python tests/reference/gen/export_minilm_onnx.py        once: the ONNX export
//   npx tsx bench/encoder-page.bench.ts                     32 docs on wasm, 2 on webgpu, 2 rounds
//   npx tsx bench/encoder-page.bench.ts --backends wasm --docs 64 --rounds 3 --profile --variants
// --variants also times ours on wasm with our wasm kernels switched off (src/util/wasm-kernel-internals.ts),
// so what each kernel gains is measured in the same rounds (--variant TEXT, repeatable: only the variants whose
// label contains TEXT); --profile adds the per-kernel profile in the page.
// --chromium-flag F (repeatable) passes F to Chromium, e.g. --chromium-flag=--js-flags=--no-liftoff.
// --threads N sets both engines' wasm threads (default: navigator.hardwareConcurrency); --tfjs-threads N ours only.
// Prints measured figures and the load average; nothing here is a pass/fail test.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { join, normalize, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { startHarness } from '../tests/browser/harness.ts';
import { textTable } from '../src/util/format.ts';
import { profileTables } from './encoder-results.ts';
import type { PageBackend, PageRequest, PageResult, RoundTime } from './pages/encoder-page.ts';
import { scifactTexts } from './scifact-texts.ts';

const ROOT = resolve(import.meta.dirname, '..');
const MODELS = join(ROOT, '.cache/models');
const MODEL_ID = 'all-MiniLM-L6-v2';
const ONNX_ID = 'all-MiniLM-L6-v2-onnx';
const ORT_DIST = join(ROOT, 'node_modules/onnxruntime-web/dist');
const ORT_WASM = 'ort-wasm-simd-threaded.asyncify.wasm';
const PAGE = 'bench/pages/encoder-page.html';
const MAX_LENGTH = 256;
/** Same weights, same fp32 arithmetic up to summation order: 1e-4 on unit vectors (measured ~2e-7 in Node). */
const AGREEMENT_TOLERANCE = 1e-4;

const { values: argv } = parseArgs({
  options: {
    docs: { type: 'string', default: '32' },
    'gpu-docs': { type: 'string', default: '2' },
    batch: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '2' },
    threads: { type: 'string', default: '0' },
    'tfjs-threads': { type: 'string', default: '0' },
    backends: { type: 'string', default: 'wasm,webgpu' },
    profile: { type: 'boolean', default: false },
    variants: { type: 'boolean', default: false },
    variant: { type: 'string', multiple: true, default: [] },
    'chromium-flag': { type: 'string', multiple: true, default: [] },
  },
});
const int = (k: 'docs' | 'gpu-docs' | 'batch' | 'rounds' | 'threads' | 'tfjs-threads', min: number) => {
  const n = Number(argv[k]);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${k} must be an integer ≥ ${min}, got ${argv[k]}`);
  return n;
};
const backends = argv.backends!.split(',').filter(Boolean) as PageBackend[];
if (backends.some((b) => b !== 'wasm' && b !== 'webgpu')) throw new Error(`--backends takes wasm and/or webgpu, got ${argv.backends}`);
for (const [path, fix] of [
  [join(MODELS, MODEL_ID, 'model.safetensors'), 'npm run -s expandr -- fetch-model all-MiniLM-L6-v2'],
  [join(MODELS, ONNX_ID, 'onnx/model.onnx'), '.cache/venv-interop/bin/python tests/reference/gen/export_minilm_onnx.py'],
]) {
  if (!existsSync(path)) throw new Error(`${path} is missing: run ${fix}`);
}

/** Serves .cache/models and onnxruntime-web's dist with CORS (Playwright's page.route chokes on 90 MB bodies). */
async function fileServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const roots: Record<string, string> = { models: MODELS, 'ort-wasm': ORT_DIST };
  const server = createServer((req, res) => {
    const [, top, ...rest] = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).split('/');
    const root = roots[top];
    const file = root ? normalize(join(root, ...rest)) : '';
    res.setHeader('Access-Control-Allow-Origin', '*');
    if (!root || !file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'Content-Type': file.endsWith('.wasm') ? 'application/wasm' : file.endsWith('.mjs') ? 'text/javascript' : 'application/octet-stream', 'Content-Length': statSync(file).size });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise<void>((ok) => server.close(() => ok())) };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function report(r: PageResult, loads: number[]): void {
  console.log(`crossOriginIsolated ${r.crossOriginIsolated}; navigator.hardwareConcurrency ${r.hardwareConcurrency}; tfjs-wasm XNNPACK threads ${r.tfjsWasmThreads}; onnxruntime-web wasm threads ${r.ortThreads}; WebGPU adapter: ${r.adapter || '-'}`);
  for (const a of r.agreement) console.log(`agreement (${a.backend}): max |ours − transformers.js| = ${a.diff.toExponential(2)} over ${a.texts} untruncated docs (tolerance ${AGREEMENT_TOLERANCE})`);
  const rows: string[][] = [];
  for (const backend of backends) {
    const of = (engine: string) => r.rounds.filter((t) => t.backend === backend && t.engine === engine);
    const theirs = of('transformers.js');
    const engines = [...new Set(r.rounds.filter((t) => t.backend === backend).map((t) => t.engine))].sort((a, b) => Number(a === 'transformers.js') - Number(b === 'transformers.js'));
    for (const engine of engines) {
      const ts = of(engine);
      const ms = median(ts.map((t) => t.ms));
      const ratio = engine === 'transformers.js' || !theirs.length ? '' : median(ts.map((o, i) => theirs[i].ms / o.ms)).toFixed(2);
      const name = engine === 'transformers.js' ? `transformers.js (ort-web ${backend})` : `${engine} (tfjs-${backend})`;
      rows.push([backend, name, String(ts[0].docs), String(ts[0].tokens), ((ts[0].docs / ms) * 1000).toFixed(2), ((ts[0].tokens / ms) * 1000).toFixed(0), ts.map((t) => (t.ms / 1000).toFixed(2)).join(' '), ratio]);
    }
  }
  console.log(textTable(['backend', 'engine', 'docs', 'tokens', 'docs/s', 'tokens/s', 's per round', 'ours ÷ transformers.js'], rows));
  for (const s of r.skips) console.log(`not measured: ${s}`);
  if (r.profile) console.log(`\nProfile of one encode batch in Chromium (tfjs-wasm, ${r.tfjsWasmThreads} thread(s)), ${r.profile.batch} docs × ${r.profile.seqLen} tokens:\n${profileTables(r.profile)}`);
  console.log(`\nload average 1 min: ${loads.map((l) => l.toFixed(2)).join(' → ')}; ${cpus().length} cores (${cpus()[0]?.model ?? '?'})`);
}

const docs = (await scifactTexts(int('docs', 1), 0)).docs;
const files = await fileServer();
const h = await startHarness(argv['chromium-flag'], { pages: [PAGE] });
const loads = [loadavg()[0]];
try {
  const page = await h.newPage();
  page.on('console', (m) => {
    if (m.text().startsWith('[encoder-page]') || m.type() === 'error') console.error(`[page] ${m.text().slice(0, 400)}`);
  });
  await page.goto(h.url + PAGE);
  await page.locator('#status', { hasText: 'ready' }).waitFor();
  const req: PageRequest = {
    modelUrl: `${files.url}models/${MODEL_ID}/`,
    onnxHost: `${files.url}models/`,
    onnxId: ONNX_ID,
    ortWasmUrl: `${files.url}ort-wasm/${ORT_WASM}`,
    ortMjsUrl: `${files.url}ort-wasm/${ORT_WASM.replace(/\.wasm$/, '.mjs')}`,
    docs,
    gpuDocs: Math.min(docs.length, int('gpu-docs', 1)),
    maxLength: MAX_LENGTH,
    batch: int('batch', 1),
    rounds: int('rounds', 1),
    backends,
    threads: int('threads', 0),
    tfjsThreads: int('tfjs-threads', 0),
    profile: argv.profile!,
    tolerance: AGREEMENT_TOLERANCE,
    variants: (argv.variants || argv.variant!.length > 0
      ? [
          { label: 'no helper threads (compiled kernels on one thread, 2D products on XNNPACK and its pool)', backend: 'wasm' as const, switches: { helperThreads: false } },
          { label: 'static halves (GEMM rows and attention pairs split once, not in chunks)', backend: 'wasm' as const, switches: { chunkedSplits: false } },
          { label: 'padding kept (every padded position through the products and attention)', backend: 'wasm' as const, switches: { skipPadding: false } },
          { label: 'embeddings and LayerNorm composed from tfjs ops (no compiled wasm kernels)', backend: 'wasm' as const, switches: { layerNorm: false } },
          { label: '2D products on XNNPACK (no compiled GEMM)', backend: 'wasm' as const, switches: { gemm: false } },
          { label: 'GELU as its own kernel after the product (no GEMM epilogue)', backend: 'wasm' as const, switches: { geluEpilogue: false } },
          { label: 'GELU composed from tfjs ops (no compiled wasm kernel)', backend: 'wasm' as const, switches: { gelu: false } },
          { label: 'attention composed from tfjs ops (no compiled wasm kernel)', backend: 'wasm' as const, switches: { fusedAttention: false } },
          { label: 'attention composed, products as before (read back + slices + Concat)', backend: 'wasm' as const, switches: { fusedAttention: false, slicedMatMul: false } },
          { label: 'attention composed from tfjs ops (before)', backend: 'webgpu' as const, switches: { fusedAttention: false } },
          { label: 'padding kept on webgpu (every padded position through the products and attention)', backend: 'webgpu' as const, switches: { skipPadding: false } },
        ]
      : []
    ).filter((v) => argv.variant!.length === 0 || argv.variant!.some((t) => v.label.includes(t))),
  };
  console.log(`Encoder in Chromium: all-MiniLM-L6-v2 (real weights), ${docs.length} SciFact docs (webgpu: first ${req.gpuDocs}) at ${MAX_LENGTH} tokens, batch ${req.batch}, ${req.rounds} round(s)`);
  const result = await page.evaluate((r) => window.benchEncoderPage(r), req);
  loads.push(loadavg()[0]);
  report(result, loads);
} finally {
  await h.close().catch((e: Error) => console.error(`closing the browser: ${e.message.split('\n')[0]}`));
  await files.close();
}
process.exit(0);
