// The float64 oracle: a tiny strided NDArray in plain TypeScript with NumPy broadcasting, views, reductions
// and the scalar math of every Kiln op. Not fast and not general; just enough to express each op exactly.
import type { Tensor } from '../../src/node.js';

export type Shape = readonly number[];

export function numel(shape: Shape): number {
  return shape.reduce((a, b) => a * b, 1);
}

function contiguous(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

function norm(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

export function broadcastShape(...shapes: Shape[]): number[] {
  const n = Math.max(...shapes.map((s) => s.length));
  return Array.from({ length: n }, (_, i) => {
    let out = 1;
    for (const s of shapes) {
      const v = s[s.length - n + i] ?? 1;
      if (v !== 1 && out !== 1 && v !== out) throw new Error(`reference: cannot broadcast ${JSON.stringify(shapes)}`);
      if (v !== 1) out = v;
    }
    return out;
  });
}

/** A strided float64 array. Views share `data`; everything else returns a new contiguous array. */
export class ND {
  readonly strides: readonly number[];
  constructor(
    readonly data: Float64Array,
    readonly shape: Shape,
    strides?: readonly number[],
    readonly offset = 0,
  ) {
    this.strides = strides ?? contiguous(shape);
  }

  static of(values: ArrayLike<number>, shape: Shape = [values.length]): ND {
    if (values.length !== numel(shape)) throw new Error(`reference: ${values.length} values for shape ${JSON.stringify(shape)}`);
    return new ND(Float64Array.from(values, Number), [...shape]);
  }
  static filled(shape: Shape, v: number): ND {
    return new ND(new Float64Array(numel(shape)).fill(v), [...shape]);
  }
  /** The values of a Kiln tensor, in its logical (row-major) order. */
  static async from(t: Tensor): Promise<ND> {
    return ND.of(await t.data(), t.shape);
  }

  get ndim(): number {
    return this.shape.length;
  }
  get size(): number {
    return numel(this.shape);
  }

  private indexOf(flat: number): number {
    let off = this.offset;
    for (let d = this.shape.length - 1; d >= 0; d--) {
      const s = this.shape[d]!;
      off += (flat % s) * this.strides[d]!;
      flat = Math.floor(flat / s);
    }
    return off;
  }
  /** Value at row-major position `flat` of this (possibly strided) view. */
  get(flat: number): number {
    return this.data[this.indexOf(flat)]!;
  }
  set(flat: number, v: number): void {
    this.data[this.indexOf(flat)] = v;
  }
  at(...idx: number[]): number {
    return this.data[idx.reduce((o, i, d) => o + i * this.strides[d]!, this.offset)]!;
  }
  /** Row-major values as a fresh Float64Array. */
  values(): Float64Array {
    return Float64Array.from({ length: this.size }, (_, i) => this.get(i));
  }
  toArray(): number[] {
    return Array.from(this.values());
  }

  // ---- views ------------------------------------------------------------------------------------------
  expand(shape: Shape): ND {
    const lead = shape.length - this.ndim;
    const strides = shape.map((s, i) => {
      if (i < lead) return 0;
      const src = this.shape[i - lead]!;
      if (src === s) return this.strides[i - lead]!;
      if (src === 1) return 0;
      throw new Error(`reference: cannot expand ${JSON.stringify(this.shape)} to ${JSON.stringify(shape)}`);
    });
    return new ND(this.data, [...shape], strides, this.offset);
  }
  permute(dims: readonly number[]): ND {
    const d = dims.map((a) => norm(a, this.ndim));
    return new ND(this.data, d.map((a) => this.shape[a]!), d.map((a) => this.strides[a]!), this.offset);
  }
  transpose(a: number, b: number): ND {
    const dims = this.shape.map((_, i) => i);
    const x = norm(a, this.ndim);
    const y = norm(b, this.ndim);
    dims[x] = y;
    dims[y] = x;
    return this.permute(dims);
  }
  /** PyTorch slicing: clamped bounds, negative indices count from the end, positive step. */
  slice(dim: number, start = 0, end?: number, step = 1): ND {
    const d = norm(dim, this.ndim);
    const size = this.shape[d]!;
    const c = (v: number): number => Math.min(Math.max(v < 0 ? v + size : v, 0), size);
    const s = c(start);
    const e = Math.max(c(end ?? size), s);
    const shape = [...this.shape];
    shape[d] = Math.ceil((e - s) / step);
    const strides = [...this.strides];
    strides[d] = this.strides[d]! * step;
    return new ND(this.data, shape, strides, this.offset + s * this.strides[d]!);
  }
  select(dim: number, index: number): ND {
    const d = norm(dim, this.ndim);
    const i = index < 0 ? index + this.shape[d]! : index;
    const shape = this.shape.filter((_, k) => k !== d);
    const strides = this.strides.filter((_, k) => k !== d);
    return new ND(this.data, shape, strides, this.offset + i * this.strides[d]!);
  }
  /** A contiguous copy with a new shape (same numel). */
  reshape(shape: Shape): ND {
    if (numel(shape) !== this.size) throw new Error('reference: reshape numel mismatch');
    return new ND(this.values(), [...shape]);
  }

  // ---- elementwise ------------------------------------------------------------------------------------
  map(f: (v: number, i: number) => number): ND {
    return new ND(Float64Array.from({ length: this.size }, (_, i) => f(this.get(i), i)), [...this.shape]);
  }
  /** f over the broadcast of the arrays. */
  static zip(f: (...v: number[]) => number, ...xs: ND[]): ND {
    const shape = broadcastShape(...xs.map((x) => x.shape));
    const ex = xs.map((x) => x.expand(shape));
    const n = numel(shape);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = f(...ex.map((x) => x.get(i)));
    return new ND(out, shape);
  }

  // ---- reductions -------------------------------------------------------------------------------------
  /** Folds each group of elements that share their non-reduced coordinates. */
  reduce(axes: number | readonly number[] | undefined, keepdim: boolean, f: (vals: number[]) => number): ND {
    const list = axes === undefined ? this.shape.map((_, i) => i) : typeof axes === 'number' ? [axes] : axes;
    const ax = new Set(list.map((a) => norm(a, Math.max(this.ndim, 1))));
    const outShape = this.shape.map((s, i) => (ax.has(i) ? 1 : s));
    const groups = new Map<number, number[]>();
    const outStrides = contiguous(outShape);
    for (let i = 0; i < this.size; i++) {
      let rem = i;
      let key = 0;
      for (let d = this.ndim - 1; d >= 0; d--) {
        const c = rem % this.shape[d]!;
        rem = Math.floor(rem / this.shape[d]!);
        if (!ax.has(d)) key += c * outStrides[d]!;
      }
      let g = groups.get(key);
      if (!g) groups.set(key, (g = []));
      g.push(this.get(i));
    }
    const n = numel(outShape);
    const out = Float64Array.from({ length: n }, (_, k) => f(groups.get(k) ?? []));
    return new ND(out, keepdim ? outShape : this.shape.filter((_, i) => !ax.has(i)));
  }
  sum(axes?: number | readonly number[], keepdim = false): ND {
    return this.reduce(axes, keepdim, (v) => v.reduce((a, b) => a + b, 0));
  }
  mean(axes?: number | readonly number[], keepdim = false): ND {
    return this.reduce(axes, keepdim, (v) => v.reduce((a, b) => a + b, 0) / v.length);
  }
  max(axes?: number | readonly number[], keepdim = false): ND {
    return this.reduce(axes, keepdim, (v) => Math.max(...v));
  }
  min(axes?: number | readonly number[], keepdim = false): ND {
    return this.reduce(axes, keepdim, (v) => Math.min(...v));
  }
  /** First index of the extreme value along one axis (of the flattened array when undefined). */
  argmax(axis?: number, keepdim = false): ND {
    if (axis === undefined) return this.reshape([this.size]).argmax(0, false);
    return this.reduce(axis, keepdim, (v) => v.indexOf(Math.max(...v)));
  }
  argmin(axis?: number, keepdim = false): ND {
    if (axis === undefined) return this.reshape([this.size]).argmin(0, false);
    return this.reduce(axis, keepdim, (v) => v.indexOf(Math.min(...v)));
  }
  variance(axes: number | readonly number[] | undefined, correction: number, keepdim = false): ND {
    return this.reduce(axes, keepdim, (v) => {
      const m = v.reduce((a, b) => a + b, 0) / v.length;
      return v.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(v.length - correction, 0);
    });
  }
}

// ---- scalar math ---------------------------------------------------------------------------------------

/** erf to ~1e-15: Maclaurin series near 0, Lentz continued fraction for erfc in the tails. */
export function erf(x: number): number {
  const a = Math.abs(x);
  if (a < 2.5) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 100; n++) {
      term *= (-x * x) / n;
      const t = term / (2 * n + 1);
      sum += t;
      if (Math.abs(t) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(a) = exp(−a²)/√π · 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + …))))
  let f = a;
  for (let k = 80; k >= 1; k--) f = a + k / 2 / f;
  const erfc = Math.exp(-a * a) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}

