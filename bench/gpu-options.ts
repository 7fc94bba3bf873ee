// Command line of bench/gpu.bench.ts: what to run and at what sizes. The defaults are the sizes of issue
// 15 (a GPU run); --small gives sizes SwiftShader (WebGPU on the CPU, ~1 GFLOP/s) gets through in minutes.
// A flag given on the command line wins over either set.
import { parseArgs } from 'node:util';

export const PARTS = ['encoder', 'decoder', 'train'] as const;
export const HOSTS = ['chromium', 'node'] as const;
export type Part = (typeof PARTS)[number];
export type Host = (typeof HOSTS)[number];
export type Mode = 'greedy' | 'sampled';

export interface GpuBenchOptions {
  parts: Part[];
  hosts: Host[];
  /** Encoder: SciFact documents timed (the first N, title + ' ' + text), truncation, batch, rounds. */
  docs: number;
  maxLength: number;
  batch: number;
  rounds: number;
  /** Decoder: new tokens per prompt, batches (Q2D prompts of SciFact queries), greedy and/or sampled. */
  newTokens: number;
  batches: number[];
  modes: Mode[];
  /** llama.cpp (wllama, CPU) threads in the Chromium page, as the CPU peer; empty = not run. */
  wllamaThreads: number[];
  /** InfoNCE: queries + positive documents per step, and the documents' truncation. */
  trainPairs: number;
  trainMaxLength: number;
  /** DPO: tokens per row (prompt + completion; 1 pair = 2 rows), LoRA rank on q_proj and v_proj. */
  dpoLength: number;
  loraR: number;
  /** 'auto' (hardware ICDs, else SwiftShader), 'swiftshader', or a manifest path. */
  vulkanIcd: string;
  /** Chromium's GPU flags (Vulkan, ANGLE on Vulkan, no block-list): on by default, --no-gpu-flags drops them. */
  gpuFlags: boolean;
  /** Where the JSON record goes ('' = .cache/bench-logs/gpu-<time>.json). */
  json: string;
  small: boolean;
}

/** Issue 15's sizes: 256-token SciFact docs, 128 new tokens at batch 1 and 8, 16 + 16 InfoNCE, DPO 2 × 192. */
export const FULL: Readonly<GpuBenchOptions> = Object.freeze({
  parts: [...PARTS],
  hosts: [...HOSTS],
  docs: 64,
  maxLength: 256,
  batch: 32, // DEFAULT_ENCODE_BATCH
  rounds: 3,
  newTokens: 128,
  batches: [1, 8], // 8 = DEFAULT_TFJS_BATCH, the pipeline's batch
  modes: ['greedy'] as Mode[],
  wllamaThreads: [4],
  trainPairs: 16,
  trainMaxLength: 256,
  dpoLength: 192,
  loraR: 8,
  vulkanIcd: 'auto',
  gpuFlags: true,
  json: '',
  small: false,
});

/** SwiftShader-sized: each part in a few minutes on 2 shared cores. */
export const SMALL: Readonly<Partial<GpuBenchOptions>> = Object.freeze({
  docs: 2,
  maxLength: 64,
  batch: 2,
  rounds: 1,
  newTokens: 4,
  batches: [1, 2],
  wllamaThreads: [1],
  trainPairs: 2,
  trainMaxLength: 32,
  dpoLength: 32,
});

const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
function int(flag: string, s: string, min: number): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < min) throw new Error(`bench/gpu.bench.ts: --${flag} takes a whole number ≥ ${min}, got "${s}"`);
  return n;
}
function oneOf<T extends string>(flag: string, s: string, allowed: readonly T[]): T[] {
  const xs = list(s);
  for (const x of xs) if (!allowed.includes(x as T)) throw new Error(`bench/gpu.bench.ts: --${flag} takes ${allowed.join(', ')}; got "${x}"`);
  return xs as T[];
}

