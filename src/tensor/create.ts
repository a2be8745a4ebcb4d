// Tensor creation: from JS data (nested arrays or typed arrays), constant fills, ranges, identity, and
// random draws from the counter-based generator whose state is (seed, offset).

import { upload } from '../device/batch.js';
import { type DType, isDType, isFloat } from '../kernels/dtype.js';
import { toHalfBits } from '../kernels/f16.js';
import { blocksFor, runRandom } from '../kernels/random.js';
import { empty, requireF16 } from './alloc.js';
import { checkShape, describeValue, fmt, numel } from './shape.js';
import type { NestedArray, Tensor } from './tensor.js';
import { full as fullRaw } from './ops/elementwise.js';
import { launch } from './ops/elementwise.js';

export interface CreateOptions<D extends DType = DType> {
  readonly dtype?: D;
  readonly requiresGrad?: boolean;
}

export interface TensorOptions<D extends DType = DType> extends CreateOptions<D> {
  readonly shape?: readonly number[];
}

/**
 * A shape as PyTorch takes it: one array, or the sizes as separate numbers (`zeros(2, 3)`), either one
 * optionally followed by the options.
 */
export type ShapeArgs<D extends DType> =
  | [shape: readonly number[], opts?: CreateOptions<D>]
  | [...sizes: number[]]
  | [...sizes: number[], opts: CreateOptions<D>];

type TypedData = Float32Array | Float64Array | Int32Array | Uint32Array | Int16Array | Int8Array | Uint8Array | Uint16Array;
/** Nested arrays of numbers (no booleans): f32 unless a dtype is given. */
export type NestedNumbers = number | readonly NestedNumbers[];
/** Nested arrays of booleans: bool unless a dtype is given. */
export type NestedBooleans = boolean | readonly NestedBooleans[];

const describeArgs = (args: readonly unknown[]): string => args.map(describeValue).join(', ');

/** Parses ShapeArgs at run time (JavaScript callers pass anything): a clear error naming the op otherwise. */
export function shapeArgs<D extends DType>(op: string, args: readonly unknown[]): { shape: number[]; opts: CreateOptions<D> } {
  let rest = args;
  while (rest.length > 0 && rest[rest.length - 1] === undefined) rest = rest.slice(0, -1);
  const last = rest[rest.length - 1];
  const hasOpts = typeof last === 'object' && last !== null && !Array.isArray(last);
  const opts = (hasOpts ? last : {}) as CreateOptions<D>;
  if (hasOpts) rest = rest.slice(0, -1);
  let shape: number[] | undefined;
  if (rest.length === 1 && Array.isArray(rest[0])) shape = [...(rest[0] as unknown[])] as number[];
  else if (rest.length > 0 && rest.every((x) => typeof x === 'number')) shape = [...rest] as number[];
  if (shape === undefined)
    throw new Error(`${op}: expected a shape as an array or as sizes (kiln.${op}([2, 3]) or kiln.${op}(2, 3)), optionally followed by options; got (${describeArgs(args)})`);
  checkShape(op, shape);
  return { shape, opts };
}

/** For ops whose shape must be an array because more numbers follow it (full, uniform, normal). */
function shapeArray(op: string, shape: unknown, example: string): readonly number[] {
  if (!Array.isArray(shape)) throw new Error(`${op}: shape must be an array of sizes (${example}), got ${describeArgs([shape])}`);
  checkShape(op, shape as number[]);
  return shape as number[];
}

function checkDtype(op: string, dtype: DType): void {
  if (!isDType(dtype)) throw new Error(`${op}: unknown dtype '${String(dtype)}' (expected f32, f16, i32, u32 or bool)`);
  if (dtype === 'f16') requireF16(op);
}

function finish<D extends DType>(t: Tensor, opts: CreateOptions, op: string): Tensor<D> {
  if (opts.requiresGrad) {
    if (!isFloat(t.dtype)) throw new Error(`${op}: only floating point tensors can require gradients (got dtype ${t.dtype})`);
    t.requiresGrad_(true);
  }
  // The dtype was resolved from opts.dtype (D) or from its documented default, which D's default states.
  return t as Tensor<D>;
}

function flattenNested(op: string, data: NestedArray): { values: number[]; shape: number[]; bool: boolean } {
  const shape: number[] = [];
  let probe: NestedArray = data;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = (probe as readonly NestedArray[])[0] ?? 0;
    if ((probe as unknown) === undefined) break;
  }
  const values: number[] = [];
  let bool = true;
  const walk = (v: NestedArray, depth: number): void => {
    if (depth === shape.length) {
      if (typeof v === 'boolean') values.push(v ? 1 : 0);
      else if (typeof v === 'number') {
        bool = false;
        values.push(v);
      } else throw new Error(`${op}: nested data is ragged: expected a number at depth ${depth} for shape ${fmt(shape)}`);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth])
      throw new Error(`${op}: nested data is ragged: expected a list of length ${shape[depth]} at depth ${depth} for shape ${fmt(shape)}`);
    for (const x of v as readonly NestedArray[]) walk(x, depth + 1);
  };
  walk(data, 0);
  return { values, shape, bool: bool && values.length > 0 };
}

