// Where one forward pass of the REAL all-MiniLM-L6-v2 spends its time on tfjs-wasm in Node: the stage
// trace and tf.profile kernel table of bench/encoder-profile.ts, on the longest SciFact documents at 256
// tokens in one batch of encode()'s size (10 rows at 256: MAX_ATTENTION_ELEMENTS). The Chromium
// counterpart is the 'profile' part of bench/encoder-page.bench.ts (same function, in the page).
//   npx tsx bench/encoder-page-profile.ts [--threads 1] [--docs 64] [--batch 10] [--composed-attention] [--composed-gelu] [--composed-layer-norm] [--xnnpack-gemm] [--no-helpers] [--keep-padding]
// --composed-attention / --composed-gelu / --composed-layer-norm switch the compiled attention / GELU /
// embeddings + LayerNorm kernels off (src/util/wasm-attention-kernel.ts, wasm-gelu-kernel.ts, wasm-layer-norm-kernel.ts); --xnnpack-gemm the compiled GEMM
// (src/util/wasm-gemm-kernel.ts). With --threads N > 1 the compiled kernels' work is split over N − 1 helper
// threads (src/util/wasm-helper-threads.ts, as useBackend starts them); --no-helpers leaves them out (then the
// 2D products stay on XNNPACK's pool and attention and GELU on one thread).
// Prints measured figures and the load average; not a pass/fail test.
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { enableRelaxedSimd } from '../src/cli/backend.ts';
import { startKernelHelpers } from '../src/cli/wasm-helper-threads-node.ts';
import { registerTfjsResolveHook } from '../src/cli/tfjs-gradients.ts';
import { readModelDir } from '../src/encoder/node-files.ts';
import { startWasmWithThreads } from '../src/encoder/wasm-threads.ts';
import { wasmKernelSwitches } from '../src/util/wasm-kernel-internals.ts';
import { scifactTexts } from './scifact-texts.ts';

registerTfjsResolveHook();
const { loadBertEncoder, BertEncoder } = await import('../src/encoder/encoder.ts');
const { batchPlan } = await import('./encoder-measure.ts');
const { profileEncodeBatch } = await import('./encoder-profile.ts');
const { profileTables } = await import('./encoder-results.ts');

const MODEL = join(resolve(import.meta.dirname, '..'), '.cache/models/all-MiniLM-L6-v2');
const MAX_LENGTH = 256;
const { values } = parseArgs({ options: { threads: { type: 'string', default: '1' }, docs: { type: 'string', default: '64' }, batch: { type: 'string', default: '10' }, 'composed-attention': { type: 'boolean', default: false }, 'composed-gelu': { type: 'boolean', default: false }, 'composed-layer-norm': { type: 'boolean', default: false }, 'xnnpack-gemm': { type: 'boolean', default: false }, 'no-helpers': { type: 'boolean', default: false }, 'keep-padding': { type: 'boolean', default: false } } });
wasmKernelSwitches.fusedAttention = !values['composed-attention'];
wasmKernelSwitches.gelu = !values['composed-gelu'];
wasmKernelSwitches.layerNorm = !values['composed-layer-norm'];
wasmKernelSwitches.gemm = !values['xnnpack-gemm'];
wasmKernelSwitches.skipPadding = !values['keep-padding'];
enableRelaxedSimd();
const threads = await startWasmWithThreads(Number(values.threads));
const helpers = threads > 1 && !values['no-helpers'] ? await startKernelHelpers(threads - 1) : 0;
const loaded = await loadBertEncoder(await readModelDir(MODEL));
const enc = new BertEncoder(loaded.model, loaded.tokenizer, { ...loaded.settings, maxLength: MAX_LENGTH }, loaded.configJson);
const texts = (await scifactTexts(Number(values.docs), 0)).docs;
const plan = batchPlan(enc, texts, Number(values.batch));
const longest = plan.order.slice(0, plan.rows[0]).map((i) => texts[i]);
const load0 = loadavg()[0];
const p = await profileEncodeBatch(enc, longest);
console.log(`Profile, all-MiniLM-L6-v2 (real weights), tfjs ${tf.getBackend()} in Node ${process.version}, ${threads} XNNPACK thread(s), ${helpers} kernel helper thread(s), ${p.batch} docs × ${p.seqLen} tokens, attention ${wasmKernelSwitches.fusedAttention ? 'compiled kernel' : 'composed'}, GELU ${wasmKernelSwitches.gelu ? 'compiled kernel' : 'composed'}, embeddings + LayerNorm ${wasmKernelSwitches.layerNorm ? 'compiled kernels' : 'composed'}, 2D products ${wasmKernelSwitches.gemm && helpers >= threads - 1 ? 'compiled GEMM' : 'XNNPACK'}; load 1m ${load0.toFixed(2)} → ${loadavg()[0].toFixed(2)}`);
console.log(profileTables(p));
process.exit(0);
