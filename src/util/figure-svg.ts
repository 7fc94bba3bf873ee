// Figures written as SVG by hand (no DOM): the t-SNE scatter of query/document pairs (paper Fig. 2) as
// small multiples, one panel per setting, bar charts such as expansion length per setting (Fig. 5), and
// differences with their intervals (a forest plot of each row against FT).
// The same strings are shown in the page and downloaded (.svg, or rasterised to .png).

export interface ScatterPoint {
  x: number;
  y: number;
  kind: 'query' | 'doc';
  /** Index of the query/document pair (same colour, joined by a line). */
  pair: number;
  label?: string;
}

export interface ScatterPanel {
  title: string;
  points: ScatterPoint[];
}

export interface Bar {
  label: string;
  value: number;
  /** Optional spread (e.g. standard deviation), drawn as a whisker. */
  err?: number;
}

export const PALETTE = ['#1f4e79', '#c0504d', '#4f8a3c', '#8064a2', '#d08a1e', '#2c9aa0', '#7f7f7f', '#b5487f', '#5a6e1f', '#3b3bb3'];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const r2 = (x: number) => Math.round(x * 100) / 100;

/** Small multiples, `cols` per row: queries as circles, gold documents as squares, each pair in one colour and joined. */
export function scatterSvg(panels: readonly ScatterPanel[], opts: { cols?: number; size?: number } = {}): { svg: string; width: number; height: number } {
  const cols = Math.max(1, Math.min(opts.cols ?? 3, panels.length || 1));
  const size = opts.size ?? 200;
  const pad = 12;
  const titleH = 18;
  const rows = Math.ceil(panels.length / cols);
  const width = cols * size;
  const height = rows * (size + titleH) + 24;
  const parts: string[] = [];
  panels.forEach((p, i) => {
    const ox = (i % cols) * size;
    const oy = Math.floor(i / cols) * (size + titleH);
    const xs = p.points.map((q) => q.x);
    const ys = p.points.map((q) => q.y);
    const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
    const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
    const sx = (x: number) => r2(ox + pad + ((x - x0) / (x1 - x0 || 1)) * (size - 2 * pad));
    const sy = (y: number) => r2(oy + titleH + pad + (1 - (y - y0) / (y1 - y0 || 1)) * (size - 2 * pad));
    parts.push(`<g data-panel="${esc(p.title)}">`);
    parts.push(`<rect x="${ox + 2}" y="${oy + titleH}" width="${size - 4}" height="${size - 4}" fill="none" stroke="#d5d5da"/>`);
    parts.push(`<text x="${ox + size / 2}" y="${oy + 13}" text-anchor="middle" font-size="12">${esc(p.title)}</text>`);
    const byPair = new Map<number, ScatterPoint[]>();
    for (const q of p.points) byPair.set(q.pair, [...(byPair.get(q.pair) ?? []), q]);
    for (const [pair, pts] of byPair) {
      const c = PALETTE[pair % PALETTE.length];
      const qd = pts.find((q) => q.kind === 'query');
      const dd = pts.find((q) => q.kind === 'doc');
      if (qd && dd) parts.push(`<line x1="${sx(qd.x)}" y1="${sy(qd.y)}" x2="${sx(dd.x)}" y2="${sy(dd.y)}" stroke="${c}" stroke-opacity="0.4"/>`);
      for (const q of pts) {
        const t = q.label ? `<title>${esc(q.label)}</title>` : '';
        parts.push(q.kind === 'query'
          ? `<circle cx="${sx(q.x)}" cy="${sy(q.y)}" r="4" fill="${c}">${t}</circle>`
          : `<rect x="${sx(q.x) - 4}" y="${sy(q.y) - 4}" width="8" height="8" fill="none" stroke="${c}" stroke-width="1.5">${t}</rect>`);
      }
    }
    parts.push('</g>');
  });
  parts.push(`<text x="8" y="${height - 8}" font-size="11" fill="#6b6b70">● query   □ gold document   (one colour per pair)</text>`);
  return { svg: wrap(width, height, parts), width, height };
}

/** Horizontal bars with value labels (one bar per setting). */
export function barsSvg(bars: readonly Bar[], opts: { unit?: string; width?: number } = {}): { svg: string; width: number; height: number } {
  const width = opts.width ?? 520;
  const labelW = 170;
  const rowH = 22;
  const height = bars.length * rowH + 30;
  const max = Math.max(1e-9, ...bars.map((b) => b.value + (b.err ?? 0)));
  const sx = (v: number) => r2(((width - labelW - 60) * v) / max);
  const parts = bars.map((b, i) => {
    const y = 8 + i * rowH;
    const whisker = b.err ? `<line x1="${labelW + sx(b.value - b.err)}" x2="${labelW + sx(b.value + b.err)}" y1="${y + 8}" y2="${y + 8}" stroke="#1d1d1f"/>` : '';
    return (
      `<text x="${labelW - 6}" y="${y + 12}" text-anchor="end" font-size="12">${esc(b.label)}</text>` +
      `<rect x="${labelW}" y="${y}" width="${sx(b.value)}" height="16" fill="${PALETTE[i % PALETTE.length]}"/>${whisker}` +
      `<text x="${labelW + sx(b.value + (b.err ?? 0)) + 4}" y="${y + 12}" font-size="11">${r2(b.value)}</text>`
    );
  });
  if (opts.unit) parts.push(`<text x="${labelW}" y="${height - 6}" font-size="11" fill="#6b6b70">${esc(opts.unit)}</text>`);
  return { svg: wrap(width, height, parts), width, height };
}

/** One row of an interval plot: a difference, its interval, and whether its test found it significant. */
export interface IntervalRow {
  label: string;
  value: number;
  lo: number;
  hi: number;
  significant?: boolean;
}

