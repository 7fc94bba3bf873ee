// tvm's tensor cache: the weight format WebLLM loads (`tensor-cache.json` + `params_shard_N.bin`).
//
// Writer: apache/tvm python/tvm/contrib/tvmjs.py `dump_tensor_cache` + `TensorCacheShardingManager`
// (shard cap 32 MiB; a tensor that would overflow the current shard either closes it, or — when it is at
// least half the cap — goes alone into its own shard at byteOffset 0 while the current one stays open;
// md5 of every shard; metadata {ParamSize, ParamBytes, BitsPerParam} from mlc_llm/interface/convert_weight.py).
// Reader: apache/tvm web/src/artifact_cache.ts (`TensorCacheEntry`, `TensorShardEntry`,
// `getTensorCacheRecordBytes`) and web/src/runtime.ts `fetchTensorCache`, which reads
// `<model url>/tensor-cache.json` and each `dataPath` relative to it. Records are written with format
// "raw": for float16/uint32 it decodes exactly like MLC's "f32-to-bf16" label (web/emcc/wasm_runtime.cc
// converts only float32 records).
import { ModelFormatError } from '../../errors.ts';
import { md5Hex } from '../../util/md5.ts';

export type TensorDtype = 'float16' | 'float32' | 'uint32';
export const DTYPE_BYTES: Readonly<Record<TensorDtype, number>> = Object.freeze({ float16: 2, float32: 4, uint32: 4 });

/** One named tensor as raw little-endian bytes. */
export interface NamedTensor {
  name: string;
  shape: number[];
  dtype: TensorDtype;
  bytes: Uint8Array;
}

export interface TensorRecord {
  name: string;
  shape: number[];
  dtype: TensorDtype;
  format: 'raw';
  nbytes: number;
  byteOffset: number;
}

export interface ShardRecord {
  dataPath: string;
  format: 'raw-shard';
  nbytes: number;
  records: TensorRecord[];
  md5sum: string;
}

export interface TensorCacheJson {
  metadata: { ParamSize: number; ParamBytes: number; BitsPerParam: number };
  records: ShardRecord[];
}

export interface ShardFile {
  record: ShardRecord;
  bytes: Uint8Array;
}

/** tvmjs.py dump_tensor_cache(shard_cap_mb=32). */
export const SHARD_CAP_BYTES = 32 * (1 << 20);
export const TENSOR_CACHE_FILE = 'tensor-cache.json';

/**
 * Packs tensors into shards exactly as tvm's sharding manager orders them. `add` returns the shards it
 * completed (0, 1 or 2), so a caller can store them and drop the bytes while the rest streams in.
 */
export class TensorCacheWriter {
  private pending: { record: TensorRecord; bytes: Uint8Array }[] = [];
  private pendingBytes = 0;
  private readonly shards: ShardRecord[] = [];
  private readonly names = new Set<string>();
  private paramBytes = 0;

  constructor(private readonly capBytes = SHARD_CAP_BYTES) {}

  add(tensor: NamedTensor): ShardFile[] {
    if (this.names.has(tensor.name)) throw new Error(`TensorCacheWriter: duplicate tensor "${tensor.name}"`);
    const want = tensor.shape.reduce((a, d) => a * d, 1) * DTYPE_BYTES[tensor.dtype];
    if (want !== tensor.bytes.length) throw new Error(`TensorCacheWriter: "${tensor.name}" has ${tensor.bytes.length} bytes, [${tensor.shape}] ${tensor.dtype} needs ${want}`);
    this.names.add(tensor.name);
    this.paramBytes += tensor.bytes.length;
    const record: TensorRecord = { name: tensor.name, shape: [...tensor.shape], dtype: tensor.dtype, format: 'raw', nbytes: tensor.bytes.length, byteOffset: 0 };
    const done: ShardFile[] = [];
    if (this.pendingBytes + tensor.bytes.length >= this.capBytes) {
      if (tensor.bytes.length * 2 >= this.capBytes) {
        done.push(this.commit([{ record, bytes: tensor.bytes }])); // out of band: its own shard, the open one stays open
        return done;
      }
      const open = this.flush();
      if (open) done.push(open);
    }
    record.byteOffset = this.pendingBytes;
    this.pending.push({ record, bytes: tensor.bytes });
    this.pendingBytes += tensor.bytes.length;
    return done;
  }

