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

/** What every gradient rule sees besides its attributes: saved tensors (version-checked) and input needs. */
export type SavedCtx = Omit<Ctx<OpName>, 'attrs'>;

/** Saves tensors for backward and builds the context that reads them back. */
function savedContext(op: string, inputs: readonly Tensor[], out: Tensor, save: readonly Tensor[]): { ctx: SavedCtx; release: () => void } {
  const saved = save.map((t) => ({ handle: t.internalView(), version: t.storage.version }));
  const ctx: SavedCtx = {
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
  return { ctx, release: () => saved.forEach((s) => s.handle.dispose()) };
}

function attach(op: string, inputs: readonly Tensor[], out: Tensor, backward: (g: Tensor) => readonly (Tensor | null)[], release: () => void): void {
  const edges = inputs.map((t): Edge<Tensor> | null =>
    t.requiresGrad ? { node: t.gradFn, leaf: t.gradFn ? null : t, shape: t.shape, dtype: t.dtype } : null,
  );
  out.attachGradFn(new Node<Tensor>(op, edges, backward, release));
}

/** Records a built-in op: its rule comes from the typed registry. */
export function record<K extends OpName>(
  op: K,
  inputs: readonly Tensor[],
  out: Tensor,
  attrs: OpAttrs[K],
  save: readonly Tensor[] = [],
): void {
  if (!needsRecord(inputs)) return;
  const { ctx, release } = savedContext(op, inputs, out, save);
  const full: Ctx<K> = { ...ctx, attrs };
  const rule = ruleFor(op);
  attach(op, inputs, out, (g) => rule(g, full), release);
}

/** Records a user-defined op (kiln.customOp) with the gradient rule it brings. */
export function recordCustom(
  name: string,
  inputs: readonly Tensor[],
  out: Tensor,
  save: readonly Tensor[],
  backward: (g: Tensor, ctx: SavedCtx) => readonly (Tensor | null)[],
): void {
  if (!needsRecord(inputs)) return;
  const { ctx, release } = savedContext(name, inputs, out, save);
  attach(name, inputs, out, (g) => backward(g, ctx), release);
}

/**
 * An in-place overwrite with values that need no gradient (fill_, zero_, copy_ from a constant) of a tensor
 * with history: it still requires grad, but nothing flows back to what it held before.
 */
export function recordOverwrite(out: Tensor): void {
  if (!isGradEnabled() || out.isLeaf) return;
  out.attachGradFn(new Node<Tensor>('overwrite', [], () => [], () => undefined));
}
