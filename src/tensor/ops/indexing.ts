// Indexing and joining: cat, stack, gather, indexSelect, scatterAdd — each forward beside its gradient.
// Scatter-adds are deterministic (each output sums its contributions in a fixed order; no float atomics).
// Index values out of range are clamped on the GPU (a kernel cannot throw); nothing here reads back.

import { checkIndices } from '../../kernels/checked.js';
import { type DType, promoteTypes } from '../../kernels/dtype.js';
import { runGather } from '../../kernels/index-gather.js';
import { runScatterAdd } from '../../kernels/index-scatter.js';
import type { Operand } from '../../kernels/operand.js';
import { empty } from '../alloc.js';
import { fmt, normAxis, sameShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { full, launch } from './elementwise.js';
import { record } from './record.js';
import type { GradRules } from './types.js';
import { slice } from './views.js';

// ---- cat, stack ----------------------------------------------------------------------------------------

/** Concatenates along `dim`; dtypes promote; 1-D empty tensors of shape [0] are skipped, as in PyTorch. */
export function cat(ts: readonly Tensor[], dim = 0): Tensor {
  if (ts.length === 0) throw new Error('cat: expected a non-empty list of Tensors');
  ts.forEach((t) => t.check('cat'));
  const dtype = ts.map((t) => t.dtype).reduce(promoteTypes);
  const zeroDim = ts.findIndex((t) => t.ndim === 0);
  if (zeroDim >= 0) throw new Error(`cat: zero-dimensional tensor (at position ${zeroDim}) cannot be concatenated`);
  const parts = ts.filter((t) => !(t.ndim === 1 && t.shape[0] === 0));
  if (parts.length === 0) return empty([0], dtype, 'cat');
  const ref = parts[0]!;
  const d = normAxis('cat', dim, ref.ndim);
  for (const t of parts) {
    const i = ts.indexOf(t);
    if (t.ndim !== ref.ndim)
      throw new Error(`cat: tensors must have the same number of dimensions: got ${fmt(ref.shape)} and ${fmt(t.shape)} (tensor number ${i})`);
    for (let a = 0; a < ref.ndim; a++)
      if (a !== d && t.shape[a] !== ref.shape[a])
        throw new Error(`cat: sizes of tensors must match except in dimension ${d}: ${fmt(ref.shape)} vs ${fmt(t.shape)} at dimension ${a} (tensor number ${i})`);
  }
  const sizes = parts.map((t) => t.shape[d]!);
  const shape = [...ref.shape];
  shape[d] = sizes.reduce((a, b) => a + b, 0);
  const out = empty(shape, dtype, 'cat');
  let start = 0;
  for (const t of parts) {
    if (t.numel() > 0) {
      // Each input is copied (and cast) into its window of the output, one strided copy kernel each.
      const window = out.withLayout(t.shape, out.strides, start * out.strides[d]!, true);
      launch('copy', [t], t.shape, t.dtype, dtype, [], window);
      window.dispose();
    }
    start += t.shape[d]!;
  }
  record('cat', parts, out, { dim: d, sizes });
  return out;
}

/** Joins equal-shaped tensors along a new dimension `dim` (unsqueeze, then cat). */
export function stack(ts: readonly Tensor[], dim = 0): Tensor {
  if (ts.length === 0) throw new Error('stack: expected a non-empty list of Tensors');
  const ref = ts[0]!;
  ts.forEach((t, i) => {
    t.check('stack');
    if (!sameShape(t.shape, ref.shape))
      throw new Error(`stack: expects each tensor to be equal size, but got ${fmt(ref.shape)} at entry 0 and ${fmt(t.shape)} at entry ${i}`);
  });
  const d = normAxis('stack', dim, ref.ndim + 1);
  const us = ts.map((t) => t.unsqueeze(d));
  const out = cat(us, d);
  for (const u of us) u.dispose();
  return out;
}

// ---- gather, indexSelect, scatterAdd -------------------------------------------------------------------

function checkIndex(op: string, x: Tensor, index: Tensor): void {
  x.check(op);
  index.check(op);
  if (index.dtype !== 'i32' && index.dtype !== 'u32')
    throw new Error(`${op}: expected an index of dtype i32 or u32, got ${index.dtype} (index shape ${fmt(index.shape)})`);
  if (x.ndim === 0) throw new Error(`${op}: expected an input with at least one dimension, got a 0-d tensor`);
}

function checkNonEmpty(op: string, x: Tensor, d: number, index: Tensor): void {
  if (x.shape[d] === 0 && index.numel() > 0)
    throw new Error(`${op}: index out of range: dimension ${d} of input ${fmt(x.shape)} is empty but index ${fmt(index.shape)} is not`);
}

/** out[p] = x[p with p[dim] = index[p]]; out has index's shape, index.shape[d] ≤ x.shape[d] off `dim`. */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  checkIndex('gather', x, index);
  if (index.ndim !== x.ndim)
    throw new Error(`gather: index tensor must have the same number of dimensions as input tensor: input ${fmt(x.shape)}, index ${fmt(index.shape)}`);
  const d = normAxis('gather', dim, x.ndim);
  for (let a = 0; a < x.ndim; a++)
    if (a !== d && index.shape[a]! > x.shape[a]!)
      throw new Error(`gather: size of index ${fmt(index.shape)} exceeds input ${fmt(x.shape)} at dimension ${a} (only dimension ${d} may be larger)`);
  checkNonEmpty('gather', x, d, index);
  const out = empty(index.shape, x.dtype, 'gather');
  checkIndices('gather', index.operand('gather'), x.shape[d]!);
  runGather(out.operand('gather'), x.operand('gather'), index.operand('gather'), d);
  record('gather', [x], out, { dim: d }, [index]);
  return out;
}

