// The rows bench/gpu.bench.ts prints and saves: one measured figure each (with its peer from the same
// page or process, and the ratio "ours is N times as fast"), or one part that did not run and why. Pure.
import { textTable } from '../src/util/format.ts';
import type { Part } from './gpu-options.ts';

export interface Figure {
  part: Part;
  host: 'Chromium' | 'Node';
  /** e.g. 'ours (tfjs-webgpu)', 'transformers.js (ort-web webgpu)', 'llama.cpp (wllama, CPU, 4 threads)'. */
  engine: string;
  /** What was measured, with its sizes. */
  what: string;
  value: number;
  unit: 'docs/s' | 'tokens/s' | 's/step';
  /** The peer engine measured in the same run, and ours' speed over its speed (> 1: ours is faster). */
  peer?: string;
  ratio?: number;
  /** Everything else worth keeping (split times, token counts, agreement, loss). */
  detail: Record<string, number | string | boolean | null>;
}

export interface Skip {
  part: Part;
  host: 'Chromium' | 'Node';
  what: string;
  why: string;
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x >= 0.1 ? x.toFixed(2) : x.toPrecision(2));

export function figureTable(figures: Figure[]): string {
  const rows = figures.map((f) => [f.part, f.host, f.engine, f.what, `${fmt(f.value)} ${f.unit}`, f.ratio === undefined ? '' : `${f.ratio.toFixed(2)} vs ${f.peer}`]);
  return textTable(['part', 'host', 'engine', 'measured', 'figure', 'ours ÷ peer (speed)'], rows);
}

export function skipLines(skips: Skip[]): string {
  return skips.map((s) => `not measured: ${s.part} · ${s.host} · ${s.what}: ${s.why}`).join('\n');
}
