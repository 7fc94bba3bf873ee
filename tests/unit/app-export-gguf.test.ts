// The Export step's "tuned model as GGUF" (src/app/export-gguf.ts) in Node on fake-indexeddb: a tiny Llama GGUF
// dropped into the LLM session (kept in IndexedDB in 4 KiB chunks, read back by range after a "reload") and a
// seeded LoRA on q/v stored as the run's adapters/round-1. The page's export must be the runner's file byte for
// byte (`expandr export-gguf`, run here on the same model and adapter), its merged q/v must equal W + (α/r)·B·A
// computed here in float64 to float16 rounding, and every other weight the base's; the worker protocol hands
// it back as a Blob with byte progress. Errors: an LLM that is no GGUF, an adapter that does not fit, cancel.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDBFactory } from 'fake-indexeddb';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkAdapterFits, exportAdapterAsGguf, ggufExportName } from '../../src/app/export-gguf.ts';
import { createHost } from '../../src/app/host.ts';
import { keepLlmFiles, LlmSession } from '../../src/app/llm-session.ts';
import type { Request, Response } from '../../src/app/protocol.ts';
import type { PipelineFile } from '../../src/app/session-types.ts';
import { writeAdapterPath } from '../../src/cli/adapter-files.ts';
import { exportGgufCommand } from '../../src/cli/export-gguf-command.ts';
import { fromFile } from '../../src/data/source.ts';
import { CancelledError, ExpandrError, ModelFormatError } from '../../src/errors.ts';
import { modelFilesFromSources } from '../../src/llm/files.ts';
import { isChunkEntry } from '../../src/model/chunked-file.ts';
import { readGgufDecoder } from '../../src/llm/gguf/decoder.ts';
import { GgmlType } from '../../src/llm/gguf/ggml-types.ts';
import { readGgufHeader } from '../../src/llm/gguf/reader.ts';
import { ggufSourceFromBytes } from '../../src/llm/gguf/source.ts';
import type { Weights } from '../../src/llm/weights.ts';
import { artifactRunStore } from '../../src/pipeline/run-state.ts';
import { openStore, type Store } from '../../src/store/store.ts';
import type { Progress } from '../../src/util/progress.ts';
import { folderFiles } from './helpers/folder-files.ts';
import { seededLoraAdapter, TINY_GGUF_CONFIG as CONFIG, tinyGguf } from './helpers/tiny-gguf.ts';

const STORIES = join(import.meta.dirname, '../../../shared/models/stories260K');
/** Small chunks, so the stored model is many chunks and tensors straddle them (the page uses 32 MiB). */
const CHUNK_BYTES = 4096;
const R = 8;
const ALPHA = 32;
/** Half a float16 ulp (the merged matrices are F16 in mode 'source'), plus float32 slack on the sum. */
const F16_HALF_ULP = 2 ** -11;
const F32_SLACK = 2 ** -22;

const blobBytes = async (b: Blob) => new Uint8Array(await b.arrayBuffer());
const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

