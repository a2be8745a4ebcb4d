// Views that share storage (reshape/view, permute, transpose, expand, slice/narrow/select, squeeze,
// unsqueeze, flatten, chunk, split) and their gradient rules. No data moves unless a reshape needs a copy.

import { empty } from '../alloc.js';
import { noGrad } from '../scope.js';
import { contiguousStrides, fmt, inferShape, normAxes, normAxis, numel } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { copyOp, launch } from './elementwise.js';
import { record } from './record.js';
import type { GradRules } from './types.js';

/** Strides for viewing (shape, strides) as `to` without a copy, or null (PyTorch's computeStride). */
function viewStrides(shape: readonly number[], strides: readonly number[], to: readonly number[]): number[] | null {
  if (numel(shape) === 0) return to.map(() => 1);
  if (shape.length === 0) return contiguousStrides(to);
  const out = new Array<number>(to.length);
  let viewD = to.length - 1;
  let chunkBase = strides[strides.length - 1] ?? 1;
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    tensorNumel *= shape[d]!;
    if (d === 0 || (shape[d - 1] !== 1 && strides[d - 1] !== tensorNumel * chunkBase)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || to[viewD] === 1)) {
        out[viewD] = viewNumel * chunkBase;
        viewNumel *= to[viewD]!;
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (d > 0) {
        chunkBase = strides[d - 1]!;
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  if (viewD !== -1) return null;
  return out;
}

function makeView(x: Tensor, shape: readonly number[], strides: readonly number[], offset: number): Tensor {
  return x.withLayout([...shape], [...strides], offset);
}

export function reshape(x: Tensor, shape: readonly number[], op: string): Tensor {
  x.check(op);
  const to = inferShape(op, x.shape, shape);
  const strides = viewStrides(x.shape, x.strides, to);
  if (strides) {
    const out = makeView(x, to, strides, x.offset);
    record('reshape', [x], out, {}, [x]);
    return out;
  }
  const c = copyOp(x, op);
  const out = makeView(c, to, viewStrides(c.shape, c.strides, to)!, 0);
  record('reshape', [c], out, {}, [c]);
  c.dispose();
  return out;
}

export function view(x: Tensor, shape: readonly number[]): Tensor {
  x.check('view');
  const to = inferShape('view', x.shape, shape);
  if (!viewStrides(x.shape, x.strides, to))
    throw new Error(
      `view: size ${fmt(to)} is not compatible with input tensor's size ${fmt(x.shape)} and stride ${fmt(x.strides)}; use reshape instead`,
    );
  return reshape(x, to, 'view');
}

export function permute(x: Tensor, dims: readonly number[]): Tensor {
  x.check('permute');
  if (dims.length !== x.ndim)
    throw new Error(`permute: number of dims don't match: input has ${x.ndim} dimensions ${fmt(x.shape)}, dims has ${dims.length} ${fmt(dims)}`);
  const d = dims.map((a) => normAxis('permute', a, x.ndim));
  if (new Set(d).size !== d.length) throw new Error(`permute: repeated dim in ${fmt(dims)}`);
  const out = makeView(x, d.map((a) => x.shape[a]!), d.map((a) => x.strides[a]!), x.offset);
  record('permute', [x], out, { dims: d }, [x]);
  return out;
}

export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  const a = normAxis('transpose', dim0, x.ndim);
  const b = normAxis('transpose', dim1, x.ndim);
  const dims = x.shape.map((_, i) => i);
  dims[a] = b;
  dims[b] = a;
  return permute(x, dims);
}

export function expand(x: Tensor, shape: readonly number[]): Tensor {
  x.check('expand');
  if (shape.length < x.ndim)
    throw new Error(`expand: the number of sizes provided (${shape.length}) must be >= the number of dimensions (${x.ndim}) of ${fmt(x.shape)}`);
  const lead = shape.length - x.ndim;
  const outShape: number[] = [];
  const strides: number[] = [];
  shape.forEach((s, i) => {
    const src = i < lead ? 1 : x.shape[i - lead]!;
    const target = s === -1 ? (i < lead ? NaN : src) : s;
    if (!Number.isInteger(target) || target < 0) throw new Error(`expand: invalid size ${s} at dimension ${i} of ${fmt(shape)}`);
    if (src !== target && src !== 1)
      throw new Error(`expand: the expanded size of the tensor (${target}) must match the existing size (${src}) at non-singleton dimension ${i}. Target sizes: ${fmt(shape)}. Tensor sizes: ${fmt(x.shape)}`);
    outShape.push(target);
    strides.push(i < lead || (src === 1 && target !== 1) ? 0 : x.strides[i - lead]!);
  });
  const out = makeView(x, outShape, strides, x.offset);
  record('expand', [x], out, {}, [x]);
  return out;
}

