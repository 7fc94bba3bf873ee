// Our BertModel in Chromium on WebGPU (SwiftShader here) against the PyTorch fixture
// (tests/reference/gen/tiny_bert.py): token ids, hidden states, pooled embeddings, encode() and InfoNCE
// gradients, within the same tolerances as the Node backends. The page is tests/browser/pages/bert-webgpu.*.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readModelDir } from '../../src/encoder/node-files.ts';
import { FORWARD_ATOL, GRAD_RTOL, LOSS_ATOL, TINY_BERT_DIR, loadTorchFixture } from '../reference/helpers/bert-fixture.ts';
import type { BertCheckResult } from '../reference/helpers/bert-check.ts';
import { startHarness, type Harness } from './harness.ts';

const PAGE = 'tests/browser/pages/bert-webgpu.html';
/** SwiftShader compiles every WGSL shader on the CPU before running it. */
const CHECK_TIMEOUT_MS = 300_000;

let h: Harness;
beforeAll(async () => {
  h = await startHarness([], { pages: [PAGE] });
});
afterAll(async () => {
  await h?.close();
});

describe('BERT on WebGPU in Chromium vs PyTorch', () => {
  it('matches the fixture within the Node tolerances', async (ctx) => {
    const page = await h.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') console.error('[page]', m.text());
    });
    await page.goto(h.url + PAGE);
    await page.locator('#status', { hasText: 'ready' }).waitFor();
    const files = Object.fromEntries([...(await readModelDir(TINY_BERT_DIR))].map(([name, bytes]) => [name, Buffer.from(bytes).toString('base64')]));
    const fixture = JSON.parse(readFileSync(`${TINY_BERT_DIR}-torch.json`, 'utf8')) as ReturnType<typeof loadTorchFixture>;
    page.setDefaultTimeout(CHECK_TIMEOUT_MS);
    const out = await page.evaluate(({ files, fixture }) => window.bertCheck(files, fixture), { files, fixture });
    if ('skip' in out) {
      console.warn(`[browser webgpu] skipped: ${out.skip}`);
      ctx.skip();
    }
    const r = out as BertCheckResult;
    console.log(`[browser webgpu] ${JSON.stringify(r)}`);
    expect(r.backend).toBe('webgpu');
    expect(r.idsEqual).toBe(true);
    expect(r.hiddenDiff).toBeLessThanOrEqual(FORWARD_ATOL);
    expect(r.meanDiff).toBeLessThanOrEqual(FORWARD_ATOL);
    expect(r.clsDiff).toBeLessThanOrEqual(FORWARD_ATOL);
    expect(r.encodeDiff).toBeLessThanOrEqual(FORWARD_ATOL);
    expect(r.lossDiff).toBeLessThanOrEqual(LOSS_ATOL);
    for (const [key, rel] of Object.entries(r.gradRel)) expect(rel, key).toBeLessThanOrEqual(GRAD_RTOL);
    expect(r.leakedTensors).toBe(0);
  });
});
