// Result records of the encoder benchmarks (one JSON line each from a child process or a browser page)
// and the tables they are printed as. Pure: shared by encoder.bench.ts and encoder-webgpu.bench.ts.
import { textTable } from '../src/util/format.ts';
import type { EncodeProfile } from './encoder-profile.ts';

export interface EncodeFigures {
  docs: number;
  /** Real tokens (special tokens included, padding excluded) after truncation to maxLength. */
  tokens: number;
  /** Tokens the model actually ran over: Σ batch rows × longest row (encode() batches by length). */
  paddedTokens: number;
  /** Rows of the largest batch run: below the requested batch where encode() caps it by attention size. */
  largestBatch: number;
  batches: number;
  /** Wall time of encode() over all docs, tokenisation and read-back included. */
  ms: number;
}

export const docsPerS = (f: EncodeFigures) => (f.docs / f.ms) * 1000;
export const tokensPerS = (f: EncodeFigures) => (f.tokens / f.ms) * 1000;

export interface TrainFigures {
  queries: number;
  docs: number;
  /** GradCache chunk (rows per forward pass); 0: plain backprop over the whole batch. */
  chunk: number;
  /** Real tokens in the step (queries + docs). */
  tokens: number;
  /** Measured steps (after warm-up). */
  steps: number;
  /** Mean per measured step: whole step, forward + backward (batchGrads → loss read), clip + AdamW. */
  stepMs: number;
  gradMs: number;
  optMs: number;
  loss: number;
  /** Peak tensor memory during one step above the resting model + optimizer state (tf.profile; wasm/cpu only). */
  peakBytes: number | null;
}

/** Where a figure was measured: the process (or page) it ran in, so ratios pair same-run figures only. */
export interface Origin {
  /** 'Node' or 'Chromium'. */
  host: string;
  /** Identifies one process or page: ratios only pair records with the same `run`. */
  run: string;
  shape: string;
  /** 1-minute load average when the figure was taken (null in the browser). */
  load1: number | null;
}

export type BenchRecord = Origin &
  (
    | { kind: 'encode'; engine: 'ours'; backend: string; maxLength: number; batchSize: number; figures: EncodeFigures }
    | { kind: 'encode'; engine: 'transformers.js'; backend: string; maxLength: number; batchSize: number; figures: EncodeFigures }
    | { kind: 'train'; backend: string; maxLength: number; figures: TrainFigures }
    | { kind: 'agree'; backend: string; baseline: string; diff: number; texts: number }
    | { kind: 'profile'; backend: string; maxLength: number; profile: EncodeProfile }
    | { kind: 'skip'; what: string; why: string }
  );

/** Prefix of a result line on a child's stdout (everything else is passed through as log). */
export const RESULT_PREFIX = '@@bench ';

const f0 = (x: number) => x.toFixed(0);
const f1 = (x: number) => x.toFixed(1);
const sig = (x: number) => (x >= 100 ? f0(x) : x >= 10 ? f1(x) : x.toFixed(2));
const ratioText = (x: number) => (x >= 0.1 ? x.toFixed(2) : x.toPrecision(2));
const load = (r: Origin) => (r.load1 === null ? '—' : r.load1.toFixed(2));

type EncodeRecord = Extract<BenchRecord, { kind: 'encode' }>;

export function encodeTable(records: BenchRecord[]): string {
  const enc = records.filter((r): r is EncodeRecord => r.kind === 'encode');
  const key = (r: EncodeRecord) => `${r.run}|${r.shape}|${r.maxLength}|${r.batchSize}|${r.figures.docs}`;
  const rows = enc.map((r) => {
    const f = r.figures;
    const peers = r.engine === 'ours' ? enc.filter((b) => b.engine === 'transformers.js' && key(b) === key(r)) : [];
    const ratio = peers.map((b) => `${ratioText(docsPerS(f) / docsPerS(b.figures))} (${b.backend})`).join(', ');
    return [
      r.shape,
      r.engine,
      `${r.backend} · ${r.host}`,
      String(r.maxLength),
      f.largestBatch < r.batchSize ? `${r.batchSize} (≤${f.largestBatch})` : String(r.batchSize),
      `${f.docs} (${f.batches})`,
      `${f.tokens} (${f0((100 * (f.paddedTokens - f.tokens)) / f.paddedTokens)} %)`,
      sig(f.ms / 1000),
      sig(docsPerS(f)),
      f0(tokensPerS(f)),
      ratio || (r.engine === 'ours' ? '—' : ''),
      load(r),
    ];
  });
  return textTable(['shape', 'engine', 'backend · host', 'max len', 'batch', 'docs (batches)', 'real tokens (pad)', 's', 'docs/s', 'tokens/s', 'ours ÷ transformers.js', 'load 1m'], rows);
}

