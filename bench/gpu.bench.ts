// Benchmark: everything issue 15 asks of a GPU, in one command (`npm run bench:gpu`):
//   encoder  all-MiniLM-L6-v2 (real weights), SciFact docs at 256 tokens: ours on tfjs-webgpu against
//            transformers.js on onnxruntime-web's WebGPU provider in headless Chromium (GPU flags); ours in
//            Node through Dawn (npm `webgpu`)
//   decoder  SmolLM2-135M-Instruct, Q2D prompts, 128 new tokens at batch 1 and 8: ours on webgpu in Chromium
//            (llama.cpp through wllama on the CPU as the in-page peer) and in Node (Dawn); WebLLM where its
//            compiled model library and MLC weights exist (they cannot here: see WEBLLM_ABSENT)
//   train    one InfoNCE step of MiniLM (16 + 16 at 256) and one DPO step of SmolLM2 (LoRA r 8, 2 × 192)
// First it asks which adapter WebGPU gets, in Node (Dawn) and in Chromium: a software adapter
// (SwiftShader: Vulkan on the CPU) means there is no GPU, and the figures are then labelled not absolute.
// Prints docs/s, tokens/s, step seconds and ratios against the peer measured in the same page, the load
// average; writes every figure to a JSON record. Nothing here is a pass/fail test.
//   npm run -s bench:gpu                          issue 15's sizes (a machine with a GPU)
//   npm run -s bench:gpu -- --small               SwiftShader sizes (minutes on 2 cores): bench/RESULTS-gpu.md
//   npm run -s bench:gpu -- --parts encoder --hosts chromium --docs 128 --rounds 5
//   npm run -s bench:gpu -- --vulkan-icd /usr/share/vulkan/icd.d/nvidia_icd.json --wllama-threads 8
// Flags: --parts encoder,decoder,train --hosts chromium,node --docs N --max-length L --batch B --rounds R
//   --new-tokens N --batches 1,8 --modes greedy,sampled --wllama-threads 4 (empty: none) --train-pairs N
//   --train-max-length L --dpo-length L --lora-r R --vulkan-icd auto|swiftshader|PATH --no-gpu-flags
//   --json FILE (default .cache/bench-logs/gpu-<time>.json)
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { chromiumRuns, type ChromiumResult } from './gpu-chromium.ts';
import { describeAdapter, isSoftware, nodeAdapter, nvidiaSmi, type AdapterReport } from './gpu-detect.ts';
import { applyVulkan, chooseVulkan } from './gpu-env.ts';
import { figureTable, skipLines, type Figure, type Skip } from './gpu-figures.ts';
import { nodeRuns, type NodeResult } from './gpu-node.ts';
import { describeOptions, parseGpuArgs } from './gpu-options.ts';

const ROOT = resolve(import.meta.dirname, '..');
const REQUIRED: [string, string][] = [
  [join(ROOT, '.cache/models/all-MiniLM-L6-v2/model.safetensors'), 'npm run -s expandr -- fetch-model all-MiniLM-L6-v2'],
  [join(ROOT, '.cache/models/all-MiniLM-L6-v2-onnx/onnx/model.onnx'), '.cache/venv-interop/bin/python tests/reference/gen/export_minilm_onnx.py'],
  [join(ROOT, '.cache/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf'), 'npm run -s expandr -- fetch-model smollm2-135m-instruct'],
  [join(ROOT, '../shared/data/beir/scifact/queries.jsonl'), 'the SciFact folder beside the checkout (../shared/data/beir/scifact)'],
];

/**
 * Why WebLLM is not measured: it runs a model only from its compiled WebGPU library (a .wasm built by
 * MLC-LLM/TVM, fetched from GitHub's binary-mlc-llm-libs) and MLC-format weights (fetched from the Hub).
 */
export const WEBLLM_ABSENT =
  "WebLLM needs SmolLM2-135M-Instruct-q0f16-MLC's weights (huggingface.co/mlc-ai) and its compiled library " +
  'SmolLM2-135M-Instruct-q0f16_cs1k-webgpu.wasm (github.com/mlc-ai/binary-mlc-llm-libs); neither is on npm, ' +
  'PyPI or apt, and neither site is reachable from these machines or from the GPU machine, so they cannot be present offline';

const line = () => `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`;
const log = (s: string) => console.error(s);