export const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
export const gelu = (x: number): number => 0.5 * x * (1 + erf(x / Math.SQRT2));
export const geluTanh = (x: number): number => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
/** C's pow as PyTorch uses it: integral exponents of negative bases are defined. */
export const pow = (a: number, b: number): number => Math.pow(a, b);
/** Rounds to the nearest float32. */
export const f32 = (x: number): number => Math.fround(x);
/** Rounds to the nearest binary16 (round half to even). */
export function f16(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  if (a >= 65520) return Math.sign(x) * Infinity;
  const e = Math.max(Math.floor(Math.log2(a)), -14);
  const ulp = 2 ** (e - 10);
  const q = a / ulp; // exact: ulp is a power of two
  const fl = Math.floor(q);
  const r = q - fl > 0.5 || (q - fl === 0.5 && fl % 2 === 1) ? fl + 1 : fl;
  return Math.sign(x) * r * ulp;
}

// ---- Philox4x32-10 -------------------------------------------------------------------------------------

const M0 = 0xd2511f53n;
const M1 = 0xcd9e8d57n;
const W0 = 0x9e3779b9n;
const W1 = 0xbb67ae85n;
const MASK = 0xffffffffn;

/** Philox4x32-10 (Salmon et al., SC'11) on a 4-word counter and 2-word key, in BigInt arithmetic. */
export function philox4x32(counter: readonly [number, number, number, number], key: readonly [number, number]): [number, number, number, number] {
  let [c0, c1, c2, c3] = counter.map((v) => BigInt(v >>> 0)) as [bigint, bigint, bigint, bigint];
  let [k0, k1] = key.map((v) => BigInt(v >>> 0)) as [bigint, bigint];
  for (let r = 0; r < 10; r++) {
    const p0 = M0 * c0;
    const p1 = M1 * c2;
    [c0, c1, c2, c3] = [(p1 >> 32n) ^ c1 ^ k0, p1 & MASK, (p0 >> 32n) ^ c3 ^ k1, p0 & MASK];
    k0 = (k0 + W0) & MASK;
    k1 = (k1 + W1) & MASK;
  }
  return [Number(c0), Number(c1), Number(c2), Number(c3)];
}