export function parseGpuArgs(argv: string[]): GpuBenchOptions {
  const str = (k: string) => [k, { type: 'string' as const }] as const;
  const { values: v } = parseArgs({
    args: argv,
    strict: true,
    options: {
      ...Object.fromEntries(['parts', 'hosts', 'docs', 'max-length', 'batch', 'rounds', 'new-tokens', 'batches', 'modes', 'wllama-threads', 'train-pairs', 'train-max-length', 'dpo-length', 'lora-r', 'vulkan-icd', 'json'].map(str)),
      small: { type: 'boolean' },
      'no-gpu-flags': { type: 'boolean' },
    },
  });
  const s = v as Record<string, string | boolean | undefined>;
  const o: GpuBenchOptions = { ...FULL, ...(s.small ? SMALL : {}), small: !!s.small };
  const get = (k: string) => (typeof s[k] === 'string' ? (s[k] as string) : undefined);
  if (get('parts') !== undefined) o.parts = oneOf('parts', get('parts')!, PARTS);
  if (get('hosts') !== undefined) o.hosts = oneOf('hosts', get('hosts')!, HOSTS);
  if (get('modes') !== undefined) o.modes = oneOf('modes', get('modes')!, ['greedy', 'sampled'] as const);
  if (get('docs') !== undefined) o.docs = int('docs', get('docs')!, 1);
  if (get('max-length') !== undefined) o.maxLength = int('max-length', get('max-length')!, 8);
  if (get('batch') !== undefined) o.batch = int('batch', get('batch')!, 1);
  if (get('rounds') !== undefined) o.rounds = int('rounds', get('rounds')!, 1);
  if (get('new-tokens') !== undefined) o.newTokens = int('new-tokens', get('new-tokens')!, 1);
  if (get('batches') !== undefined) o.batches = list(get('batches')!).map((x) => int('batches', x, 1));
  if (get('wllama-threads') !== undefined) o.wllamaThreads = list(get('wllama-threads')!).map((x) => int('wllama-threads', x, 1));
  if (get('train-pairs') !== undefined) o.trainPairs = int('train-pairs', get('train-pairs')!, 1);
  if (get('train-max-length') !== undefined) o.trainMaxLength = int('train-max-length', get('train-max-length')!, 8);
  if (get('dpo-length') !== undefined) o.dpoLength = int('dpo-length', get('dpo-length')!, 8);
  if (get('lora-r') !== undefined) o.loraR = int('lora-r', get('lora-r')!, 1);
  if (get('vulkan-icd') !== undefined) o.vulkanIcd = get('vulkan-icd')!;
  if (get('json') !== undefined) o.json = get('json')!;
  if (s['no-gpu-flags']) o.gpuFlags = false;
  if (!o.batches.length) throw new Error('bench/gpu.bench.ts: --batches needs at least one batch size');
  return o;
}

export function describeOptions(o: GpuBenchOptions): string {
  return [
    `parts ${o.parts.join(', ')}; hosts ${o.hosts.join(', ')}${o.small ? ' (--small: SwiftShader sizes)' : ''}`,
    `encoder: all-MiniLM-L6-v2, ${o.docs} SciFact docs at ≤ ${o.maxLength} tokens, batch ${o.batch}, ${o.rounds} round(s)`,
    `decoder: SmolLM2-135M-Instruct (Q4_1 GGUF → float32), Q2D prompts, ${o.newTokens} new tokens, batches ${o.batches.join(', ')}, ${o.modes.join(' + ')}; llama.cpp (wllama) threads ${o.wllamaThreads.join(', ') || 'none'}`,
    `train: InfoNCE ${o.trainPairs} queries + ${o.trainPairs} positives (in-batch negatives) at ≤ ${o.trainMaxLength} tokens; DPO 1 pair × 2 rows × ${o.dpoLength} tokens, LoRA r ${o.loraR} on q_proj, v_proj`,
  ].join('\n  ');
}
