// A local HTTP server with CORS over named folders (/NAME/path → folder/path), for the bench pages of
// bench/gpu.bench.ts: model folders, the GGUF and onnxruntime-web's wasm come from this machine, never
// from a CDN or the Hub. A server, not page.route: Playwright hands a fulfilled body to the browser in one
// protocol message, and a 90 MB weights file takes Chromium down (see encoder-webgpu.bench.ts).
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize, sep } from 'node:path';

const TYPES: Record<string, string> = { '.wasm': 'application/wasm', '.mjs': 'text/javascript', '.js': 'text/javascript', '.json': 'application/json' };

export interface Served {
  /** Base URL ending in '/': `${url}NAME/path`. */
  url: string;
  close(): Promise<void>;
}

export async function serveFolders(roots: Record<string, string>): Promise<Served> {
  const server = createServer((req, res) => {
    const [, top, ...rest] = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).split('/');
    const root = roots[top];
    const file = root ? normalize(join(root, ...rest)) : '';
    res.setHeader('Access-Control-Allow-Origin', '*');
    if (!root || !file.startsWith(normalize(root) + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    const ext = file.slice(file.lastIndexOf('.'));
    res.writeHead(200, { 'Content-Type': TYPES[ext] ?? 'application/octet-stream', 'Content-Length': statSync(file).size });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise<void>((ok) => server.close(() => ok())) };
}
