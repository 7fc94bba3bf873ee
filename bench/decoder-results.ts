// Result records of the decoder benchmark (one JSON line each from a child process, decoder-node-child.ts)
// and the tables decoder.bench.ts prints them as. Pure: no tfjs here.
import { formatBytes, textTable } from '../src/util/format.ts';

/** Prefix of a result line on a child's stdout (everything else is passed through as log). */
export const RESULT_PREFIX = '@@decoder-bench ';

/** What every record carries: where and under what load it was measured. */
export interface Origin {
  model: string;
  backend: string;
  /** 1-minute load average when the figure was taken. */
  load1: number;
}

export interface ShapeInfo {
  layers: number;
  dim: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  hidden: number;
  vocab: number;
  tied: boolean;
  params: number;
}

/** Peak RSS of the process so far (getrusage ru_maxrss) and tfjs' own account, after a phase. */
export interface MemoryFigures {
  maxRss: number;
  rss: number;
  tfBytes: number;
  /** wasm backend: its linear memory now (the high-water mark: it never shrinks); null on other backends. */
  wasmHeap?: number | null;
}

export type DecoderRecord = Origin &
  (
    | { kind: 'build'; shape: ShapeInfo; initMs: number; uploadMs: number; mem: MemoryFigures }
    | {
        kind: 'generate';
        batch: number;
        promptLen: number;
        newTokens: number;
        /** Forward passes after the prompt (newTokens − 1). */
        steps: number;
        /** Prompt pass incl. the first logits read-back (generate()'s prefillMs). */
        prefillMs: number;
        /** Every later step incl. sampling and read-back (generate()'s decodeMs). */
        decodeMs: number;
        mem: MemoryFigures;
      }
    | { kind: 'logprobs'; rows: number; length: number; scored: number; vocabChunk: number; ms: number; mem: MemoryFigures }
    | {
        kind: 'dpo';
        pairs: number;
        rowLength: number;
        scoredPerRow: number;
        lora: string;
        /** Older records only (the bench's former --dx-kernel override; src now avoids the packed W itself). */
        dxKernel?: 'tfjs' | 'copy';
        /** Older records only (the former --identity override; src/util/wasm-identity.ts now always shares). */
        identity?: 'copy' | 'share';
        trainable: number;
        /** Reference log-probs (adapters off), once per run: what trainDpo caches. */
        referenceMs: number | null;
        /** Per step: forward + backward (tf.variableGrads → loss and gradients ready), clip + AdamW. */
        steps: { gradMs: number; optMs: number; loss: number }[];
        mem: MemoryFigures;
      }
    | {
        kind: 'kernel';
        /** x (m, k) · W (n, k)ᵀ as linear() calls it (transposeB), and the same W stored as (k, n). */
        m: number;
        k: number;
        n: number;
        transposedMs: number;
        plainMs: number;
        flop: number;
        maxDiff: number;
        mem: MemoryFigures;
      }
    | { kind: 'skip'; what: string; why: string }
  );