/** The runner's export of the same model and adapter: `expandr export-gguf --model tiny.gguf --adapter DIR --out OUT`. */
async function runnerExport(model: Uint8Array, adapter: ReadonlyMap<string, Uint8Array>): Promise<Uint8Array> {
  const dir = mkdtempSync(join(tmpdir(), 'expandr-app-export-gguf-'));
  try {
    writeFileSync(join(dir, 'tiny.gguf'), model);
    writeAdapterPath(join(dir, 'adapter'), adapter);
    const [log, err] = [console.log, process.stderr.write];
    console.log = () => {};
    process.stderr.write = () => true; // its progress lines
    try {
      await exportGgufCommand(['--model', join(dir, 'tiny.gguf'), '--adapter', join(dir, 'adapter'), '--out', join(dir, 'out.gguf'), '--json'], new AbortController().signal);
    } finally {
      [console.log, process.stderr.write] = [log, err];
    }
    return new Uint8Array(readFileSync(join(dir, 'out.gguf')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function decoderWeights(bytes: Uint8Array, label: string): Promise<Weights> {
  return (await readGgufDecoder(ggufSourceFromBytes(bytes, label))).weights;
}

/** W + (α/r)·B·A in float64 from the adapter's own tensors: an oracle independent of merge.ts. */
function mergedByHand(w: Float32Array, a: Float32Array, b: Float32Array, out: number, inDim: number): Float64Array {
  const m = new Float64Array(out * inDim);
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < inDim; i++) {
      let s = 0;
      for (let k = 0; k < R; k++) s += b[o * R + k] * a[k * inDim + i];
      m[o * inDim + i] = w[o * inDim + i] + (ALPHA / R) * s;
    }
  }
  return m;
}

describe('the tuned model as GGUF from the Export step', () => {
  let model: Uint8Array;
  let adapter: Map<string, Uint8Array>;
  let runner: Uint8Array;
  let store: Store;
  let dropped: LlmSession;
  let restored: LlmSession;
  let droppedHandle: string;
  let restoredHandle: string;
  const dropFile = () => [{ path: 'tiny.gguf', file: new Blob([model as Uint8Array<ArrayBuffer>]) }];

  beforeAll(async () => {
    model = await tinyGguf();
    adapter = seededLoraAdapter({ r: R, alpha: ALPHA, baseModel: 'tiny.gguf' });
    runner = await runnerExport(model, adapter);
    store = await openStore({ dbName: 'app-export-gguf', idbFactory: new IDBFactory() });
    // A 1-5 GB drop is kept in chunks; with the page's 32 MiB chunks this file would be one value, so keep it
    // chunked first (the key names the content, so the session's own keep finds it kept).
    const key = await keepLlmFiles(store, modelFilesFromSources(dropFile().map((f) => fromFile(f.file, f.path))), {}, { chunkBytes: CHUNK_BYTES });
    const chunks = (await store.listModelFiles()).filter((e) => e.source === key && isChunkEntry(e.file));
    expect(chunks.length).toBeGreaterThan(model.length / CHUNK_BYTES); // the chunks and their manifest
    dropped = new LlmSession(async () => store);
    droppedHandle = (await dropped.load({ kind: 'files', files: dropFile() })).handle;
    restored = new LlmSession(async () => store); // a reloaded page: the model comes back from IndexedDB
    const back = await restored.restore();
    restoredHandle = back!.handle;
    expect(back!.format).toBe('gguf');
  });

  it('is the runner\'s file byte for byte, from the dropped file and from the chunks kept in IndexedDB', async () => {
    const fromDrop = await blobBytes(await exportAdapterAsGguf(dropped.get(droppedHandle), adapter));
    const fromStore = await blobBytes(await exportAdapterAsGguf(restored.get(restoredHandle), adapter));
    expect(runner.length).toBeGreaterThan(model.length); // merged q/v went from Q4_1 to F16
    expect(sameBytes(fromDrop, runner)).toBe(true);
    expect(sameBytes(fromStore, runner)).toBe(true);
  });

  it('reads back as a decoder whose q/v are W + (α/r)·B·A to float16 rounding and whose other weights are the base\'s', async () => {
    const out = await blobBytes(await exportAdapterAsGguf(restored.get(restoredHandle), adapter));
    const file = await readGgufHeader(ggufSourceFromBytes(out, 'out.gguf'));
    const types = new Map(file.tensors.map((t) => [t.name, t.type]));
    expect(types.get('blk.0.attn_q.weight')).toBe(GgmlType.F16);
    expect(types.get('blk.1.attn_v.weight')).toBe(GgmlType.F16);
    expect(types.get('blk.0.attn_k.weight')).toBe(GgmlType.Q4_1); // copied
    expect(file.metadata.get('general.name')).toBe('Tiny Llama (ExpandR-tuned)');

    const got = await decoderWeights(out, 'out.gguf');
    const base = await decoderWeights(model, 'tiny.gguf');
    const fromRunner = await decoderWeights(runner, 'runner.gguf');
    const { readSafetensors } = await import('../../src/model/safetensors.ts');
    const st = readSafetensors(adapter.get('adapter_model.safetensors')!);
    let checked = 0;
    for (const [name, w] of base) {
      const g = got.get(name)!;
      expect(g.data).toEqual(fromRunner.get(name)!.data);
      const m = /^model\.layers\.(\d+)\.self_attn\.([qv])_proj\.weight$/.exec(name);
      if (!m) {
        expect(g.data).toEqual(w.data);
        continue;
      }
      const key = `base_model.model.model.layers.${m[1]}.self_attn.${m[2]}_proj`;
      const want = mergedByHand(w.data, st.getFloat32(`${key}.lora_A.weight`), st.getFloat32(`${key}.lora_B.weight`), w.shape[0], w.shape[1]);
      let moved = 0;
      for (let i = 0; i < want.length; i++) {
        const bound = Math.abs(want[i]) * (F16_HALF_ULP + F32_SLACK) + 2 ** -25;
        if (!(Math.abs(g.data[i] - want[i]) <= bound)) throw new Error(`${name}[${i}]: ${g.data[i]} vs ${want[i]}`);
        moved = Math.max(moved, Math.abs(g.data[i] - w.data[i]));
      }
      expect(moved).toBeGreaterThan(0.05); // the adapter has teeth: ΔW is not lost in rounding
      checked++;
    }
    expect(checked).toBe(2 * CONFIG.layers);
  });

  it('comes through the worker protocol as a Blob named <model>-<adapter>.gguf, with byte progress', async () => {
    const inbox: Response[] = [];
    const host = createHost((m) => inbox.push(m), async () => store);
    let id = 0;
    const call = async (req: Omit<Extract<Request, { args: unknown }>, 'id'>) => {
      const myId = ++id;
      await host.handle({ ...req, id: myId } as Request);
      const mine = inbox.filter((m) => m.id === myId);
      const last = mine[mine.length - 1];
      if (last.type !== 'result') throw new Error(`${req.type}: ${JSON.stringify(last)}`);
      return { result: last.result, progress: mine.filter((m): m is Extract<Response, { type: 'progress' }> => m.type === 'progress') };
    };
    const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
    const data = [
      { path: 'mini/corpus.jsonl', file: new Blob([jsonl([{ _id: 'd1', title: '', text: 'cats purr' }])]) },
      { path: 'mini/queries.jsonl', file: new Blob([jsonl([{ _id: 'q1', text: 'cats' }])]) },
      { path: 'mini/qrels/test.tsv', file: new Blob(['query-id\tcorpus-id\tscore\nq1\td1\t1\n']) },
    ];
    const datasetId = ((await call({ type: 'import', args: { files: data } })).result as { dataset: { id: string } }).dataset.id;
    await artifactRunStore(store, datasetId, 'experiment').putFiles('adapters/round-1', adapter);
    const llm = ((await call({ type: 'llm:load', args: { source: { kind: 'files', files: dropFile() } } })).result as { handle: string }).handle;

    const { result, progress } = await call({ type: 'pipeline:download', args: { datasetId, what: { kind: 'gguf', name: 'adapters/round-1', llm } } });
    const f = result as PipelineFile;
    expect(f.name).toBe('tiny-round-1.gguf');
    expect('blob' in f && sameBytes(await blobBytes(f.blob), runner)).toBe(true);
    const writes = progress.filter((p) => p.stage === 'gguf:write');
    expect(writes.length).toBeGreaterThan(CONFIG.layers * 9); // one per tensor, at least
    expect(writes.every((p, i) => i === 0 || p.done >= writes[i - 1].done)).toBe(true);
    expect(writes.at(-1)!.done).toBe(writes.at(-1)!.total);

    // A file set that is no adapter, and an adapter the run lacks, are refused with what to do.
    const refused = async (what: object) => {
      await host.handle({ type: 'pipeline:download', id: ++id, args: { datasetId, what } } as Request);
      return inbox.at(-1) as Extract<Response, { type: 'error' }>;
    };
    expect((await refused({ kind: 'gguf', name: 'encoders/round-1', llm })).message).toMatch(/only adapters\/NAME/);
    expect((await refused({ kind: 'gguf', name: 'adapters/round-9', llm })).message).toMatch(/no "adapters\/round-9".*Train step/);
  });

  it('refuses an LLM that is not a GGUF, naming it and what to do', async () => {
    const s = new LlmSession();
    const stories = await s.load({ kind: 'files', files: folderFiles(STORIES, 'stories260K') });
    const err = await exportAdapterAsGguf(s.get(stories.handle), adapter, { label: 'adapters/round-1' }).catch((e) => e);
    expect(err).toBeInstanceOf(ExpandrError);
    expect(err.message).toMatch(/stories260K is a llama2\.c model, not a GGUF.*adapters\/round-1.*Drop that \.gguf in the LLM zone/);
  });

  it('refuses an adapter that does not fit the model before writing anything, naming the model it was trained on', async () => {
    const llm = restored.get(restoredHandle);
    const wider = seededLoraAdapter({ baseModel: 'other.gguf', config: { ...CONFIG, dim: 32 } });
    const deeper = seededLoraAdapter({ baseModel: 'other.gguf', config: { ...CONFIG, layers: 3 } });
    const progress: Progress[] = [];
    const onProgress = (p: Progress) => progress.push(p);
    const e1 = await exportAdapterAsGguf(llm, wider, { label: 'adapters/round-1', onProgress }).catch((e) => e);
    expect(e1).toBeInstanceOf(ModelFormatError);
    expect(e1.message).toMatch(/^adapters\/round-1: does not fit tiny\.gguf: model\.layers\.0\.self_attn\.q_proj\.weight is \[64,64\] there, and lora_A is \[8,32\]\. It was trained on other\.gguf/);
    const e2 = await exportAdapterAsGguf(llm, deeper, { label: 'adapters/round-1', onProgress }).catch((e) => e);
    expect(e2.message).toMatch(/does not fit tiny\.gguf: it changes model\.layers\.2\.self_attn\.q_proj\.weight, which the model does not have/);
    expect(progress.some((p) => p.stage === 'gguf:write')).toBe(false);
    // The adapter it was trained with fits.
    const file = await readGgufHeader(ggufSourceFromBytes(model, 'tiny.gguf'));
    expect(() => checkAdapterFits(file, 'tiny.gguf', adapter, 'adapters/round-1')).not.toThrow();
  });

  it('stops when cancelled mid-write', async () => {
    const stop = new AbortController();
    const onProgress = (p: Progress) => p.stage === 'gguf:write' && p.done > 0 && stop.abort(new CancelledError());
    await expect(exportAdapterAsGguf(restored.get(restoredHandle), adapter, { signal: stop.signal, onProgress })).rejects.toBeInstanceOf(CancelledError);
  });

  it('names the download <model>-<adapter>.gguf', () => {
    expect(ggufExportName('SmolLM2-135M-Instruct.Q4_1.gguf', 'adapters/round-1')).toBe('SmolLM2-135M-Instruct.Q4_1-round-1.gguf');
    expect(ggufExportName('my model/x.GGUF', 'adapters/a b')).toBe('x-a-b.gguf');
  });
});
