// Tensor.unfold(dim, size, step): every window of `size` elements taken `step` apart along `dim`, as a view
// with a trailing window dimension (strides only, no copy), and its gradient: a deterministic col2im that
// sums overlapping windows back (each element adds its windows in a fixed order; no atomics).

import { runCol2im } from '../../kernels/conv.js';
import { empty } from '../alloc.js';
import { fmt, normAxis, numel } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { record } from './record.js';
import type { GradRules } from './types.js';
import { reshape } from './views.js';

declare module './types.js' {
  interface OpAttrs {
    unfold: { dim: number; size: number; step: number };
  }
}

/** PyTorch's Tensor.unfold: x[..., i·step + k, ...] as out[..., i, ..., k]; shares x's storage. */
export function unfold(x: Tensor, dim: number, size: number, step: number): Tensor {
  x.check('unfold');
  if (x.ndim === 0) {
    // A 0-d tensor unfolds as if it were [1] and keeps one dimension (PyTorch: shape [size]).
    normAxis('unfold', dim, 1);
    const x1 = reshape(x, [1], 'unfold');
    const u = unfold(x1, 0, size, step);
    const out = reshape(u, [size], 'unfold');
    x1.dispose();
    u.dispose();
    return out;
  }
  const d = normAxis('unfold', dim, x.ndim);
  const n = x.shape[d]!;
  if (!Number.isInteger(step) || step <= 0) throw new Error(`unfold: step is ${step} but must be > 0 (input ${fmt(x.shape)})`);
  if (!Number.isInteger(size) || size < 0) throw new Error(`unfold: size is ${size} but must be >= 0 (input ${fmt(x.shape)})`);
  if (size > n) throw new Error(`unfold: maximum size for tensor at dimension ${d} is ${n} but size is ${size} (input ${fmt(x.shape)})`);
  const shape = [...x.shape, size];
  shape[d] = Math.floor((n - size) / step) + 1;
  const strides = [...x.strides, x.strides[d]!];
  strides[d] = x.strides[d]! * step;
  const out = x.withLayout(shape, strides, x.offset);
  record('unfold', [x], out, { dim: d, size, step }, [x]); // the base, version-checked in backward as views.ts does
  return out;
}

/** The stride of dims [lo, hi) merged into one (size-1 dims ignored), or null when they do not merge. */
function mergedStride(shape: readonly number[], strides: readonly number[], lo: number, hi: number): number | null {
  let stride: number | null = null;
  let span = 0;
  for (let i = hi - 1; i >= lo; i--) {
    if (shape[i] === 1) continue;
    if (stride === null) {
      stride = strides[i]!;
      span = shape[i]! * stride;
    } else {
      if (strides[i] !== span) return null;
      span *= shape[i]!;
    }
  }
  return stride ?? 0;
}

export const unfoldRules = {
  // x[i] appears in every window w with i = w·step + k: dx[i] = Σ_{w·step + k = i} dy[w, k] (col2im)
  unfold: (g, c) => {
    c.saved(0); // throws if the base was written in place after this view was taken
    const { dim, size, step } = c.attrs;
    const inShape = c.inputs[0]!.shape;
    // dy [pre..., count, post..., size] read as [outer, inner, count, size] through its strides.
    const r = g.ndim - 1;
    let gb = mergedStride(g.shape, g.strides, 0, dim);
    let gc = mergedStride(g.shape, g.strides, dim + 1, r);
    const src = gb === null || gc === null ? g.contiguous() : g;
    gb = mergedStride(src.shape, src.strides, 0, dim)!;
    gc = mergedStride(src.shape, src.strides, dim + 1, r)!;
    const outer = numel(inShape.slice(0, dim));
    const inner = numel(inShape.slice(dim + 1));
    const n = inShape[dim]!;
    const dx = empty(inShape, g.dtype, 'unfold');
    runCol2im(
      dx.operand('unfold'),
      [n * inner, 1, inner, 0, 0],
      src.operand('unfold'),
      [gb, gc, src.strides[dim]!, 0, 0, src.strides[r]!, 0, 0],
      { batch: outer, channels: inner, size: [n, 1, 1], outs: [g.shape[dim]!, 1, 1], kernel: [size, 1, 1], stride: [step, 1, 1], pad: [0, 0, 0] },
    );
    if (src !== g) src.dispose();
    return [dx];
  },
} satisfies Pick<GradRules, 'unfold'>;