async function main(): Promise<void> {
  const o = parseGpuArgs(process.argv.slice(2));
  for (const [path, fix] of REQUIRED) if (!existsSync(path)) throw new Error(`bench/gpu.bench.ts: ${path} is missing: ${fix}`);
  const vulkan = chooseVulkan(o.vulkanIcd);
  applyVulkan(vulkan);
  const started = new Date();
  console.log(`GPU benchmark, ${started.toISOString()}: Node ${process.version}, ${line()}`);
  console.log(`  ${describeOptions(o)}`);
  console.log(`  Vulkan ICD (${vulkan.how}): ${vulkan.icd}`);
  const smi = nvidiaSmi();
  console.log(`  nvidia-smi: ${smi ?? 'not found'}`);

  const adapters: { node: AdapterReport | null; chromium: AdapterReport | null } = { node: null, chromium: null };
  if (o.hosts.includes('node')) {
    adapters.node = nodeAdapter();
    console.log(`  WebGPU adapter, Node (Dawn): ${describeAdapter(adapters.node)}`);
  }
  const figures: Figure[] = [];
  const skips: Skip[] = [];
  let chromium: ChromiumResult | null = null;
  let node: NodeResult | null = null;
  const software = () => {
    const seen = [adapters.node, adapters.chromium].filter((a): a is AdapterReport & { ok: true } => !!a?.ok);
    return seen.length === 0 || seen.some((a) => isSoftware(a.facts));
  };
  const verdict = () =>
    !adapters.node?.ok && !adapters.chromium?.ok
      ? 'NO WebGPU ADAPTER: nothing was measured on WebGPU.'
      : software()
        ? 'NO GPU: WebGPU ran on a software adapter (SwiftShader, Vulkan on the CPU). The figures describe SwiftShader on this CPU, not a GPU: they are not absolute, and only the ratios between engines in the same page mean anything.'
        : 'GPU: WebGPU ran on a hardware adapter (above); absolute figures are GPU figures.';
  const json = o.json || join(ROOT, '.cache/bench-logs', `gpu-${started.toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(dirname(json), { recursive: true });
  /** Written after each host too, so a run stopped part-way keeps what it measured. */
  const save = () => {
    const record = {
      started: started.toISOString(),
      argv: process.argv.slice(2),
      options: o,
      machine: { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model ?? null, memGiB: totalmem() / 2 ** 30, loadNow: loadavg() },
      vulkan,
      nvidiaSmi: smi,
      chromium: chromium && { version: chromium.version, flags: chromium.flags, crossOriginIsolated: chromium.crossOriginIsolated },
      adapters,
      realGpu: !software(),
      verdict: verdict(),
      figures,
      skips,
      nodePromptLen: node?.promptLen ?? null,
    };
    writeFileSync(json, `${JSON.stringify(record, null, 1)}\n`);
  };
  if (o.hosts.includes('chromium')) {
    chromium = await chromiumRuns(o, log);
    adapters.chromium = chromium.adapter;
    console.log(`  WebGPU adapter, Chromium: ${describeAdapter(chromium.adapter)} (${chromium.version ?? '?'}; crossOriginIsolated ${chromium.crossOriginIsolated})`);
    figures.push(...chromium.figures);
    skips.push(...chromium.skips);
    save();
  }
  if (o.parts.includes('decoder') && o.hosts.includes('chromium')) skips.push({ part: 'decoder', host: 'Chromium', what: 'WebLLM (SmolLM2-135M-Instruct-q0f16-MLC)', why: WEBLLM_ABSENT });
  if (o.hosts.includes('node')) {
    if (adapters.node?.ok) {
      node = { promptLen: null, figures, skips }; // the same arrays: every child's figures are saved as it ends
      await nodeRuns(o, log, node, save);
    } else for (const part of o.parts) skips.push({ part, host: 'Node', what: 'everything', why: `no WebGPU adapter in Dawn: ${adapters.node && !adapters.node.ok ? adapters.node.why : '?'}` });
  }

  save();
  console.log(`\n${verdict()}\n`);
  console.log(figureTable(figures));
  if (skips.length) console.log(`\n${skipLines(skips)}`);
  if (node?.promptLen) console.log(`\nNode decoder prompts: random ids of ${node.promptLen} tokens (the mean Q2D prompt through the chat template); Chromium uses the Q2D prompts themselves.`);
  console.log(`\nDone in ${((Date.now() - started.getTime()) / 60_000).toFixed(1)} min: ${line()}`);
  console.log(`JSON record: ${json}`);
}

await main();
process.exit(0); // the harness's vite server or Dawn can keep the event loop alive