const f1 = (x: number) => x.toFixed(1);
const rate = (n: number, ms: number) => (ms > 0 ? (n / ms) * 1000 : NaN);
const fmtRate = (x: number) => (!Number.isFinite(x) ? '-' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const fmtMs = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`);

export function shapeLabel(s: ShapeInfo): string {
  return `L${s.layers} d${s.dim} h${s.heads}/${s.kvHeads}×${s.headDim} ffn${s.hidden} V${s.vocab}${s.tied ? ' tied' : ''}`;
}

/** Prints every table; `perLayer` pairs (full, reduced) models for the per-layer extrapolation. */
export function printReport(records: DecoderRecord[], perLayer: [string, string][] = []): void {
  const of = <K extends DecoderRecord['kind']>(k: K) => records.filter((r): r is Extract<DecoderRecord, { kind: K }> => r.kind === k);

  const builds = of('build');
  if (builds.length) {
    console.log('\nModels (random weights, float32):');
    console.log(
      textTable(
        ['model', 'backend', 'shape', 'params', 'weights', 'random init', 'to backend', 'peak RSS', 'load'],
        builds.map((r) => [
          r.model,
          r.backend,
          shapeLabel(r.shape),
          `${(r.shape.params / 1e6).toFixed(r.shape.params < 1e6 ? 3 : 1)} M`,
          formatBytes(r.shape.params * 4),
          fmtMs(r.initMs),
          fmtMs(r.uploadMs),
          formatBytes(r.mem.maxRss),
          f1(r.load1),
        ]),
      ),
    );
  }

  const kernels = of('kernel');
  if (kernels.length) {
    console.log("\nThe projection kernel (tf.matMul on mlp.gate_proj's shape; linear() passes transposeB = true, which tfjs-wasm runs in its scalar loop):");
    console.log(
      textTable(
        ['model', 'backend', 'x · Wᵀ', 'transposeB (as linear())', 'GFLOP/s', 'W pre-transposed', 'GFLOP/s', 'speed-up', 'max |diff|', 'load'],
        kernels.map((r) => [
          r.model,
          r.backend,
          `${r.m}×${r.k} · (${r.n}×${r.k})ᵀ`,
          `${r.transposedMs.toFixed(1)} ms`,
          (r.flop / r.transposedMs / 1e6).toFixed(2),
          `${r.plainMs.toFixed(1)} ms`,
          (r.flop / r.plainMs / 1e6).toFixed(2),
          `${(r.transposedMs / r.plainMs).toFixed(1)}×`,
          r.maxDiff.toExponential(1),
          f1(r.load1),
        ]),
      ),
    );
  }

  const gens = of('generate');
  if (gens.length) {
    console.log('\nGreedy generation (generate(), KV cache; prefill = prompt pass + first read-back; decode = later steps incl. argmax):');
    console.log(
      textTable(
        ['model', 'backend', 'batch', 'prompt', 'new', 'prefill', 'prefill tok/s', 'decode ms/step', 'decode tok/s', 'end-to-end new tok/s', 'peak RSS', 'load'],
        gens.map((r) => [
          r.model,
          r.backend,
          String(r.batch),
          String(r.promptLen),
          String(r.newTokens),
          fmtMs(r.prefillMs),
          fmtRate(rate(r.batch * r.promptLen, r.prefillMs)),
          r.steps ? f1(r.decodeMs / r.steps) : '-',
          r.steps ? fmtRate(rate(r.batch * r.steps, r.decodeMs)) : '-',
          fmtRate(rate(r.batch * r.newTokens, r.prefillMs + r.decodeMs)),
          formatBytes(r.mem.maxRss),
          f1(r.load1),
        ]),
      ),
    );
  }

  const lps = of('logprobs');
  if (lps.length) {
    console.log('\nSequence log-probs (sequenceLogProbsValues, no gradients, chunked log-softmax over the vocabulary):');
    console.log(
      textTable(
        ['model', 'backend', 'rows × length', 'scored', 'vocab chunk', 'time', 'tokens/s', 'scored tok/s', 'peak RSS', 'load'],
        lps.map((r) => [
          r.model,
          r.backend,
          `${r.rows} × ${r.length}`,
          String(r.scored),
          String(r.vocabChunk),
          fmtMs(r.ms),
          fmtRate(rate(r.rows * r.length, r.ms)),
          fmtRate(rate(r.scored, r.ms)),
          formatBytes(r.mem.maxRss),
          f1(r.load1),
        ]),
      ),
    );
  }

  const dpos = of('dpo');
  if (dpos.length) {
    console.log('\nDPO step (as trainDpo: policy log-probs in tf.variableGrads → Eq. 17 loss → LoRA grads; clip 10 + AdamW; reference once):');
    console.log(
      textTable(
        ['model', 'backend', 'pairs × rows × len', 'LoRA', 'trainable', 'reference (once)', 'step', 'fwd+bwd', 'clip+AdamW', 'step total', 'train tok/s', 'peak RSS', 'load'],
        dpos.flatMap((r) =>
          r.steps.map((s, i) => [
            i === 0 ? r.model : '',
            i === 0 ? `${r.backend}${r.dxKernel === 'copy' ? ', dx on W copy' : ''}${r.identity === 'share' ? ', shared clones' : ''}` : '',
            i === 0 ? `${r.pairs} × 2 × ${r.rowLength}` : '',
            i === 0 ? r.lora : '',
            i === 0 ? `${(r.trainable / 1e3).toFixed(1)} k` : '',
            i === 0 ? (r.referenceMs === null ? 'skipped' : fmtMs(r.referenceMs)) : '',
            `${i + 1}${i === 0 && r.steps.length > 1 ? ' (cold)' : ''}`,
            fmtMs(s.gradMs),
            fmtMs(s.optMs),
            fmtMs(s.gradMs + s.optMs),
            fmtRate(rate(r.pairs * 2 * r.rowLength, s.gradMs + s.optMs)),
            i === 0 ? formatBytes(r.mem.maxRss) : '',
            i === 0 ? f1(r.load1) : '',
          ]),
        ),
      ),
    );
  }

  // Per-layer extrapolation: t(L) ≈ fixed + L·perLayer from a full and a reduced-depth model on one backend.
  const rows: string[][] = [];
  for (const [full, reduced] of perLayer) {
    for (const backend of new Set(records.map((r) => r.backend))) {
      const bf = builds.find((r) => r.model === full && r.backend === backend);
      const br = builds.find((r) => r.model === reduced && r.backend === backend);
      if (!bf || !br || bf.shape.layers === br.shape.layers) continue;
      const dL = bf.shape.layers - br.shape.layers;
      const split = (what: string, tf_: number, tr: number) => {
        const per = (tf_ - tr) / dL;
        const fixed = tr - br.shape.layers * per;
        rows.push([`${full} vs ${reduced}`, backend, what, f1(per), f1(fixed), f1(tf_), `${((per * bf.shape.layers * 100) / tf_).toFixed(0)} %`]);
      };
      for (const g of gens.filter((r) => r.model === full && r.backend === backend)) {
        const h = gens.find((r) => r.model === reduced && r.backend === backend && r.batch === g.batch && r.promptLen === g.promptLen);
        if (!h) continue;
        split(`prefill, batch ${g.batch} × ${g.promptLen}`, g.prefillMs, h.prefillMs);
        if (g.steps && h.steps) split(`decode step, batch ${g.batch}`, g.decodeMs / g.steps, h.decodeMs / h.steps);
      }
      // Per row (the loop is linear in rows on wasm), so runs with different row counts still pair up.
      const lf = lps.find((r) => r.model === full && r.backend === backend);
      const lr = lps.find((r) => r.model === reduced && r.backend === backend && lf && r.length === lf.length);
      if (lf && lr) split(`log-probs, 1 row × ${lf.length}`, lf.ms / lf.rows, lr.ms / lr.rows);
      const df = dpos.find((r) => r.model === full && r.backend === backend);
      const dr = dpos.find((r) => r.model === reduced && r.backend === backend && df && r.rowLength === df.rowLength && r.pairs === df.pairs);
      if (df && dr) {
        const last = (d: typeof df) => d.steps[d.steps.length - 1];
        split('DPO fwd+bwd (last step)', last(df).gradMs, last(dr).gradMs);
        if (df.referenceMs !== null && dr.referenceMs !== null) split('DPO reference log-probs', df.referenceMs, dr.referenceMs);
      }
    }
  }
  if (rows.length) {
    console.log('\nPer-layer extrapolation (t ≈ fixed + layers · per layer, from the two depths; fixed = embedding, final norm, lm_head, read-back, JS):');
    console.log(textTable(['models', 'backend', 'measure', 'ms per layer', 'ms fixed', 'ms full', 'layers share'], rows));
  }

  const withMem = records.filter((r): r is Extract<DecoderRecord, { mem: MemoryFigures }> => 'mem' in r && r.kind !== 'kernel');
  if (withMem.length) {
    console.log('\nMemory after each phase (peak RSS: the process high-water mark so far, incl. the weights built in JS; wasm heap: never shrinks, 4 GiB max):');
    const phase = (r: (typeof withMem)[number]) =>
      r.kind === 'generate' ? `generate batch ${r.batch}` : r.kind === 'logprobs' ? `log-probs ${r.rows} × ${r.length}` : r.kind === 'dpo' ? 'DPO' : r.kind;
    console.log(
      textTable(
        ['model', 'backend', 'after', 'peak RSS', 'RSS now', 'wasm heap', 'tf tensors'],
        withMem.map((r) => [r.model, r.backend, phase(r), formatBytes(r.mem.maxRss), formatBytes(r.mem.rss), r.mem.wasmHeap ? formatBytes(r.mem.wasmHeap) : '-', formatBytes(r.mem.tfBytes)]),
      ),
    );
  }

  const skips = of('skip');
  if (skips.length) {
    console.log('\nNot measured:');
    for (const s of skips) console.log(`  ${s.model} on ${s.backend}, ${s.what}: ${s.why}`);
  }
}
