// Our BertModel on tfjs's webgpu backend in Node (Dawn via npm `webgpu`, SwiftShader Vulkan from Debian's
// chromium) against the PyTorch fixture: forward, pooling, encode() and InfoNCE gradients.
// Runs in a child process (helpers/webgpu-node-child.ts): see there for why.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BertCheckResult } from './helpers/bert-check.ts';
import { FORWARD_ATOL, GRAD_RTOL, LOSS_ATOL } from './helpers/bert-fixture.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const CHROMIUM_LIB = '/usr/lib/chromium';
const SWIFTSHADER_ICD = `${CHROMIUM_LIB}/vk_swiftshader_icd.json`;
/** SwiftShader runs WGSL on the CPU (~1 GFLOP/s) and compiles every shader first: generous. */
const CHILD_TIMEOUT_MS = 240_000;

describe('webgpu backend in Node (Dawn + SwiftShader) vs PyTorch', () => {
  it('matches hidden states, pooled embeddings and gradients', { timeout: CHILD_TIMEOUT_MS + 10_000 }, (ctx) => {
    if (!existsSync(SWIFTSHADER_ICD)) {
      console.warn(`[webgpu-node] skipped: ${SWIFTSHADER_ICD} not found (install Debian chromium: scripts/ensure-deps.sh --browser)`);
      ctx.skip();
    }
    const runtimeDir = resolve(ROOT, '.cache/xdg-runtime');
    mkdirSync(runtimeDir, { recursive: true, mode: 0o700 });
    const child = spawnSync(
      process.execPath,
      ['--import', './tests/reference/helpers/register-tfjs-esm-hooks.mjs', '--import', 'tsx', 'tests/reference/helpers/webgpu-node-child.ts'],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: CHILD_TIMEOUT_MS,
        env: {
          ...process.env,
          VK_ICD_FILENAMES: SWIFTSHADER_ICD,
          XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? runtimeDir,
          LD_LIBRARY_PATH: [CHROMIUM_LIB, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
        },
      },
    );
    const last = child.stdout.trim().split('\n').at(-1) ?? '';
    if (child.status !== 0 || !last.startsWith('{')) {
      throw new Error(`webgpu child failed (status ${child.status}, signal ${child.signal}):\n${child.stderr.slice(-4000)}\n${child.stdout.slice(-2000)}`);
    }
    const out = JSON.parse(last) as { skip?: string; adapter?: string; result?: BertCheckResult };
    if (out.skip) {
      console.warn(`[webgpu-node] skipped: ${out.skip}`);
      ctx.skip();
    }
    const r = out.result!;
    console.log(`[webgpu-node] ${out.adapter}: ${JSON.stringify(r)}`);
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
