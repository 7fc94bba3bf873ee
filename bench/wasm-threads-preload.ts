// `node --import` preload for encoder.bench.ts --wasm-threads N: starts tfjs-wasm with N XNNPACK threads
// (src/encoder/wasm-threads.ts) before the child runs, so its useBackend('wasm') finds it started.
import { startWasmWithThreads } from '../src/encoder/wasm-threads.ts';

const wanted = Number(process.env.EXPANDR_WASM_THREADS ?? '1');
const got = await startWasmWithThreads(wanted);
process.stderr.write(`[wasm threads] asked ${wanted}, XNNPACK uses ${got}\n`);
