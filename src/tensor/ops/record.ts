// Records an op on the tape: builds the node with its edges, saves tensors for backward (holding their
// storage and remembering its version), and looks the gradient rule up in the typed registry.

import { Node, type Edge } from '../../autograd/node.js';
import { isGradEnabled } from '../scope.js';
import type { Tensor } from '../tensor.js';
import { ruleFor } from './registry.js';
import type { Ctx, OpAttrs, OpName, TensorMeta } from './types.js';

function meta(t: Tensor): TensorMeta {
  return { shape: t.shape, dtype: t.dtype, requiresGrad: t.requiresGrad };
}

/** True when `op` on these inputs must be recorded. */
export function needsRecord(inputs: readonly Tensor[]): boolean {
  return isGradEnabled() && inputs.some((t) => t.requiresGrad);
}

export function record<K extends OpName>(
  op: K,
  inputs: readonly Tensor[],
  out: Tensor,
  attrs: OpAttrs[K],
  save: readonly Tensor[] = [],
): void {
  if (!needsRecord(inputs)) return;
  const saved = save.map((t) => ({ handle: t.internalView(), version: t.storage.version }));
  const edges = inputs.map((t): Edge<Tensor> | null =>
    t.requiresGrad ? { node: t.gradFn, leaf: t.gradFn ? null : t, shape: t.shape } : null,
  );
  const ctx: Ctx<K> = {
    attrs,
    inputs: inputs.map(meta),
    out: meta(out),
    saved(i: number): Tensor {
      const s = saved[i];
      if (!s) throw new Error(`backward of '${op}': no saved tensor ${i}`);
      if (s.handle.storage.version !== s.version)
        throw new Error(
          `backward of '${op}': one of the variables needed for gradient computation has been modified by an ` +
            `inplace operation: a tensor of shape [${s.handle.shape.join(',')}] is at version ${s.handle.storage.version}; ` +
            `expected version ${s.version} instead.`,
        );
      return s.handle;
    },
    needs: (i) => inputs[i]?.requiresGrad ?? false,
  };
  const rule = ruleFor(op);
  const node = new Node<Tensor>(
    op,
    edges,
    (g) => rule(g, ctx),
    () => {
      for (const s of saved) s.handle.dispose();
    },
  );
  out.attachGradFn(node);
}

/**
 * An in-place overwrite with values that need no gradient (fill_, zero_, copy_ from a constant) of a tensor
 * with history: it still requires grad, but nothing flows back to what it held before.
 */
export function recordOverwrite(out: Tensor): void {
  if (!isGradEnabled() || out.isLeaf) return;
  out.attachGradFn(new Node<Tensor>('overwrite', [], () => [], () => undefined));
}
