// Backpropagation that frees memory as it goes. tfjs-core 4.22's engine.gradients (engine.ts, tape.ts
// backpropagateGradients) keeps every intermediate gradient and every tensor saved for a gradient alive
// until the whole backward pass ends: its peak memory is the sum over the graph, not the widest layer.
// Measured on all-MiniLM-L6-v2, one 256-token document: the wasm heap grew ~600 MB per document in the
// backward pass, so 8 × 256 ran out of wasm's 4 GiB ("Aborted()" or an undefined kernel output).
// PyTorch frees a gradient once its producer has consumed it and frees saved activations node by node;
// this does the same: after node i of the (reverse) tape has run, the gradients of its outputs and its
// saved tensors are disposed. Values are unchanged — same tape, same gradient functions, same order of
// accumulation — only lifetimes are shorter (tests/unit/lean-gradients.test.ts compares with stock).
import * as tf from '@tensorflow/tfjs-core';

/** The parts of tfjs-core's Engine and TapeNode this relies on (stable across tfjs 4.x). */
interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
  saved?: tf.Tensor[];
}
interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  startTape(): void;
  endTape(): void;
  tidy<T extends tf.TensorContainer>(nameOrFn: string | (() => T), fn?: () => T): T;
  gradients: LeanGradients;
}
type LeanGradients = (f: () => tf.Tensor, xs: tf.Tensor[], dy?: tf.Tensor, allowNoGradients?: boolean) => { value: tf.Tensor; grads: tf.Tensor[] };

/**
 * The nodes of the tape on a path from some x to y, in tape order (tfjs' getFilteredNodesXToY: a node
 * is kept when an input descends from an x and an output leads to y; only those inputs and outputs).
 */
export function nodesXToY(tape: TapeNode[], xs: tf.Tensor[], y: tf.Tensor): TapeNode[] {
  const fromX = new Set<number>(xs.map((x) => x.id));
  const nodeFromX = new Set<number>();
  for (const node of tape) {
    for (const name in node.inputs) {
      if (fromX.has(node.inputs[name].id)) {
        node.outputs.forEach((o) => fromX.add(o.id));
        nodeFromX.add(node.id);
        break;
      }
    }
  }
  const toY = new Set<number>([y.id]);
  const nodeToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i];
    if (node.outputs.some((o) => toY.has(o.id))) {
      for (const name in node.inputs) toY.add(node.inputs[name].id);
      nodeToY.add(node.id);
    }
  }
  const out: TapeNode[] = [];
  for (const node of tape) {
    if (!nodeFromX.has(node.id) || !nodeToY.has(node.id)) continue;
    const inputs: Record<string, tf.Tensor> = {};
    for (const name in node.inputs) if (fromX.has(node.inputs[name].id)) inputs[name] = node.inputs[name];
    out.push({ ...node, inputs, outputs: node.outputs });
  }
  return out;
}

/** Reference-counted map tensor id → accumulated gradient; a tensor object is disposed when no id holds it. */
class GradientMap {
  private readonly byId = new Map<number, tf.Tensor>();
  private readonly holders = new Map<tf.Tensor, number>();
  constructor(private readonly keep: Set<tf.Tensor>) {}
  get(id: number): tf.Tensor | undefined {
    return this.byId.get(id);
  }
  set(id: number, t: tf.Tensor): void {
    this.release(id);
    this.byId.set(id, t);
    this.holders.set(t, (this.holders.get(t) ?? 0) + 1);
  }
  holds(t: tf.Tensor): boolean {
    return this.holders.has(t);
  }
  /** Forgets id's gradient, disposing it when nothing else refers to the same tensor object. */
  release(id: number): void {
    const t = this.byId.get(id);
    if (!t) return;
    this.byId.delete(id);
    const n = (this.holders.get(t) ?? 1) - 1;
    if (n > 0) this.holders.set(t, n);
    else {
      this.holders.delete(t);
      if (!this.keep.has(t)) t.dispose();
    }
  }
}

function leanGradients(this: EngineInternals, f: () => tf.Tensor, xs: tf.Tensor[], dy?: tf.Tensor, allowNoGradients = false) {
  if (xs.length === 0) throw new Error('gradients() received an empty list of xs.');
  if (dy != null && dy.dtype !== 'float32') throw new Error(`dy must have 'float32' dtype, but has '${dy.dtype}'`);
  const y = this.scopedRun(
    () => this.startTape(),
    () => this.endTape(),
    () => this.tidy('forward', f),
  );
  if (!(y instanceof tf.Tensor)) throw new Error('The result y returned by f() must be a tensor.');
  const tape = this.state.activeTape!;
  const filtered = nodesXToY(tape, xs, y);
  if (!allowNoGradients && filtered.length === 0 && xs.length > 0) {
    throw new Error('Cannot compute gradient of y=f(x) with respect to x. Make sure that the f you passed encloses all operations that lead from x to y.');
  }
  const freeSaved = this.state.gradientDepth === 0; // not inside a higher-order gradient
  return this.tidy('backward', () => {
    const xIds = new Set(xs.map((x) => x.id));
    const seed = dy ?? tf.ones(y.shape);
    const grads = new GradientMap(new Set(dy ? [dy] : []));
    grads.set(y.id, seed);
    for (let i = filtered.length - 1; i >= 0; i--) {
      const node = filtered[i];
      if (!node.gradient) throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
      const dys = node.outputs.map((o) => grads.get(o.id) ?? null);
      const names = Object.keys(node.inputs);
      // One scope per node: temporaries of its gradient function go when it returns.
      const dxs = this.tidy(() => {
        const fns = node.gradient!(dys);
        return names.map((name) => {
          if (!(name in fns)) throw new Error(`Cannot backprop through input ${name}. Available gradients found: ${Object.keys(fns)}.`);
          return fns[name]();
        });
      }) as tf.Tensor[];
      names.forEach((name, k) => {
        const dx = dxs[k];
        const x = node.inputs[name];
        if (dx.dtype !== 'float32') throw new Error(`Error in gradient for op ${node.kernelName}. The gradient of input ${name} must have 'float32' dtype, but has '${dx.dtype}'`);
        if (dx.shape.join() !== x.shape.join()) {
          throw new Error(`Error in gradient for op ${node.kernelName}. The gradient of input '${name}' has shape '${dx.shape}', which does not match the shape of the input '${x.shape}'`);
        }
        const prev = grads.get(x.id);
        grads.set(x.id, prev ? tf.add(prev, dx) : dx);
        if (prev && dx !== prev) dx.dispose();
      });
      // Every consumer of this node's outputs came later on the tape, so their gradients are complete and used.
      for (const o of node.outputs) if (!xIds.has(o.id)) grads.release(o.id);
      // The filtered node shares `saved` with the tape's node; a saved tensor returned as a gradient stays.
      if (freeSaved) node.saved?.forEach((t) => grads.holds(t) || t.dispose());
    }
    const out = xs.map((x) => grads.get(x.id)!);
    if (freeSaved) {
      const result = new Set(out);
      for (const node of tape) node.saved?.forEach((t) => result.has(t) || t.dispose());
      this.state.activeTape = null;
    }
    return { value: y, grads: out };
  });
}

let installed = false;

/** Replaces the engine's gradients() with the memory-lean one (idempotent; all backends). */
export function installLeanGradients(): void {
  if (installed) return;
  (tf.engine() as unknown as EngineInternals).gradients = leanGradients;
  installed = true;
}
