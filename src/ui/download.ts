// Saving what the page made (zips, CSV, JSON, figures) as a file download. Browser-only.

export function downloadBlob(blob: Blob, name: string): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

export function downloadText(text: string, name: string, type = 'text/plain'): void {
  downloadBlob(new Blob([text], { type }), name);
}

export function downloadBytes(bytes: Uint8Array, name: string, type = 'application/octet-stream'): void {
  downloadBlob(new Blob([bytes as BlobPart], { type }), name);
}

/** A canvas as a PNG file (canvas.toBlob). */
export async function downloadCanvasPng(canvas: HTMLCanvasElement, name: string): Promise<void> {
  const blob = await new Promise<Blob | null>((res) => canvas.toBlob(res, 'image/png'));
  if (blob) downloadBlob(blob, name);
}

/** An SVG string as a PNG, drawn at `scale` × its size (for figures written as SVG). */
export async function svgToPng(svg: string, width: number, height: number, scale = 2): Promise<Blob | null> {
  const img = new Image();
  img.src = URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }));
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = width * scale;
  canvas.height = height * scale;
  const ctx = canvas.getContext('2d')!;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
  URL.revokeObjectURL(img.src);
  return new Promise((res) => canvas.toBlob(res, 'image/png'));
}

/** A file-name-safe slug. */
export const slug = (s: string) => s.replace(/[^\w.-]+/g, '-').replace(/^-|-$/g, '') || 'file';
