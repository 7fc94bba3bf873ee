// Every default of the experiment that differs from the paper (../shared/paper/ExpandR.txt §4) or the
// reference code (FACTS.md), with the reason: one table, printed under the results (results.md) beside the
// value the run actually used. The defaults' own comments (config.ts, train/settings.ts) say the same
// briefly; a test checks that every path here resolves and that `ours` is the default in effect.
import { DPO_DEFAULTS } from '../llm/dpo-settings.ts';
import { TRAIN_DEFAULTS } from '../train/settings.ts';
import { EXPERIMENT_DEFAULTS, type ExperimentConfig } from './config.ts';

export interface DefaultNote {
  /** The paper's or the reference code's value, and which. */
  paper: string;
  /** Our default (as JSON), read from the defaults objects. */
  ours: string;
  why: string;
}

const NOTES: Readonly<Record<string, Omit<DefaultNote, 'ours'>>> = {
  'llm.model': {
    paper: 'Meta-Llama-3-8B-Instruct (paper §4.1)',
    why: 'runs in a browser tab: WebLLM q4f16_1 needs 945 MB for Qwen2.5-0.5B-Instruct; an 8B model does not fit most GPUs a page gets',
  },
  'llm.engine': {
    paper: 'none: the reference code generates in Python on GPUs',
    why: 'tfjs runs every model format on every backend and is the engine of log-probs and DPO; "llama.cpp" (a .gguf model only) generates 8–10× faster on CPU at the pipeline’s batch (SmolLM2-135M, bench/RESULTS-generation.md), the tuned model handed over as a merged GGUF',
  },
  'expansion.temperature': {
    paper: '1.0 (reference code, evaluation expansions)',
    why: 'unmeasured choice: the lowest of the candidate temperatures; set 1.0 to sample as the reference evaluation does',
  },
  'expansion.maxTokens': {
    paper: '512 (reference code)',
    why: 'generation time on CPU or in the tab: tokens are the cost (SmolLM2-135M: ~12 tokens/s at batch 8), and the encoder reads 256–512 tokens of it anyway',
  },
  'candidates.maxTokens': {
    paper: '512 (reference code)',
    why: '32 candidates per train query make this the largest generation of the loop; halved for the same time budget',
  },
  'answer.temperature': {
    paper: '1.0 (reference code, Q2A answer)',
    why: 'unmeasured choice, as expansion.temperature; set 1.0 for the reference',
  },
  'answer.maxTokens': {
    paper: '512 (reference code)',
    why: 'generation time, as expansion.maxTokens (one answer per train query)',
  },
  'retriever.accumulation': {
    paper: '8 × 2 GPUs × 64 = 1024 queries per step (paper §4.1, reference code)',
    why: 'one micro-batch of 64 per step on CPU/in the tab; raise accumulation (with gradCacheChunk) for the paper’s 1024',
  },
  'retriever.hardNegatives': {
    paper: 'true: group size 2, one hard negative per query (reference code)',
    why: 'the paper’s Eq. 9 has in-batch negatives only; hard negatives double the documents encoded per step',
  },
  'retriever.warmupRatio': {
    paper: '0 (reference code: HF Trainer default, no warmup)',
    why: 'DESIGN.md §1 asks for warmup + linear decay and the paper gives no value; 10 % is a common choice, not tuned here',
  },
};

/** The value at a key path of the defaults: retriever.* and dpo.* fall back to the trainers' defaults. */
export function defaultAt(path: string, config: ExperimentConfig = EXPERIMENT_DEFAULTS): unknown {
  const [head, ...rest] = path.split('.');
  const fallback: Record<string, unknown> = { retriever: TRAIN_DEFAULTS, dpo: DPO_DEFAULTS };
  let v: unknown = (config as unknown as Record<string, unknown>)[head];
  let f: unknown = fallback[head];
  for (const k of rest) {
    const next = (v as Record<string, unknown> | undefined)?.[k];
    v = next !== undefined ? next : (f as Record<string, unknown> | undefined)?.[k];
    f = undefined;
  }
  return v;
}

/** path → {paper, ours, why}, `ours` read from the defaults. */
export const DEFAULT_NOTES: Readonly<Record<string, DefaultNote>> = Object.freeze(
  Object.fromEntries(Object.entries(NOTES).map(([path, n]) => [path, { paper: n.paper, ours: JSON.stringify(defaultAt(path)), why: n.why }])),
);

/** The markdown section results.md prints: each differing default, the value this run used, and why. */
export function defaultNotesMarkdown(config: ExperimentConfig): string {
  const out = ['## Defaults that differ from the paper or the reference code', '', '| setting | this run | paper / reference | why |', '|---|---|---|---|'];
  for (const [path, n] of Object.entries(DEFAULT_NOTES)) {
    const used = JSON.stringify(defaultAt(path, config));
    out.push(`| ${path} | ${used}${used === n.ours ? '' : ` (default ${n.ours})`} | ${n.paper} | ${n.why} |`);
  }
  return out.join('\n');
}
