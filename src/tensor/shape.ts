// Shape arithmetic: sizes, contiguous strides, broadcasting, axis normalisation, and the checks that
// turn bad arguments into synchronous errors naming the op.

export type Shape = readonly number[];

/** A JS value as an error message shows it: 'x' for a string, [2, 3] for an array, the class for objects. */
export function describeValue(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (Array.isArray(v)) return `[${v.map(describeValue).join(', ')}]`;
  if (typeof v === 'object' && v !== null) return v.constructor === Object ? '{…}' : `a ${v.constructor.name}`;
  return String(v);
}

export function fmt(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

export function numel(shape: Shape): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

export function checkShape(op: string, shape: Shape): void {
  for (const s of shape) {
    if (!Number.isInteger(s) || s < 0) throw new Error(`${op}: sizes must be non-negative integers, got ${fmt(shape)}`);
  }
}

/** Normalises a possibly negative axis; throws naming the op when out of range. */
export function normAxis(op: string, axis: number, rank: number): number {
  if (!Number.isInteger(axis)) throw new Error(`${op}: dimension must be an integer, got ${axis}`);
  const r = Math.max(rank, 1);
  if (axis < -r || axis >= r)
    throw new Error(`${op}: dimension out of range (expected to be in range of [${-r}, ${r - 1}], but got ${axis})`);
  return axis < 0 ? axis + r : axis;
}

/** Normalises `dims` (a number, an array, or undefined meaning all axes) to sorted unique axes. */
export function normAxes(op: string, dims: number | readonly number[] | undefined, rank: number): number[] {
  if (dims === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof dims === 'number' ? [dims] : dims;
  const out = list.map((d) => (rank === 0 ? (normAxis(op, d, 1), 0) : normAxis(op, d, rank)));
  if (rank === 0) return [];
  const set = [...new Set(out)].sort((a, b) => a - b);
  if (set.length !== out.length) throw new Error(`${op}: dimension appears more than once in ${JSON.stringify(list)}`);
  return set;
}

/** NumPy broadcasting of two shapes; throws naming the op and both shapes. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1)
      throw new Error(`${op}: shapes ${fmt(a)} and ${fmt(b)} cannot be broadcast (dimension ${i}: ${x} vs ${y})`);
    out[i] = x === 1 ? y : x;
  }
  return out;
}

/** Strides that read a tensor of `shape`/`strides` as if broadcast to `target` (0 on expanded axes). */
export function broadcastStrides(shape: Shape, strides: readonly number[], target: Shape): number[] {
  const out = new Array<number>(target.length).fill(0);
  const lead = target.length - shape.length;
  for (let i = 0; i < shape.length; i++) out[lead + i] = shape[i] === 1 && target[lead + i] !== 1 ? 0 : strides[i]!;
  return out;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Resolves one `-1` in a reshape target; throws naming the op when sizes differ. */
export function inferShape(op: string, from: Shape, to: readonly number[]): number[] {
  const n = numel(from);
  let infer = -1;
  let known = 1;
  to.forEach((s, i) => {
    if (s === -1) {
      if (infer >= 0) throw new Error(`${op}: only one dimension can be -1, got ${fmt(to)}`);
      infer = i;
    } else {
      if (!Number.isInteger(s) || s < 0) throw new Error(`${op}: invalid size ${s} in ${fmt(to)}`);
      known *= s;
    }
  });
  const out = [...to];
  if (infer >= 0) {
    if (known === 0 || n % known !== 0) throw new Error(`${op}: shape ${fmt(to)} is invalid for input of size ${n}`);
    out[infer] = n / known;
  } else if (known !== n) throw new Error(`${op}: shape ${fmt(to)} is invalid for input of size ${n} (shape ${fmt(from)})`);
  return out;
}

