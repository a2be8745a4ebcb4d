// The gradient walker: visits the graph below a root in reverse topological order, calls each node's rule,
// fits each gradient to its input (summed over broadcast axes, cast back to the input's dtype: the one
// place broadcasting and promotion are undone), and accumulates into leaves.
//
// Summation order, which bitwise reproducibility (activation checkpointing, exact resume) relies on: nodes
// run in the reverse of a depth-first post-order from the root that follows each node's edges in input
// order; a tensor with several consumers gets its gradient as ((g₁ + g₂) + g₃)…, in the order its consumers
// run, and a leaf's .grad accumulates in that same order. The order depends only on the graph's structure,
// never on saved values, so a checkpointed run (same graph, recomputed saved tensors) sums identically.

import type { Node } from './node.js';

export interface GradOps<T> {
  add(a: T, b: T): T;
  /**
   * Makes `g` fit its input: sums it over broadcast axes to `shape` and casts it to `dtype`; returns `g`
   * itself when it already fits.
   */
  fit(g: T, shape: readonly number[], dtype: string): T;
  accumulateLeaf(leaf: T, g: T): void;
  dispose(t: T): void;
  /** Runs a rule so that temporaries it creates (other than its results) are freed. */
  scope<R>(fn: () => R): R;
}

function topoOrder<T>(root: Node<T>): Node<T>[] {
  const order: Node<T>[] = [];
  const seen = new Set<Node<T>>();
  const stack: [Node<T>, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const [n, i] = top;
    if (i < n.edges.length) {
      top[1] = i + 1;
      const child = n.edges[i]?.node;
      if (child && !seen.has(child)) {
        seen.add(child);
        stack.push([child, 0]);
      }
    } else {
      order.push(n);
      stack.pop();
    }
  }
  return order.reverse();
}

/**
 * Runs the rules below `root`. Each rule call is wrapped by `ops.scope` so its temporaries are freed;
 * a gradient tensor is disposed once no pending node holds it (rules may return one tensor twice).
 */
export function runBackward<T>(root: Node<T>, rootGrad: T, ops: GradOps<T>, retainGraph: boolean): void {
  const grads = new Map<Node<T>, T>([[root, rootGrad]]);
  const holds = new Map<T, number>([[rootGrad, 1]]);
  const drop = (t: T): void => {
    const n = (holds.get(t) ?? 0) - 1;
    if (n > 0) holds.set(t, n);
    else {
      holds.delete(t);
      if (t !== rootGrad) ops.dispose(t);
    }
  };
  const hold = (t: T): void => void holds.set(t, (holds.get(t) ?? 0) + 1);
  for (const node of topoOrder(root)) {
    const g = grads.get(node);
    if (g === undefined) continue;
    grads.delete(node);
    if (node.freed)
      throw new Error(
        `backward: trying to backward through the graph a second time (at '${node.name}'); ` +
          'its saved tensors were freed. Pass { retainGraph: true } to the first backward call.',
      );
    const inputGrads = ops.scope(() => node.backward(g));
    const produced = new Set<T>();
    node.edges.forEach((edge, i) => {
      const gi = inputGrads[i];
      if (gi === null || gi === undefined) return;
      produced.add(gi);
      if (!edge) return;
      const shaped = ops.fit(gi, edge.shape, edge.dtype);
      if (edge.node) {
        const prev = grads.get(edge.node);
        if (prev === undefined) {
          grads.set(edge.node, shaped);
          hold(shaped);
        } else {
          const sum = ops.add(prev, shaped);
          grads.set(edge.node, sum);
          hold(sum);
          drop(prev);
          if (shaped !== gi && !holds.has(shaped)) ops.dispose(shaped);
        }
      } else if (edge.leaf) {
        ops.accumulateLeaf(edge.leaf, shaped);
        if (shaped !== gi && !holds.has(shaped)) ops.dispose(shaped);
      }
    });
    for (const gi of produced) if (!holds.has(gi) && gi !== g && gi !== rootGrad) ops.dispose(gi);
    drop(g);
    if (!retainGraph) node.free();
  }
}