export function trainTable(records: BenchRecord[]): string {
  const rows = records
    .filter((r): r is Extract<BenchRecord, { kind: 'train' }> => r.kind === 'train')
    .map((r) => {
      const f = r.figures;
      return [
        r.shape,
        `${r.backend} · ${r.host}`,
        `${f.queries} q + ${f.docs} d`,
        String(r.maxLength),
        String(f.tokens),
        f.chunk ? `GradCache ${f.chunk}` : 'plain',
        String(f.steps),
        sig(f.stepMs / 1000),
        sig(f.gradMs / 1000),
        sig(f.optMs / 1000),
        f0((f.tokens / f.stepMs) * 1000),
        f.peakBytes === null ? '—' : f0(f.peakBytes / 2 ** 20),
        f.loss.toFixed(3),
        load(r),
      ];
    });
  return textTable(['shape', 'backend · host', 'batch', 'doc max len', 'tokens', 'gradients', 'steps', 'step s', 'fwd+bwd s', 'clip+AdamW s', 'tokens/s', 'peak MiB', 'loss', 'load 1m'], rows);
}

export function profileTables(p: EncodeProfile): string {
  const total = p.totalMs;
  const stageRows = [
    ['tokenisation (transformers.js WordPiece, JS)', f1(p.tokenizeMs), f1((100 * p.tokenizeMs) / total), '1'],
    ...[...p.stages].sort((a, b) => b.ms - a.ms).map((s) => [s.name, f1(s.ms), f1((100 * s.ms) / total), String(s.calls)]),
  ];
  // tf.customGrad ops (matMul2d, embeddingLookup) show up as 'unnamed scope' wrapping kernels that are
  // also listed on their own: leave them out, or their time counts twice.
  const kernels = p.kernels.filter((k) => k.name !== 'unnamed scope');
  const kTotal = kernels.reduce((a, k) => a + k.ms, 0);
  const kernelRows = kernels.slice(0, 14).map((k) => [k.name, f1(k.ms), f1((100 * k.ms) / kTotal), String(k.calls)]);
  return [
    textTable(['stage', 'ms', '%', 'calls'], stageRows),
    `  peak tensor memory of one embed() ${f0(p.peakBytes / 2 ** 20)} MiB above the weights (tfjs-wasm's heap ends at 4 GiB)`,
    `  total ${f0(total)} ms traced; BertModel.forward + read-back of the same batch ${f0(p.forwardMs)} ms; trace vs BertModel.forward max |diff| ${p.traceDiff}`,
    '',
    textTable(['kernel (tf.profile of embed())', 'ms', '%', 'calls'], kernelRows),
    `  kernels total ${f0(kTotal)} ms (custom-gradient wrappers left out: their inner kernels are listed)`,
  ].join('\n');
}

export function printReport(records: BenchRecord[], log: (s: string) => void = console.log): void {
  if (records.some((r) => r.kind === 'encode')) log(`\nEncoding (docs: SciFact title + ' ' + text, in corpus order; our batches are length-sorted and transformers.js gets the same batches):\n${encodeTable(records)}`);
  for (const r of records) {
    if (r.kind === 'agree') log(`  ${r.shape} · ${r.host}: ours (${r.backend}) vs transformers.js (${r.baseline}) on ${r.texts} short texts, mean-pooled: max |diff| = ${r.diff.toExponential(2)}`);
  }
  if (records.some((r) => r.kind === 'train')) log(`\nOne InfoNCE training step (batchGrads + clip + AdamW, dropout on, contriever variant τ = 0.02; queries = SciFact train queries, docs = their positives):\n${trainTable(records)}`);
  for (const r of records) {
    if (r.kind === 'profile') log(`\nProfile of one encode batch: ${r.shape}, ${r.backend} · ${r.host}, ${r.profile.batch} docs × ${r.profile.seqLen} tokens (load 1m ${load(r)}):\n${profileTables(r.profile)}`);
  }
  for (const r of records) if (r.kind === 'skip') log(`  not measured: ${r.what} · ${r.host}: ${r.why}`);
}
