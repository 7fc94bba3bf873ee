// A real instruct LLM as a user brings it: SmolLM2-135M-Instruct's .gguf (98 MB, Q4_1) picked in the page's
// LLM zone, in Chromium. The page loads it through the core worker, shows its summary (llama, 30 layers,
// d 576, vocab 49,152, a chat template), keeps it in IndexedDB in chunks, and generates a greedy Q2D
// expansion of a SciFact test query with "Try the Q2D prompt"; after a reload it comes back from the
// stored chunks without being picked again. Skipped, saying how to fetch it, when the .gguf is absent.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import { startHarness, type Harness } from './harness.ts';

const ROOT = join(import.meta.dirname, '../..');
const GGUF_NAME = 'SmolLM2-135M-Instruct.Q4_1.gguf';
const GGUF = join(ROOT, '.cache/models/smollm2-135m-instruct', GGUF_NAME);
const SCIFACT = join(ROOT, '../shared/data/beir/scifact');
/** Reading and checking 135M weights, checksumming and storing 98 MB. */
const LOAD_TIMEOUT_MS = 180_000;
/** Loading the decoder on wasm and ~16 greedy tokens after a 56-token prompt (2 busy cores). */
const TRY_TIMEOUT_MS = 240_000;
const TRY_TOKENS = 16;
/** Chunks of 32 MiB (src/model/chunked-file.ts CHUNK_BYTES) for 98,362,432 bytes. */
const EXPECTED_CHUNKS = 3;

/** The first SciFact test query that has judgements. */
function scifactTestQuery(): { id: string; text: string } {
  const id = readFileSync(join(SCIFACT, 'qrels/test.tsv'), 'utf8').split('\n')[1].split('\t')[0];
  for (const line of readFileSync(join(SCIFACT, 'queries.jsonl'), 'utf8').split('\n')) {
    if (!line) continue;
    const q = JSON.parse(line) as { _id: string; text: string };
    if (q._id === id) return { id, text: q.text };
  }
  throw new Error(`SciFact test query ${id} not in queries.jsonl`);
}

/** Waits for `target` or the LLM panel's error, and fails with the page's message on the latter. */
async function untilShown(page: Page, target: Locator, what: string, timeout: number): Promise<void> {
  const error = page.getByTestId('llm-error');
  await target.or(error).first().waitFor({ timeout });
  if (await error.count()) throw new Error(`${what} failed in the page: ${await error.textContent()}`);
}

const present = existsSync(GGUF);
if (!present) console.warn(`[browser gguf] skipped: ${GGUF} is absent (npm run -s expandr -- fetch-model smollm2-135m-instruct fetches it)`);

let h: Harness;
beforeAll(async () => {
  if (present) h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe.skipIf(!present)('a .gguf dropped into the page', () => {
  it('loads SmolLM2 in the LLM zone, generates a Q2D expansion, and comes back after a reload', async () => {
    const page = await h.newPage();
    page.on('console', (m) => m.type() === 'error' && console.error('[console]', m.text()));
    await page.goto(h.url);
    await page.getByTestId('capability-report').waitFor();

    const t0 = Date.now();
    await page.getByTestId('llm-file-input').setInputFiles(GGUF);
    const row = page.getByTestId('llm-row').first();
    await untilShown(page, row, 'loading the .gguf', LOAD_TIMEOUT_MS);
    console.log(`[browser gguf] loaded and stored in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const summary = async () => ({
      row: await row.textContent(),
      arch: await row.getByTestId('llm-arch').textContent(),
      layers: await row.getByTestId('llm-layers').textContent(),
      dim: await row.getByTestId('llm-dim').textContent(),
      vocab: await row.getByTestId('llm-vocab').textContent(),
      chat: await row.getByTestId('llm-chat').textContent(),
    });
    const first = await summary();
    expect(first.row).toContain(GGUF_NAME);
    expect(first.row).toContain('tfjs · gguf');
    expect(first).toMatchObject({ arch: 'llama', layers: '30', dim: '576', vocab: '49152', chat: 'yes' });

    // Kept in IndexedDB as chunks plus their manifest, not as one 98 MB value.
    const stored = await page.evaluate(async (name) => {
      const db = await new Promise<IDBDatabase>((res, rej) => {
        const r = indexedDB.open('expandr');
        r.onsuccess = () => res(r.result);
        r.onerror = () => rej(r.error);
      });
      const keys = await new Promise<IDBValidKey[]>((res, rej) => {
        const r = db.transaction('modelFiles').objectStore('modelFiles').getAllKeys();
        r.onsuccess = () => res(r.result);
        r.onerror = () => rej(r.error);
      });
      db.close();
      const files = keys.map((k) => (k as string[])[2]);
      return { chunks: files.filter((f) => f.startsWith(`.expandr-chunks/${name}/`) && !f.endsWith('manifest.json')).length, whole: files.filter((f) => f === name).length };
    }, GGUF_NAME);
    expect(stored).toEqual({ chunks: EXPECTED_CHUNKS, whole: 0 });

    // One greedy expansion of a SciFact test query, through the chat template, as the Expand step prompts.
    const query = scifactTestQuery();
    await page.getByTestId('llm-try-query').fill(query.text);
    await page.getByTestId('llm-try-tokens').fill(String(TRY_TOKENS));
    const t1 = Date.now();
    await page.getByTestId('llm-try-run').click();
    const output = page.getByTestId('llm-try-output');
    await untilShown(page, output, 'generating', TRY_TIMEOUT_MS);
    const text = (await output.textContent())!.trim();
    console.log(`[browser gguf] query ${query.id} "${query.text}" → "${text}" (${((Date.now() - t1) / 1000).toFixed(1)} s; ${await page.getByTestId('llm-try-timing').textContent()})`);
    // English prose: mostly letters and spaces, several common function words, no control tokens.
    expect(text.length).toBeGreaterThan(20);
    expect(text).not.toMatch(/<\|im_(start|end)\|>|\uFFFD/);
    const letters = text.replace(/[^A-Za-z ]/g, '').length / text.length;
    expect(letters).toBeGreaterThan(0.8);
    const words = text.toLowerCase().match(/[a-z]+/g) ?? [];
    expect(words.length).toBeGreaterThanOrEqual(8);
    expect(words.filter((w) => ['the', 'of', 'and', 'a', 'an', 'in', 'to', 'is', 'are', 'that', 'with', 'for', 'by', 'as'].includes(w)).length).toBeGreaterThanOrEqual(2);

    // After a reload the model comes back from the stored chunks, nothing picked again.
    const t2 = Date.now();
    await page.reload();
    await page.getByTestId('llm-row').first().waitFor({ timeout: LOAD_TIMEOUT_MS });
    console.log(`[browser gguf] restored after reload in ${((Date.now() - t2) / 1000).toFixed(1)} s`);
    expect(await summary()).toEqual(first);
  });
});
