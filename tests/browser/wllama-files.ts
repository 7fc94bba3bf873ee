// What the wllama test and the generation benchmark share: the SmolLM2 GGUF served from this machine over a
// local HTTP server with CORS (not page.route: Playwright hands a fulfilled body over in one protocol message,
// too much for 98 MB), and Q2D prompts of SciFact queries.
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { q2dPrompt } from '../../src/pipeline/prompts.ts';

const ROOT = join(import.meta.dirname, '../..');
export const SMOLLM2_GGUF_NAME = 'SmolLM2-135M-Instruct.Q4_1.gguf';
export const SMOLLM2_GGUF = join(ROOT, '.cache/models/smollm2-135m-instruct', SMOLLM2_GGUF_NAME);
export const WLLAMA_PAGE = 'tests/browser/pages/wllama-generate.html';
const SCIFACT_QUERIES = join(ROOT, '../shared/data/beir/scifact/queries.jsonl');

/** Serves one file at /NAME with CORS; url is where the page fetches it. */
export async function serveFile(path: string, name: string): Promise<{ url: string; close: () => Promise<void> }> {
  if (!existsSync(path)) throw new Error(`${path} is absent: npm run -s expandr -- fetch-model smollm2-135m-instruct fetches it`);
  const server = createServer((req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    if (decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname) !== `/${name}`) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': statSync(path).size });
    createReadStream(path).pipe(res);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/${encodeURIComponent(name)}`, close: () => new Promise<void>((ok) => server.close(() => ok())) };
}

/** Q2D prompts (src/pipeline/prompts.ts) of the first `n` SciFact queries, as the Expand stage writes them. */
export function scifactQ2dPrompts(n: number): string[] {
  const out: string[] = [];
  for (const line of readFileSync(SCIFACT_QUERIES, 'utf8').split('\n')) {
    if (!line) continue;
    out.push(q2dPrompt((JSON.parse(line) as { text: string }).text));
    if (out.length === n) break;
  }
  return out;
}