/** The 32-bit words of a 64-bit non-negative integer (below 2^53), low word first. */
export function split64(x: number): [number, number] {
  return [x % 2 ** 32 >>> 0, Math.floor(x / 2 ** 32) >>> 0];
}

/** The uniform [0, 1) values Kiln's generator gives for a draw of n at (seed, offset). */
export function philoxUniform(seed: number, offset: number, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let b = 0; b * 4 < n; b++) {
    const words = philox4x32([...split64(offset + b), 0, 0], split64(seed));
    for (let w = 0; w < 4 && b * 4 + w < n; w++) out[b * 4 + w] = (words[w]! >>> 8) * 2 ** -24;
  }
  return out;
}

/** The standard normal values (Box–Muller on word pairs, in float64) for a draw of n at (seed, offset). */
export function philoxNormal(seed: number, offset: number, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let b = 0; b * 2 < n; b++) {
    const words = philox4x32([...split64(offset + b), 0, 0], split64(seed));
    for (let h = 0; h < 2 && b * 2 + h < n; h++) {
      const u1 = (words[2 * h]! >>> 8) * 2 ** -24 + 2 ** -24;
      const u2 = (words[2 * h + 1]! >>> 8) * 2 ** -24;
      out[b * 2 + h] = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }
  }
  return out;
}
