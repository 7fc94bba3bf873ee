// A run's zip made in the page: the worker hands over what the store holds (src/app/run-export-collect.ts),
// the page draws the run's figures as SVG (figure-svg.ts, as the Figures panel shows them) and rasterises
// each to PNG (an Image on a canvas: a DOM job), then run-export.ts lists and zips it all.
import type { FiguresData } from '../pipeline/figures-data.ts';
import { exportZipName, runExportEntries, runExportZip, type ExportFigure, type RunExportParts } from '../app/run-export.ts';
import { barsSvg, linesSvg, scatterSvg } from '../util/figure-svg.ts';
import { slug, svgToPng } from './download.ts';

type Svg = { name: string; svg: string; width: number; height: number };

/** The figures of a run as SVG: training curves (loss; DPO rewards), t-SNE (Fig. 2), expansion length (Fig. 5). */
export function runFigureSvgs(f: FiguresData | null): Svg[] {
  if (!f) return [];
  const out: Svg[] = [];
  for (const c of f.curves) {
    const x = c.points.map((p) => p.step);
    out.push({ name: `${slug(c.stage)}-loss`, ...linesSvg(x, [{ label: 'loss', values: c.points.map((p) => p.loss) }]) });
    if (c.kind === 'dpo' && c.points.some((p) => p.margin !== undefined)) {
      const series = (['chosenReward', 'rejectedReward', 'margin'] as const).map((k) => ({ label: k, values: c.points.map((p) => p[k] ?? NaN) }));
      out.push({ name: `${slug(c.stage)}-rewards`, ...linesSvg(x, series) });
    }
  }
  if (f.tsne.length) {
    const panels = f.tsne.map((t) => {
      const qids = [...new Set(t.points.map((p) => p.qid))];
      return { title: `${t.setting} (d̄ ${t.meanPairDistance.toFixed(1)})`, points: t.points.map((p) => ({ x: p.x, y: p.y, kind: p.kind, pair: qids.indexOf(p.qid), label: `${p.kind} ${p.qid}` })) };
    });
    out.push({ name: 'tsne', ...scatterSvg(panels) });
  }
  if (f.expansionLength.length) {
    out.push({ name: 'expansion-length', ...barsSvg(f.expansionLength.map((l) => ({ label: l.setting, value: l.mean })), { unit: 'mean words per expansion (test queries)' }) });
  }
  return out;
}

/** The run's zip: its name and bytes. A figure the browser cannot rasterise goes in as SVG only. */
export async function buildRunZip(parts: RunExportParts): Promise<{ name: string; bytes: Uint8Array }> {
  const figures: ExportFigure[] = [];
  for (const s of runFigureSvgs(parts.figures as FiguresData | null)) {
    const png = await svgToPng(s.svg, s.width, s.height).catch(() => null);
    figures.push({ name: s.name, svg: s.svg, ...(png ? { png: new Uint8Array(await png.arrayBuffer()) } : {}) });
  }
  return { name: exportZipName(parts), bytes: runExportZip(runExportEntries(parts, figures)) };
}