function inferDtype(data: TypedData | readonly number[]): DType {
  if (data instanceof Int32Array || data instanceof Int16Array || data instanceof Int8Array) return 'i32';
  if (data instanceof Uint32Array || data instanceof Uint16Array || data instanceof Uint8Array) return 'u32';
  return 'f32';
}

/** Encodes values into the bytes a dtype is stored as. */
function encode(values: ArrayLike<number>, dtype: DType): ArrayBufferView {
  switch (dtype) {
    case 'f32':
      return Float32Array.from(values);
    case 'f16': {
      const out = new Uint16Array(values.length);
      for (let i = 0; i < values.length; i++) out[i] = toHalfBits(values[i]!);
      return out;
    }
    case 'i32':
      return Int32Array.from(values);
    case 'u32':
      return Uint32Array.from(values);
    case 'bool':
      return Uint32Array.from(values, (v) => (v ? 1 : 0));
    default:
      return dtype satisfies never;
  }
}

/**
 * A tensor from nested arrays, a typed array, or a number (0-d). `shape` reshapes flat data; `dtype`
 * defaults to f32 (i32/u32 for integer typed arrays, bool for nested booleans).
 */
export function tensor<D extends DType>(data: NestedArray | TypedData, opts: TensorOptions<D> & { readonly dtype: D }): Tensor<D>;
export function tensor(data: NestedNumbers | Float32Array | Float64Array, opts?: TensorOptions<never>): Tensor<'f32'>;
export function tensor(data: Int32Array | Int16Array | Int8Array, opts?: TensorOptions<never>): Tensor<'i32'>;
export function tensor(data: Uint32Array | Uint16Array | Uint8Array, opts?: TensorOptions<never>): Tensor<'u32'>;
export function tensor(data: NestedBooleans, opts?: TensorOptions<never>): Tensor<'bool'>;
export function tensor(data: NestedArray | TypedData, opts?: TensorOptions): Tensor;
export function tensor(data: NestedArray | TypedData, opts: TensorOptions = {}): Tensor {
  const op = 'tensor';
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts))
    throw new Error(
      `tensor: the second argument is the options object, got ${describeArgs([opts])}` +
        (Array.isArray(opts) ? `; to give a shape write kiln.tensor(data, { shape: ${describeArgs([opts])} })` : ''),
    );
  let values: ArrayLike<number>;
  let shape: number[];
  let dtype: DType;
  if (ArrayBuffer.isView(data)) {
    values = data;
    shape = [data.length];
    dtype = opts.dtype ?? inferDtype(data);
  } else {
    if (typeof data !== 'number' && typeof data !== 'boolean' && !Array.isArray(data))
      throw new Error(`${op}: expected nested arrays, a typed array or a number, got ${typeof data}`);
    const f = flattenNested(op, data);
    values = f.values;
    shape = f.shape;
    dtype = opts.dtype ?? (f.bool ? 'bool' : 'f32');
  }
  checkDtype(op, dtype);
  if (opts.shape) {
    checkShape(op, opts.shape);
    if (numel(opts.shape) !== values.length)
      throw new Error(`${op}: data has ${values.length} elements but shape ${fmt(opts.shape)} needs ${numel(opts.shape)}`);
    shape = [...opts.shape];
  }
  const t = empty(shape, dtype, op);
  upload(t.storage.buffer, 0, encode(values, dtype));
  return finish(t, opts, op);
}

function fill<D extends DType>(op: string, shape: readonly number[], value: number, opts: CreateOptions): Tensor<D> {
  if (typeof value !== 'number') throw new Error(`${op}: fill value must be a number, got ${describeArgs([value])}`);
  const dtype = opts.dtype ?? 'f32';
  checkDtype(op, dtype);
  return finish(fullRaw(shape, value, dtype), opts, op);
}

/** A tensor filled with `value` (f32 unless `dtype` says otherwise). */
export function full<D extends DType = 'f32'>(shape: readonly number[], value: number, opts: CreateOptions<D> = {}): Tensor<D> {
  return fill('full', shapeArray('full', shape, 'kiln.full([2, 3], 7)'), value, opts);
}

/** Zeros; the shape as an array or as sizes: zeros([2, 3]) or zeros(2, 3). */
export function zeros<D extends DType = 'f32'>(...args: ShapeArgs<D>): Tensor<D> {
  const { shape, opts } = shapeArgs<D>('zeros', args);
  return fill('zeros', shape, 0, opts);
}

/** Ones; the shape as an array or as sizes: ones([2, 3]) or ones(2, 3). */
export function ones<D extends DType = 'f32'>(...args: ShapeArgs<D>): Tensor<D> {
  const { shape, opts } = shapeArgs<D>('ones', args);
  return fill('ones', shape, 1, opts);
}

export function zerosLike<D extends DType, T extends DType = D>(t: Tensor<D>, opts: CreateOptions<T> = {}): Tensor<T> {
  return fill('zerosLike', t.shape, 0, { dtype: t.dtype, ...opts });
}

