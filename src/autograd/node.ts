// A recorded operation in the define-by-run tape: edges to the nodes (or leaves) that produced its inputs,
// its gradient rule, and the saved tensors it holds until backward frees them.
// Generic over the tensor type so that this layer does not depend on the Tensor class.

export interface Edge<T> {
  /** The node that produced the input, or null when the input is a leaf. */
  readonly node: Node<T> | null;
  /** The leaf tensor that accumulates into `.grad`, when the input is a leaf requiring grad. */
  readonly leaf: T | null;
  /** The input's shape: an incoming gradient of a broadcast shape is summed back to it. */
  readonly shape: readonly number[];
  /** The input's dtype: a gradient always has its input's dtype (cast back after promotion). */
  readonly dtype: string;
}

export class Node<T> {
  /** Live tensors and downstream nodes that may still call backward through this node. */
  refs = 0;
  freed = false;
  constructor(
    readonly name: string,
    /** One per input; null for inputs that do not require grad. */
    readonly edges: readonly (Edge<T> | null)[],
    /** Gradient rule: the gradient of the output → gradients of the inputs (null = none). */
    readonly backward: (grad: T) => readonly (T | null)[],
    /** Releases the saved tensors. */
    private readonly releaseSaved: () => void,
    /**
     * False for a node that saved nothing: freeing it loses nothing, so backward may run through it again
     * (PyTorch refuses only a node whose saved tensors were released). A cached autocast cast of a weight
     * is one, reached by each micro-batch's backward.
     */
    readonly savesTensors = true,
  ) {
    for (const e of edges) if (e?.node) e.node.refs += 1;
  }

  /** Drops the saved tensors; backward through this node afterwards throws. */
  free(): void {
    if (this.freed || !this.savesTensors) return;
    this.freed = true;
    this.releaseSaved();
  }

  /** Set once nothing can reach this node any more; it has released its saved tensors and its inputs. */
  dead = false;

  /** One holder (a tensor or a downstream node) let go; an unreachable node frees itself and its inputs. */
  unref(): void {
    const stack: Node<T>[] = [this];
    while (stack.length > 0) {
      const n = stack.pop()!;
      n.refs -= 1;
      if (n.refs > 0 || n.dead) continue;
      n.dead = true;
      n.free();
      for (const e of n.edges) if (e?.node) stack.push(e.node);
    }
  }
}
