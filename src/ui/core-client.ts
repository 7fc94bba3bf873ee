// The UI's handle on the core worker: typed calls that resolve with the result, stream progress,
// and can be cancelled. Replies for ids that are no longer pending are dropped.
import type { Calls, CallType, Request, Response } from '../app/protocol.ts';
import type { Progress } from '../util/progress.ts';
import type { LossPoint } from '../train/checkpoint.ts';
import type { PipelineEvent } from '../app/session-types.ts';
import type { StoreNotice } from '../store/store.ts';

export class CallError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  onProgress?: (p: Progress) => void;
  onStep?: (p: LossPoint) => void;
  onEvent?: (e: PipelineEvent) => void;
}

export interface CallHandle<T> {
  promise: Promise<T>;
  cancel(): void;
}

export class CoreClient {
  #worker: Worker;
  #nextId = 1;
  #pending = new Map<number, Pending>();
  /** Told of the worker's storage notices (another tab's upgrade closed the connection, an upgrade waits). */
  onNotice: ((n: StoreNotice) => void) | null = null;

  constructor(worker: Worker) {
    this.#worker = worker;
    worker.onmessage = (e: MessageEvent<Response>) => this.#receive(e.data);
    worker.onerror = (e) => {
      for (const p of this.#pending.values()) p.reject(new Error(`The core worker failed: ${e.message}`));
      this.#pending.clear();
    };
  }

  call<T extends CallType>(
    type: T,
    args: Calls[T]['args'],
    onProgress?: (p: Progress) => void,
    onStep?: (p: LossPoint) => void,
    onEvent?: (e: PipelineEvent) => void,
  ): CallHandle<Calls[T]['result']> {
    const id = this.#nextId++;
    const promise = new Promise<Calls[T]['result']>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onProgress, onStep, onEvent });
    });
    this.#worker.postMessage({ type, id, args } as Request);
    return { promise, cancel: () => this.#worker.postMessage({ type: 'cancel', id: this.#nextId++, target: id } satisfies Request) };
  }

  #receive(msg: Response) {
    if (msg.type === 'notice') {
      this.onNotice?.(msg.notice);
      return;
    }
    const p = this.#pending.get(msg.id);
    if (!p) return; // stale: its caller is gone
    if (msg.type === 'step') {
      p.onStep?.(msg.point);
      return;
    }
    if (msg.type === 'event') {
      p.onEvent?.(msg.event);
      return;
    }
    if (msg.type === 'progress') {
      const { type: _t, id: _i, ...progress } = msg;
      p.onProgress?.(progress);
      return;
    }
    this.#pending.delete(msg.id);
    if (msg.type === 'result') p.resolve(msg.result);
    else p.reject(new CallError(msg.name, msg.message));
  }
}