  /** Closes the open shard and returns it with the manifest. `sourceParams` = unquantised parameter count. */
  finish(sourceParams: number): { last: ShardFile | null; manifest: TensorCacheJson } {
    const last = this.flush();
    const manifest: TensorCacheJson = {
      metadata: { ParamSize: this.names.size, ParamBytes: this.paramBytes, BitsPerParam: (this.paramBytes * 8) / sourceParams },
      records: this.shards,
    };
    return { last, manifest };
  }

  private flush(): ShardFile | null {
    if (this.pendingBytes === 0) return null;
    const f = this.commit(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    return f;
  }

  private commit(items: { record: TensorRecord; bytes: Uint8Array }[]): ShardFile {
    const nbytes = items.reduce((a, it) => a + it.bytes.length, 0);
    const bytes = new Uint8Array(nbytes);
    for (const it of items) bytes.set(it.bytes, it.record.byteOffset);
    const record: ShardRecord = {
      dataPath: `params_shard_${this.shards.length}.bin`,
      format: 'raw-shard',
      nbytes,
      records: items.map((it) => it.record),
      md5sum: md5Hex(bytes),
    };
    this.shards.push(record);
    return { record, bytes };
  }
}

/** Parses and checks a tensor-cache.json (or the older ndarray-cache.json: same layout). */
export function parseTensorCache(text: string, file = TENSOR_CACHE_FILE): TensorCacheJson {
  const fail = (problem: string) => new ModelFormatError(file, problem, 'Re-export the model');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw fail(`not valid JSON (${(e as Error).message})`);
  }
  const c = json as Partial<TensorCacheJson>;
  if (!c || !Array.isArray(c.records)) throw fail('no "records" list');
  for (const s of c.records) {
    if (typeof s.dataPath !== 'string' || !Number.isSafeInteger(s.nbytes) || !Array.isArray(s.records)) throw fail('a shard lacks dataPath, nbytes or records');
    for (const r of s.records) {
      if (!(r.dtype in DTYPE_BYTES)) throw fail(`"${r.name}" has dtype ${JSON.stringify(r.dtype)}`);
      const want = r.shape.reduce((a, d) => a * d, 1) * DTYPE_BYTES[r.dtype];
      if (r.nbytes !== want) throw fail(`"${r.name}" has nbytes ${r.nbytes} but [${r.shape}] ${r.dtype} needs ${want}`);
      if (!(r.byteOffset >= 0) || r.byteOffset + r.nbytes > s.nbytes) throw fail(`"${r.name}" lies outside ${s.dataPath}`);
    }
  }
  return c as TensorCacheJson;
}

/**
 * Reads every tensor back: `readShard(dataPath)` gives a shard's bytes (a Map, the Cache API, a folder).
 * Checks each shard's length and, when the manifest has one, its md5.
 */
export async function readTensorCache(manifest: TensorCacheJson, readShard: (dataPath: string) => Promise<Uint8Array>): Promise<Map<string, NamedTensor>> {
  const out = new Map<string, NamedTensor>();
  for (const s of manifest.records) {
    const bytes = await readShard(s.dataPath);
    const fail = (problem: string) => new ModelFormatError(s.dataPath, problem, 'The shard is corrupt or from another export; re-export the model');
    if (bytes.length !== s.nbytes) throw fail(`${bytes.length} bytes, the manifest says ${s.nbytes}`);
    if (s.md5sum && md5Hex(bytes) !== s.md5sum) throw fail(`md5 differs from the manifest's ${s.md5sum}`);
    for (const r of s.records) {
      out.set(r.name, { name: r.name, shape: r.shape, dtype: r.dtype, bytes: bytes.slice(r.byteOffset, r.byteOffset + r.nbytes) });
    }
  }
  return out;
}