export function onesLike<D extends DType, T extends DType = D>(t: Tensor<D>, opts: CreateOptions<T> = {}): Tensor<T> {
  return fill('onesLike', t.shape, 1, { dtype: t.dtype, ...opts });
}

/** Values start, start+step, … below end (PyTorch's arange); arange(n) counts 0..n−1. */
export function arange(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0) throw new Error('arange: step must be nonzero');
  if (!Number.isFinite(start) || !Number.isFinite(end)) throw new Error(`arange: bounds must be finite, got ${start}, ${end}`);
  if ((end - start) / step < 0) throw new Error(`arange: upper bound and larger bound inconsistent with step sign (${start}, ${end}, ${step})`);
  const n = Math.max(0, Math.ceil((end - start) / step));
  const dtype = opts.dtype ?? ([start, end, step].every(Number.isInteger) ? 'i32' : 'f32');
  checkDtype('arange', dtype);
  const values = Array.from({ length: n }, (_, i) => start + i * step);
  return tensor(values, { dtype, requiresGrad: opts.requiresGrad ?? false, shape: [n] });
}

/** The n×m identity. */
export function eye<D extends DType = 'f32'>(n: number, m = n, opts: CreateOptions<D> = {}): Tensor<D> {
  checkShape('eye', [n, m]);
  const dtype = opts.dtype ?? 'f32';
  const out = full([n, m], 0, { dtype });
  const k = Math.min(n, m);
  const diag = out.withLayout([k], [m + 1], 0, true);
  launch('fill', [], [k], dtype, dtype, [1], diag);
  diag.dispose();
  return finish(out, opts, 'eye');
}

// ---- random --------------------------------------------------------------------------------------------

export interface RngState {
  readonly seed: number;
  /** Philox blocks consumed so far. */
  readonly offset: number;
}

let rng: RngState = { seed: 0x5eed, offset: 0 };

/** Seeds the generator (resets the counter). */
export function manualSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`manualSeed: seed must be a non-negative safe integer, got ${seed}`);
  rng = { seed, offset: 0 };
}

export function getRngState(): RngState {
  return { ...rng };
}

export function setRngState(state: RngState): void {
  if (!Number.isSafeInteger(state.seed) || !Number.isSafeInteger(state.offset) || state.offset < 0)
    throw new Error(`setRngState: invalid state ${JSON.stringify(state)}`);
  rng = { ...state };
}

/** Reserves counter space for a draw of n values and advances the generator. */
export function takeRng(dist: 'uniform' | 'normal', n: number): RngState {
  const s = rng;
  rng = { seed: s.seed, offset: s.offset + blocksFor(dist, n) };
  return s;
}

/** Random draws are floating point only. */
export type FloatDType = 'f32' | 'f16';

function draw<D extends FloatDType>(op: string, dist: 'uniform' | 'normal', shape: readonly number[], a: number, b: number, opts: CreateOptions<D>): Tensor<D> {
  const dtype = opts.dtype ?? 'f32';
  checkDtype(op, dtype);
  if (!isFloat(dtype)) throw new Error(`${op}: expected a floating point dtype, got ${dtype}`);
  const out = empty(shape, dtype, op);
  const n = out.numel();
  const s = takeRng(dist, n);
  runRandom({ buffer: out.storage.buffer, dtype }, { dist, n, seed: s.seed, offset: s.offset, a, b });
  return finish(out, opts, op);
}

/** Uniform on [0, 1); the shape as an array or as sizes: rand([2, 3]) or rand(2, 3). */
export function rand<D extends FloatDType = 'f32'>(...args: ShapeArgs<D>): Tensor<D> {
  const { shape, opts } = shapeArgs<D>('rand', args);
  return draw('rand', 'uniform', shape, 0, 1, opts);
}

/** Uniform on [low, high). */
export function uniform<D extends FloatDType = 'f32'>(shape: readonly number[], low: number, high: number, opts: CreateOptions<D> = {}): Tensor<D> {
  shapeArray('uniform', shape, 'kiln.uniform([2, 3], -1, 1)');
  if (!Number.isFinite(low) || !Number.isFinite(high) || low > high)
    throw new Error(`uniform: expects finite low <= high, got low=${low}, high=${high}`);
  return draw('uniform', 'uniform', shape, low, high, opts);
}

/** Standard normal; the shape as an array or as sizes: randn([2, 3]) or randn(2, 3). */
export function randn<D extends FloatDType = 'f32'>(...args: ShapeArgs<D>): Tensor<D> {
  const { shape, opts } = shapeArgs<D>('randn', args);
  return draw('randn', 'normal', shape, 0, 1, opts);
}

/** Normal with the given mean and std. */
export function normal<D extends FloatDType = 'f32'>(shape: readonly number[], mean: number, std: number, opts: CreateOptions<D> = {}): Tensor<D> {
  shapeArray('normal', shape, 'kiln.normal([2, 3], 0, 0.02)');
  if (!Number.isFinite(mean) || !Number.isFinite(std) || std < 0)
    throw new Error(`normal: expects a finite mean and std >= 0, got mean=${mean}, std=${std}`);
  return draw('normal', 'normal', shape, mean, std, opts);
}
