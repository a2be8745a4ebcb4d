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

/**
 * Hooks around tensors saved for backward (torch.autograd.graph.saved_tensors_hooks): `pack` replaces a
 * tensor at record time by a token, `unpack` turns the token back into a tensor in backward, and `release`
 * says the node holding the token is done with it. Activation checkpointing is built on them.
 */
export interface SavedTensorHooks {
  pack(t: Tensor): number;
  unpack(token: number): Tensor;
  release(token: number): void;
}

const hookStack: SavedTensorHooks[] = [];

/** Runs `fn` with `hooks` packing every tensor saved for backward (the innermost hooks win). */
export function withSavedTensorHooks<R>(hooks: SavedTensorHooks, fn: () => R): R {
  hookStack.push(hooks);
  try {
    return fn();
  } finally {
    hookStack.pop();
  }
}

/** Saves tensors for backward and builds the context that reads them back. */
function savedContext(op: string, inputs: readonly Tensor[], out: Tensor, save: readonly Tensor[]): { ctx: SavedCtx; release: () => void } {
  const hooks = hookStack[hookStack.length - 1];
  if (hooks) return hookedContext(hooks, inputs, out, save);
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

/** The saved context under saved-tensor hooks: tokens instead of handles (the hooks do the version checks). */
function hookedContext(hooks: SavedTensorHooks, inputs: readonly Tensor[], out: Tensor, save: readonly Tensor[]): { ctx: SavedCtx; release: () => void } {
  const tokens = save.map((t) => hooks.pack(t));
  const ctx: SavedCtx = {
    inputs: inputs.map(meta),
    out: meta(out),
    saved: (i: number) => hooks.unpack(tokens[i]!),
    needs: (i) => inputs[i]?.requiresGrad ?? false,
  };
  return { ctx, release: () => tokens.forEach((k) => hooks.release(k)) };
}

function attach(op: string, inputs: readonly Tensor[], out: Tensor, backward: (g: Tensor) => readonly (Tensor | null)[], release: () => void, saves: boolean): void {
  const edges = inputs.map((t): Edge<Tensor> | null =>
    t.requiresGrad ? { node: t.gradFn, leaf: t.gradFn ? null : t, shape: t.shape, dtype: t.dtype } : null,
  );
  out.attachGradFn(new Node<Tensor>(op, edges, backward, release, saves));
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
  attach(op, inputs, out, (g) => rule(g, full), release, save.length > 0);
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
  attach(name, inputs, out, (g) => backward(g, ctx), release, save.length > 0);
}

/**
 * An in-place overwrite with values that need no gradient (fill_, zero_, copy_ from a constant) of a tensor
 * with history: it still requires grad, but nothing flows back to what it held before.
 */
export function recordOverwrite(out: Tensor): void {
  if (!isGradEnabled() || out.isLeaf) return;
  out.attachGradFn(new Node<Tensor>('overwrite', [], () => [], () => undefined));
}
