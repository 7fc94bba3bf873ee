// The typed message protocol between the UI thread and the core worker.
// Every request carries an `id`; the worker answers with any number of `progress` messages and then
// exactly one `result` or `error` for that id. `cancel` aborts the request whose id it names.
import type { DatasetInfo } from '../store/types.ts';
import type { Bm25EvalResult } from './bm25-eval.ts';

/** A file as the UI hands it over: its relative path inside what was dropped, and its bytes. */
export interface DroppedFile {
  path: string;
  file: Blob;
}

/** Request payloads and the result each one resolves to. */
export interface Calls {
  import: { args: { files: DroppedFile[]; name?: string }; result: { dataset: DatasetInfo; warnings: string[] } };
  list: { args: Record<string, never>; result: DatasetInfo[] };
  delete: { args: { datasetId: string }; result: null };
  bm25: { args: { datasetId: string; split: string; k?: number }; result: Bm25EvalResult };
  run: { args: { datasetId: string; split: string }; result: string | null };
}
export type CallType = keyof Calls;

export type Request =
  | { [T in CallType]: { type: T; id: number; args: Calls[T]['args'] } }[CallType]
  | { type: 'cancel'; id: number; target: number };

export type Response =
  | { type: 'progress'; id: number; stage: string; done: number; total: number; unit: string; text?: string }
  | { type: 'result'; id: number; result: unknown }
  | { type: 'error'; id: number; name: string; message: string };