/**
 * Differences with their intervals (a forest plot): one row per label, a dot at the difference on a line from
 * lo to hi, and a vertical line at zero; a significant difference has a filled dot, the others a hollow one.
 */
export function intervalsSvg(rows: readonly IntervalRow[], opts: { unit?: string; width?: number } = {}): { svg: string; width: number; height: number } {
  const width = opts.width ?? 560;
  const [labelW, valueW] = [190, 70];
  const rowH = 22;
  const axisH = 30;
  const height = rows.length * rowH + axisH + (opts.unit ? 16 : 0);
  const x0 = Math.min(0, ...rows.map((r) => r.lo));
  const x1 = Math.max(0, ...rows.map((r) => r.hi));
  const span = x1 - x0 || 1;
  const [lo, hi] = [x0 - 0.05 * span, x1 + 0.05 * span];
  const plotW = width - labelW - valueW;
  const sx = (v: number) => r2(labelW + ((v - lo) / (hi - lo)) * plotW);
  const top = 6;
  const bottom = top + rows.length * rowH;
  const tick = (v: number) => `${v > 0 ? '+' : ''}${v.toFixed(3)}`;
  const parts = [
    `<line x1="${sx(0)}" y1="${top}" x2="${sx(0)}" y2="${bottom}" stroke="#6b6b70" stroke-dasharray="3 3"/>`,
    `<line x1="${labelW}" y1="${bottom}" x2="${labelW + plotW}" y2="${bottom}" stroke="#6b6b70"/>`,
    ...[x0, 0, x1].filter((v, i, a) => a.indexOf(v) === i).map((v) => `<text x="${sx(v)}" y="${bottom + 14}" text-anchor="middle" font-size="10">${tick(v)}</text>`),
  ];
  rows.forEach((r, i) => {
    const y = top + i * rowH + rowH / 2;
    const c = PALETTE[i % PALETTE.length];
    const title = `<title>${esc(`${r.label}: ${tick(r.value)} [${tick(r.lo)}, ${tick(r.hi)}]`)}</title>`;
    parts.push(
      `<text x="${labelW - 6}" y="${y + 4}" text-anchor="end" font-size="12">${esc(r.label)}</text>` +
        `<line x1="${sx(r.lo)}" y1="${y}" x2="${sx(r.hi)}" y2="${y}" stroke="${c}" stroke-width="2"/>` +
        `<circle cx="${sx(r.value)}" cy="${y}" r="4.5" fill="${r.significant ? c : '#fff'}" stroke="${c}" stroke-width="2">${title}</circle>` +
        `<text x="${labelW + plotW + 6}" y="${y + 4}" font-size="11">${tick(r.value)}</text>`,
    );
  });
  if (opts.unit) parts.push(`<text x="${labelW}" y="${height - 6}" font-size="11" fill="#6b6b70">${esc(opts.unit)}</text>`);
  return { svg: wrap(width, height, parts), width, height };
}

/** Line chart (training curves): one polyline per series over shared x, axes with min/max ticks, a legend. */
export function linesSvg(xValues: readonly number[], series: readonly { label: string; values: readonly number[] }[], opts: { xLabel?: string; width?: number; height?: number } = {}): { svg: string; width: number; height: number } {
  const width = opts.width ?? 480;
  const height = opts.height ?? 220;
  const [l, r, t, b] = [52, 12, 10, 42];
  const ys = series.flatMap((s) => s.values.filter(Number.isFinite));
  const [x0, x1] = [Math.min(...xValues), Math.max(...xValues)];
  const [y0, y1] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
  const sx = (v: number) => r2(l + ((v - x0) / (x1 - x0 || 1)) * (width - l - r));
  const sy = (v: number) => r2(t + (1 - (v - y0) / (y1 - y0 || 1)) * (height - t - b));
  const fmt = (v: number) => (Math.abs(v) >= 100 || v === 0 ? String(Math.round(v)) : v.toPrecision(3));
  const parts = [
    `<line x1="${l}" y1="${height - b}" x2="${width - r}" y2="${height - b}" stroke="#6b6b70"/><line x1="${l}" y1="${t}" x2="${l}" y2="${height - b}" stroke="#6b6b70"/>`,
    `<text x="${l - 4}" y="${sy(y1) + 4}" text-anchor="end" font-size="10">${fmt(y1)}</text><text x="${l - 4}" y="${sy(y0)}" text-anchor="end" font-size="10">${fmt(y0)}</text>`,
    `<text x="${l}" y="${height - b + 12}" font-size="10">${fmt(x0)}</text><text x="${width - r}" y="${height - b + 12}" text-anchor="end" font-size="10">${fmt(x1)}</text>`,
    `<text x="${(l + width - r) / 2}" y="${height - b + 14}" text-anchor="middle" font-size="11">${esc(opts.xLabel ?? 'step')}</text>`,
  ];
  series.forEach((s, i) => {
    const c = PALETTE[i % PALETTE.length];
    const pts = xValues.map((xv, j) => (Number.isFinite(s.values[j]) ? `${sx(xv)},${sy(s.values[j])}` : '')).filter(Boolean).join(' ');
    parts.push(`<polyline points="${pts}" fill="none" stroke="${c}" stroke-width="1.5"/>`);
    parts.push(`<rect x="${l + i * 110}" y="${height - 16}" width="10" height="3" fill="${c}"/><text x="${l + i * 110 + 14}" y="${height - 12}" font-size="11">${esc(s.label)}</text>`);
  });
  return { svg: wrap(width, height, parts), width, height };
}

function wrap(width: number, height: number, parts: string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif"><rect width="100%" height="100%" fill="#fff"/>${parts.join('')}</svg>`;
}