export function slice(x: Tensor, dim: number, start = 0, end?: number, step = 1): Tensor {
  x.check('slice');
  const d = normAxis('slice', dim, x.ndim);
  if (!Number.isInteger(step) || step <= 0) throw new Error(`slice: step must be a positive integer, got ${step}`);
  const size = x.shape[d]!;
  const clampIdx = (v: number): number => Math.min(Math.max(v < 0 ? v + size : v, 0), size);
  const s = clampIdx(start);
  const e = Math.max(clampIdx(end ?? size), s);
  const len = Math.ceil((e - s) / step);
  const shape = [...x.shape];
  shape[d] = len;
  const strides = [...x.strides];
  strides[d] = x.strides[d]! * step;
  const out = makeView(x, shape, strides, x.offset + s * x.strides[d]!);
  record('slice', [x], out, { dim: d, start: s, step }, [x]);
  return out;
}

export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normAxis('narrow', dim, x.ndim);
  const size = x.shape[d]!;
  const s = start < 0 ? start + size : start;
  if (!Number.isInteger(length) || length < 0 || s < 0 || s + length > size)
    throw new Error(`narrow: start (${start}) + length (${length}) exceeds dimension size (${size}) of ${fmt(x.shape)}`);
  return slice(x, d, s, s + length);
}

export function selectIndex(x: Tensor, dim: number, index: number): Tensor {
  const d = normAxis('select', dim, x.ndim);
  const size = x.shape[d]!;
  const i = index < 0 ? index + size : index;
  if (!Number.isInteger(i) || i < 0 || i >= size)
    throw new Error(`select: index ${index} out of range for dimension ${dim} with size ${size}`);
  const s = slice(x, d, i, i + 1);
  const out = squeeze(s, d);
  s.dispose();
  return out;
}

export function squeeze(x: Tensor, dims?: number | readonly number[]): Tensor {
  const axes = dims === undefined ? x.shape.map((_, i) => i) : normAxes('squeeze', dims, x.ndim);
  const keep = x.shape.map((s, i) => !(s === 1 && axes.includes(i)));
  return reshape(x, x.shape.filter((_, i) => keep[i]), 'squeeze');
}

export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normAxis('unsqueeze', dim, x.ndim + 1);
  const shape = [...x.shape];
  shape.splice(d, 0, 1);
  return reshape(x, shape, 'unsqueeze');
}

export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1], 'flatten');
  const s = normAxis('flatten', startDim, x.ndim);
  const e = normAxis('flatten', endDim, x.ndim);
  if (s > e) throw new Error(`flatten: start_dim (${startDim}) cannot come after end_dim (${endDim})`);
  const shape = [...x.shape.slice(0, s), numel(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)];
  return reshape(x, shape, 'flatten');
}

export function split(x: Tensor, size: number | readonly number[], dim = 0): Tensor[] {
  const d = normAxis('split', dim, x.ndim);
  const total = x.shape[d]!;
  let sizes: number[];
  if (typeof size === 'number') {
    if (!Number.isInteger(size) || size <= 0) throw new Error(`split: split_size must be a positive integer, got ${size}`);
    sizes = [];
    for (let s = 0; s < total; s += size) sizes.push(Math.min(size, total - s));
    if (sizes.length === 0) sizes = [0];
  } else {
    sizes = [...size];
    const sum = sizes.reduce((a, b) => a + b, 0);
    if (sum !== total) throw new Error(`split: split sizes ${fmt(sizes)} sum to ${sum}, but dimension ${dim} has size ${total}`);
  }
  let start = 0;
  return sizes.map((n) => {
    const v = slice(x, d, start, start + n);
    start += n;
    return v;
  });
}

export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  if (!Number.isInteger(chunks) || chunks <= 0) throw new Error(`chunk: chunks must be a positive integer, got ${chunks}`);
  const d = normAxis('chunk', dim, x.ndim);
  return split(x, Math.max(1, Math.ceil(x.shape[d]! / chunks)), d);
}

/**
 * A view shares its base's storage, so an in-place write into the base after the view was taken changes
 * what the view holds without its history knowing: each view saves its base and reads it back in backward,
 * which makes that case throw the version error instead of returning a wrong gradient.
 */
function checkBase(c: { saved(i: number): Tensor }): void {
  c.saved(0);
}

export const viewRules = {
  // reshape is a relabelling: dx = reshape(dy, x.shape)
  reshape: (g, c) => {
    checkBase(c);
    return [reshape(g, c.inputs[0]!.shape, 'reshape')];
  },
  // dx = permute(dy, inverse(dims))
  permute: (g, c) => {
    checkBase(c);
    const inv = new Array<number>(c.attrs.dims.length);
    c.attrs.dims.forEach((a, i) => (inv[a] = i));
    return [permute(g, inv)];
  },
  // expand is a broadcast: the walker sums dy back to x's shape
  expand: (g, c) => {
    checkBase(c);
    return [g];
  },
  // dx = zeros with dy written into the sliced window
  slice: (g, c) => {
    checkBase(c);
    const dx = empty(c.inputs[0]!.shape, g.dtype, 'slice');
    noGrad(() => {
      launch('fill', [], dx.shape, g.dtype, g.dtype, [0], dx);
      const { dim, start, step } = c.attrs;
      const window = slice(dx, dim, start, start + (g.shape[dim]! - 1) * step + 1, step);
      launch('copy', [g], g.shape, g.dtype, g.dtype, [], window);
      window.dispose();
    });
    return [dx];
  },
} satisfies Pick<GradRules, 'reshape' | 'permute' | 'expand' | 'slice'>;
