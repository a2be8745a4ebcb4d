// Tensor-side glue for the autograd walker: how gradients are added, summed back to an input's shape,
// accumulated into leaves' `.grad`, and freed.

import { type GradOps, runBackward } from '../autograd/backward.js';
import { recordFunction } from '../device/probe.js';
import { fmt, sameShape } from './shape.js';
import { noGrad, tidy, untrack } from './scope.js';
import { withoutAutocast } from './autocast.js';
import type { Tensor } from './tensor.js';
import type { DType } from '../kernels/dtype.js';
import { add, copyOp, ones } from './ops/elementwise.js';
import { sum } from './ops/reduce.js';

const ops: GradOps<Tensor> = {
  add: (a, b) => add(a, b),
  fit(g, shape, dtype) {
    let out = g;
    if (!sameShape(g.shape, shape)) {
      const lead = g.ndim - shape.length;
      const dims: number[] = [];
      for (let i = 0; i < g.ndim; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) dims.push(i);
      const s = sum(g, dims, true);
      out = s.reshape(shape);
      if (out !== s) s.dispose();
    }
    if (out.dtype !== dtype) {
      const cast = out.cast(dtype as DType);
      if (out !== g) out.dispose();
      out = cast;
    }
    return out;
  },
  accumulateLeaf(leaf, g) {
    const gg = g.dtype === leaf.dtype ? g : g.cast(leaf.dtype);
    if (leaf.grad === null) {
      leaf.grad = copyOp(gg, 'grad');
      untrack(leaf.grad);
    } else leaf.grad.add_(gg);
    if (gg !== g) gg.dispose();
  },
  dispose: (t) => t.dispose(),
  scope: (fn) => tidy(fn),
};

export function backward(root: Tensor, grad: Tensor | undefined, retainGraph: boolean): void {
  root.check('backward');
  if (!root.requiresGrad)
    throw new Error('backward: element 0 of tensors does not require grad and does not have a grad_fn');
  if (grad === undefined && root.numel() !== 1)
    throw new Error(`backward: grad can be implicitly created only for scalar outputs (got shape ${fmt(root.shape)})`);
  if (grad !== undefined && !sameShape(grad.shape, root.shape))
    throw new Error(`backward: grad shape ${fmt(grad.shape)} does not match the tensor's shape ${fmt(root.shape)}`);
  // a named range, so that kiln.profile can tell the backward pass's kernels from the forward's
  // Backward runs outside autocast: each rule computes in the dtypes its forward chose.
  recordFunction('backward', () =>
    withoutAutocast(() => noGrad(() => {
      const g = grad ?? ones(root.shape, root.dtype);
      const node = root.gradFn;
      if (node === null) ops.accumulateLeaf(root, g);
      else runBackward(node, g, ops, retainGraph);
      if (grad === undefined) g.dispose();
    })),
  );
}
