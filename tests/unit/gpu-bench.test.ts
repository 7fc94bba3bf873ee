// The pure parts of bench/gpu.bench.ts: its flags and size presets, the choice of Vulkan driver, and the
// verdict on an adapter (SwiftShader = no GPU), which decides whether figures are labelled absolute.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SWIFTSHADER_ICD } from '../../src/cli/backend.ts';
import { describeAdapter, isSoftware, type AdapterFacts } from '../../bench/gpu-detect.ts';
import { chooseVulkan, hardwareIcds } from '../../bench/gpu-env.ts';
import { figureTable, median } from '../../bench/gpu-figures.ts';
import { FULL, parseGpuArgs, SMALL } from '../../bench/gpu-options.ts';

const facts = (over: Partial<AdapterFacts>): AdapterFacts => ({
  vendor: 'nvidia',
  architecture: 'hopper',
  device: '',
  description: 'NVIDIA H200',
  fallback: false,
  shaderF16: true,
  maxBufferSize: 2 ** 32,
  maxStorageBufferBindingSize: 2 ** 31,
  ...over,
});

describe('bench/gpu options', () => {
  it('defaults to issue 15 sizes and takes --small as SwiftShader sizes', () => {
    const full = parseGpuArgs([]);
    expect(full).toMatchObject({ maxLength: 256, newTokens: 128, batches: [1, 8], trainPairs: 16, trainMaxLength: 256, dpoLength: 192, loraR: 8, small: false });
    expect(parseGpuArgs(['--small'])).toMatchObject({ ...SMALL, small: true, parts: FULL.parts });
  });

  it('lets a flag win over --small, and parses lists', () => {
    const o = parseGpuArgs(['--small', '--docs', '5', '--batches', '1,4', '--parts', 'decoder,train', '--hosts', 'node', '--wllama-threads', '2,4', '--no-gpu-flags']);
    expect(o).toMatchObject({ docs: 5, batches: [1, 4], parts: ['decoder', 'train'], hosts: ['node'], wllamaThreads: [2, 4], gpuFlags: false, maxLength: SMALL.maxLength });
  });

  it('rejects unknown parts, non-integers and unknown flags with the flag named', () => {
    expect(() => parseGpuArgs(['--parts', 'encoder,bogus'])).toThrow(/--parts .*bogus/);
    expect(() => parseGpuArgs(['--docs', '1.5'])).toThrow(/--docs/);
    expect(() => parseGpuArgs(['--batches', ''])).toThrow(/--batches/);
    expect(() => parseGpuArgs(['--frobnicate', '1'])).toThrow();
  });
});

describe('bench/gpu Vulkan driver', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('finds hardware ICD manifests and leaves software ones out', () => {
    const d = mkdtempSync(join(tmpdir(), 'icd-'));
    dirs.push(d);
    for (const f of ['nvidia_icd.json', 'lvp_icd.x86_64.json', 'vk_swiftshader_icd.json', 'README']) writeFileSync(join(d, f), '{}');
    expect(hardwareIcds([d, join(d, 'absent')]).map((p) => p.slice(d.length + 1))).toEqual(['nvidia_icd.json']);
  });

  it('takes the flag, then VK_ICD_FILENAMES, and falls back to SwiftShader', () => {
    expect(chooseVulkan('swiftshader', {})).toEqual({ icd: SWIFTSHADER_ICD, how: 'swiftshader' });
    expect(chooseVulkan('/x/nvidia_icd.json', { VK_ICD_FILENAMES: '/y.json' })).toEqual({ icd: '/x/nvidia_icd.json', how: 'given' });
    expect(chooseVulkan('auto', { VK_ICD_FILENAMES: '/y.json' })).toEqual({ icd: '/y.json', how: 'given' });
  });
});

describe('bench/gpu adapter verdict', () => {
  it('calls SwiftShader, llvmpipe and fallback adapters software, and a GPU not', () => {
    expect(isSoftware(facts({ vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader driver 5.0.0' }))).toBe(true);
    expect(isSoftware(facts({ description: 'llvmpipe (LLVM 15.0.6, 256 bits)' }))).toBe(true);
    expect(isSoftware(facts({ fallback: true }))).toBe(true);
    expect(isSoftware(facts({}))).toBe(false);
    expect(describeAdapter({ ok: true, facts: facts({ architecture: 'swiftshader' }) })).toMatch(/SOFTWARE \(no GPU\)/);
    expect(describeAdapter({ ok: true, facts: facts({}) })).not.toMatch(/SOFTWARE/);
    expect(describeAdapter({ ok: false, why: 'requestAdapter() returned null' })).toBe('none (requestAdapter() returned null)');
  });
});

describe('bench/gpu figures', () => {
  it('takes medians and prints ratios against the named peer', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    const table = figureTable([{ part: 'encoder', host: 'Chromium', engine: 'ours (tfjs-webgpu)', what: 'encode', value: 12.345, unit: 'docs/s', peer: 'transformers.js', ratio: 1.234, detail: {} }]);
    expect(table).toContain('12.3 docs/s');
    expect(table).toContain('1.23 vs transformers.js');
  });
});