/** The 1-D (or 0-d) index of indexSelect read as a grid of `shape`: stride 0 off `dim`. */
function selectIndexOperand(index: Tensor, shape: readonly number[], d: number): Operand {
  const o = index.operand('indexSelect');
  return { ...o, shape, strides: shape.map((_, a) => (a === d ? (o.strides[0] ?? 0) : 0)) };
}

/** Rows (or slices) of x along `dim` picked by a 1-D index: the embedding lookup. */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  checkIndex('indexSelect', x, index);
  if (index.ndim > 1) throw new Error(`indexSelect: index must be 0-D or 1-D, got shape ${fmt(index.shape)}`);
  const d = normAxis('indexSelect', dim, x.ndim);
  checkNonEmpty('indexSelect', x, d, index);
  const shape = [...x.shape];
  shape[d] = index.numel();
  const out = empty(shape, x.dtype, 'indexSelect');
  checkIndices('indexSelect', index.operand('indexSelect'), x.shape[d]!);
  runGather(out.operand('indexSelect'), x.operand('indexSelect'), selectIndexOperand(index, shape, d), d);
  record('index_select', [x], out, { dim: d }, [index]);
  return out;
}

/** Out of place scatter-add (PyTorch's scatter_add): x with src[p] added at p with p[dim] = index[p]. */
export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  checkIndex('scatterAdd', x, index);
  src.check('scatterAdd');
  if (src.dtype !== x.dtype) throw new Error(`scatterAdd: expected self.dtype to be equal to src.dtype: ${x.dtype} vs ${src.dtype}`);
  if (x.dtype === 'bool') throw new Error('scatterAdd: bool tensors are not supported');
  if (index.ndim !== x.ndim || src.ndim !== x.ndim)
    throw new Error(`scatterAdd: index and src must have the same number of dimensions as self: self ${fmt(x.shape)}, index ${fmt(index.shape)}, src ${fmt(src.shape)}`);
  const d = normAxis('scatterAdd', dim, x.ndim);
  for (let a = 0; a < x.ndim; a++) {
    if (index.shape[a]! > src.shape[a]! || (a !== d && index.shape[a]! > x.shape[a]!))
      throw new Error(
        `scatterAdd: expected index ${fmt(index.shape)} to be no larger than src ${fmt(src.shape)} in every dimension and no larger than self ${fmt(x.shape)} apart from dimension ${d}; dimension ${a} differs`,
      );
  }
  checkNonEmpty('scatterAdd', x, d, index);
  const out = empty(x.shape, x.dtype, 'scatterAdd');
  checkIndices('scatterAdd', index.operand('scatterAdd'), x.shape[d]!);
  runScatterAdd(out.operand('scatterAdd'), x.operand('scatterAdd'), src.operand('scatterAdd'), index.operand('scatterAdd'), d);
  record('scatter_add', [x, src], out, { dim: d }, [index]);
  return out;
}

/** zeros(shape) with src scattered-added along `d` at the index grid `index` (no autograd). */
function scatterIntoZeros(shape: readonly number[], src: Tensor, index: Operand, d: number): Tensor {
  const out = empty(shape, src.dtype, 'scatterAdd');
  runScatterAdd(out.operand('scatterAdd'), null, src.operand('scatterAdd'), index, d);
  return out;
}

// ---- gradient rules ------------------------------------------------------------------------------------

export const indexRules = {
  // d cat(x₁, …, xₙ) = the slices of dy along dim, cast back to each input's dtype
  cat: (g, c) => {
    let start = 0;
    return c.attrs.sizes.map((n, i) => {
      const s = start;
      start += n;
      if (!c.needs(i)) return null;
      const part = slice(g, c.attrs.dim, s, s + n);
      const dtype: DType = c.inputs[i]!.dtype;
      return dtype === g.dtype ? part : launch('copy', [part], part.shape, g.dtype, dtype);
    });
  },
  // d gather(x, dim, index) = scatter_add(zeros(x.shape), dim, index, dy)
  gather: (g, c) => [scatterIntoZeros(c.inputs[0]!.shape, g, c.saved(0).operand('gather'), c.attrs.dim)],
  // d index_select(x, dim, index) = index_add(zeros(x.shape), dim, index, dy)
  index_select: (g, c) => [scatterIntoZeros(c.inputs[0]!.shape, g, selectIndexOperand(c.saved(0), g.shape, c.attrs.dim), c.attrs.dim)],
  // d scatter_add(x, dim, index, src) = (dy, gather(dy, dim, index)), zero where src lies outside index
  scatter_add: (g, c) => {
    if (!c.needs(1)) return [g, null];
    const index = c.saved(0);
    const picked = gather(g, c.attrs.dim, index);
    const srcShape = c.inputs[1]!.shape;
    if (sameShape(srcShape, index.shape)) return [c.needs(0) ? g : null, picked];
    const dsrc = full(srcShape, 0, g.dtype);
    const window = dsrc.withLayout(index.shape, dsrc.strides, 0, true);
    launch('copy', [picked], picked.shape, g.dtype, g.dtype, [], window);
    window.dispose();
    return [c.needs(0) ? g : null, dsrc];
  },
} satisfies Pick<GradRules, 'cat' | 'gather' | 'index_select' | 'scatter_add'>;
